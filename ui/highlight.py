"""A click on a cell of the Watch tab's gradient table traces that entry: the examples with its largest terms
are ringed on the decision regions and the dscores panel (red: they pull it up, blue: down), and the Explain
tab's "Take one number apart" picks the same entry. The click is untrusted browser data, checked here."""

from __future__ import annotations

import streamlit as st

from softmax.provenance import Terms, terms
from softmax.snapshot import Snapshot
from viz.gradients import layers

KEY = "trace_entry"  # the entry picked (shared with the Explain tab's picker)
ON = "_watch_traced"  # True once a cell was clicked: the Watch tab rings its contributors
ENTRY = "_watch_entry"  # the entry clicked (a plain key: the picker's widget state goes when its tab is closed)
SEEN = "_watch_seen_cell"  # the last cell click acted on
TABLE = "gradient_table"


def label(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{','.join(map(str, index))}]"


def parse(entry: str) -> tuple[str, tuple[int, ...]]:
    name, _, rest = entry.partition("[")
    return name, tuple(int(i) for i in rest.rstrip("]").split(","))


def _whole(v: object) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return v if isinstance(v, int) else None


def cell_click(snap: Snapshot, board: str) -> None:
    """A new click on a cell of the board's gradient table picks that entry (row r of d{W}, or the bias row)."""
    state = st.session_state.get(board)
    click = state.get("click") if hasattr(state, "get") else None
    if not isinstance(click, dict) or click.get("chart") != TABLE:
        return
    fingerprint = repr(click)[:1000]
    if fingerprint == st.session_state.get(SEEN):
        return
    st.session_state[SEEN] = fingerprint
    index = click.get("index")
    if not isinstance(index, list) or len(index) != 2:
        return
    r, c = (_whole(v) for v in index)
    wn = snap.model.output
    bn = dict(layers(snap))[wn]
    R, C = snap.params[wn].shape
    if r is None or c is None or not (0 <= c < C and 0 <= r < R + (1 if bn else 0)):
        return
    st.session_state[KEY] = st.session_state[ENTRY] = label(wn, (r, c)) if r < R else label(bn, (c,))
    st.session_state[ON] = True


def traced(snap: Snapshot) -> Terms | None:
    """The entry whose contributors the Watch tab rings, taken apart (None: no cell clicked, or cleared)."""
    entry = st.session_state.get(ENTRY)
    if not st.session_state.get(ON) or not isinstance(entry, str):
        return None
    try:
        name, index = parse(entry)
        if name not in snap.params or len(index) != snap.params[name].ndim or \
                any(not 0 <= i < n for i, n in zip(index, snap.params[name].shape, strict=True)):
            return None
    except ValueError:
        return None
    return terms(snap, name, index)


def clear() -> None:
    st.session_state[ON] = False
