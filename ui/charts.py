"""The "Watch it learn" tab: the five live charts of a snapshot, drawn in place as one board."""

from __future__ import annotations

import streamlit as st

from softmax.snapshot import Snapshot
from ui.plotly_live import Panel, plotly_board, plotly_live
from viz.figures import all_figures

# (chart, columns of six it spans, share of the browser's drawing time when it cannot draw
# every refresh): loss beside the decision regions, the two a student watches while it
# trains; the current dW table beside its history; the dscores panels across the page.
LAYOUT = (("loss", 3, 3), ("decision", 3, 2), ("gradient_table", 2, 1), ("gradient_history", 4, 1), ("dscores", 6, 1))


def clicked_point(click: dict | None, key: str) -> int | None:
    """The index of the training point in a click not seen before (its customdata), or None."""
    seen = f"_seen_click_{key}"
    if not click or click == st.session_state.get(seen):
        return None
    st.session_state[seen] = click
    custom = click.get("customdata")
    return int(custom[0]) if isinstance(custom, list) and custom else None


def draw(fig: dict, key: str) -> int | None:
    """Draw one figure in place (no remount, no flicker); returns the index of a training point
    clicked since the last run, or None."""
    return clicked_point(plotly_live(fig, key=key, height=fig["layout"].get("height", 440)), key)


def charts(snap: Snapshot) -> None:
    figs = all_figures(snap)
    plotly_board([Panel(name, figs[name], span, weight=weight) for name, span, weight in LAYOUT], key="charts")
