"""The "Watch it learn" tab: the live charts of a snapshot, drawn in place as one board.

Which charts there are follows the model (``viz.figures.chart_names``); this module only
lays them out, passes on the picked example and the page's theme, and turns a click on a
point into the picked example.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import streamlit as st

from softmax.compare import SavedRun
from softmax.provenance import Terms
from softmax.snapshot import Snapshot
from ui import highlight
from ui.plotly_live import Panel, browser_theme, plotly_board, plotly_live
from viz.figures import chart_names, figure
from viz.gradients import numbers_span
from viz.terms import contributor_rings

BOARD = "charts"  # the Watch tab's board: its component key

# (columns of six a chart spans, share of the browser's draws when it cannot draw every refresh).
# Loss beside the decision regions: the two a student watches while it trains, on the first screen.
# The grid flows left to right in rows of six; ``layout`` pairs the rest up.
WEIGHTS = {"loss": 3, "decision": 2}
FIRST_SCREEN = ("loss", "decision")  # whole on a 1280x720 projector when the page above leaves room
FIT_MIN = 300  # ... but never shorter than this (px): below it a chart stops being legible


def layout(names: list[str], classes: int) -> dict[str, tuple[int, int]]:
    """(span, weight) of each chart, in rows of six:

    - linear softmax: loss | decision; gradient now (its numbers' width: ``numbers_span``) beside
      its history (the rest of the row, or a row of its own at seven classes and more); dscores.
    - what a model adds (a net's hidden layer, the SVM's margins) goes in half rows after the
      first; the output layer's gradient fills a half row left over, else a net's first-layer
      gradient (one column a hidden unit) shares it, else the first layer gets a whole row.
    - a net's history (one panel per parameter) and the dscores panels take whole rows.
    """
    spans = {name: 6 for name in names}
    spans["loss"] = spans["decision"] = 3
    extra = [n for n in ("hidden", "margins") if n in names]
    first = [n for n in names if n.startswith("gradient_table_")]
    for name in extra:
        spans[name] = 3
    table = 3 if first else numbers_span(classes)  # a net's output table shows its numbers on hover
    if not extra and not first:
        spans["gradient_table"] = table
        spans["gradient_history"] = 6 - table if table < 6 else 6
    elif len(extra) % 2 == 1:
        spans["gradient_table"] = min(max(table, 3), 6)
    elif first:
        spans["gradient_table"] = 3
        spans[first[0]] = 3
    return {name: (spans[name], WEIGHTS.get(name, 1)) for name in names}


def fresh_click(click: object, key: str) -> dict | None:
    """The click the board ``key`` reports, if it is one not seen before (it is then marked seen), else None."""
    seen = f"_seen_click_{key}"
    if not isinstance(click, dict):
        return None
    fingerprint = repr(click)[:1000]  # a real click is a few hundred characters; a crafted one may be huge
    if fingerprint == st.session_state.get(seen):
        return None
    st.session_state[seen] = fingerprint
    return click


def point_index(click: dict, n: int | None = None) -> int | None:
    """The index of the training point a click hit (its customdata), or None.

    The click comes from the browser and is taken as untrusted JSON: anything but a list whose
    first entry is a whole number of a training point (0 <= i < n) is no point at all."""
    custom = click.get("customdata")
    if not isinstance(custom, list) or not custom:
        return None
    index = custom[0]
    if isinstance(index, float) and math.isfinite(index) and index.is_integer():
        index = int(index)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0 or (n is not None and index >= n):
        return None
    return index


def clicked_point(click: object, key: str, n: int | None = None) -> int | None:
    """The index of the training point in a click not seen before (its customdata), or None."""
    fresh = fresh_click(click, key)
    return None if fresh is None else point_index(fresh, n)


def board_click(key: str = BOARD) -> object:
    """The last click the board ``key`` reported (untrusted: check it before use), or None."""
    state = st.session_state.get(key)
    return state.get("click") if hasattr(state, "get") else None


def pick(snap: Snapshot, key: str) -> int | None:
    """The example a new click on the board ``key`` picked (it becomes ``st.session_state.example``),
    read before the figures are built so that they ring it at once; and the picked example."""
    i = clicked_point(board_click(key), key, len(snap.y))
    if i is not None:
        st.session_state.example = i
    example = st.session_state.get("example")
    return example if isinstance(example, int) and 0 <= example < len(snap.y) else None


def draw(fig: dict, key: str, n: int | None = None) -> int | None:
    """Draw one figure in place (no remount, no flicker); returns the index of a training point
    clicked since the last run (one of ``n``, when given), or None. Build the figure for
    ``browser_theme(key)`` (viz's figures say which theme they were built for; the board asks for
    the other when needed)."""
    return clicked_point(plotly_live(fig, key=key, height=fig["layout"].get("height", 440)), key, n)


def panels(snap: Snapshot, picked: int | None, theme: str, t: Terms | None = None,
           saved: tuple[SavedRun, ...] = (), only: Collection[str] | None = None) -> list[Panel]:
    """The Watch tab's charts of a snapshot as the board's panels (the page's and the stream's frames);
    ``t``: a gradient entry whose largest terms are ringed on the decision regions and dscores; ``saved``:
    runs saved for comparison, overlaid on the loss chart; ``only``: the charts to build (default all),
    placed as they are among all."""
    names = chart_names(snap)
    figs = {name: figure(snap, name, picked, theme, saved) for name in names if only is None or name in only}
    for name in ("decision", "dscores"):
        if t is not None and name in figs:
            figs[name]["data"] += contributor_rings(snap, t, name, theme=theme)
    spans = layout(names, snap.K)
    return [Panel(name, fig, spans[name][0], weight=spans[name][1], fit=FIT_MIN if name in FIRST_SCREEN else None)
            for name, fig in figs.items()]


def view(snap: Snapshot) -> tuple[int | None, str]:
    """(picked example, theme) the board shows: what a stream's frames are built for."""
    return pick(snap, BOARD), browser_theme(BOARD)


def charts(snap: Snapshot, stream: dict | None = None, saved: tuple[SavedRun, ...] = ()) -> tuple[int | None, str]:
    """The Watch tab's board: every chart of the snapshot's model, the picked example ringed;
    ``stream``: the live stream the board follows while the run trains (see ``plotly_board``);
    ``saved``: runs saved for comparison (their loss curves on the loss chart).
    Returns (the picked example, the theme) the figures were built for."""
    picked, theme = view(snap)
    highlight.cell_click(snap, BOARD)  # a click on a cell of the gradient table: ring where that entry comes from
    t = highlight.traced(snap)
    plotly_board(panels(snap, picked, theme, t, saved), key=BOARD, stream=stream)
    if t is not None:
        entry = highlight.label(t.name, t.index)
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.caption(f"Ringed: the examples with the largest terms of d{entry} (red pull it up, blue down). "
                     "Click another cell of the gradient table to trace it; Explain the gradient → Take one "
                     "number apart lists the terms.")
        right.button("Clear the rings", on_click=highlight.clear, help="Stop ringing where this entry comes from.")
    elif "gradient_table" in chart_names(snap):
        st.caption("Click a cell of the gradient table to ring the examples that contribute most to it.")
    return picked, theme


def visible_charts(snap: Snapshot) -> frozenset[str] | None:
    """The charts the board last said it has on screen (its ``visible`` state: their keys, comma-separated),
    or None (all) before it has said, or if what it says names no chart of this snapshot's (untrusted)."""
    state = st.session_state.get(BOARD)
    said = state.get("visible") if hasattr(state, "get") else None
    if not isinstance(said, str) or len(said) > 1000:
        return None
    names = set(chart_names(snap))
    keys = frozenset(k for k in said.split(",") if k in names)
    return keys if keys or said == "" else None


def stream_state() -> object:
    """What the board last reported of its stream: the token whose first frame it drew, or None."""
    state = st.session_state.get(BOARD)
    return state.get("stream") if hasattr(state, "get") else None
