"""The "Watch it learn" tab: the five live charts of a snapshot, drawn in place as one board."""

from __future__ import annotations

import math

import streamlit as st

from softmax.figures import all_figures
from softmax.trainer import Snapshot
from ui.plotly_live import Panel, plotly_board, plotly_live

# (chart, columns of six it spans, share of the browser's drawing time when it cannot draw
# every refresh): loss beside the decision regions, the two a student watches while it
# trains; the current dW table beside its history; the dscores panels across the page.
LAYOUT = (("loss", 3, 3), ("decision", 3, 2), ("gradient_table", 2, 1), ("gradient_history", 4, 1), ("dscores", 6, 1))


def clicked_point(click: object, key: str, n: int | None = None) -> int | None:
    """The index of the training point in a click not seen before (its customdata), or None.

    The click comes from the browser and is taken as untrusted JSON: anything but a list whose
    first entry is a whole number of a training point (0 <= i < n) is no click at all."""
    seen = f"_seen_click_{key}"
    if not isinstance(click, dict):
        return None
    fingerprint = repr(click)[:1000]  # a real click is a few hundred characters; a crafted one may be huge
    if fingerprint == st.session_state.get(seen):
        return None
    st.session_state[seen] = fingerprint
    custom = click.get("customdata")
    if not isinstance(custom, list) or not custom:
        return None
    index = custom[0]
    if isinstance(index, float) and math.isfinite(index) and index.is_integer():
        index = int(index)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0 or (n is not None and index >= n):
        return None
    return index


def draw(fig: dict, key: str, n: int | None = None) -> int | None:
    """Draw one figure in place (no remount, no flicker); returns the index of a training point
    clicked since the last run (one of ``n``, when given), or None."""
    return clicked_point(plotly_live(fig, key=key, height=fig["layout"].get("height", 440)), key, n)


def charts(snap: Snapshot) -> None:
    figs = all_figures(snap)
    plotly_board([Panel(name, figs[name], span, weight=weight) for name, span, weight in LAYOUT], key="charts")
