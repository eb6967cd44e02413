"""The "Watch it learn" tab: the five live charts of a snapshot, drawn in place."""

from __future__ import annotations

import streamlit as st

from softmax.figures import all_figures
from softmax.trainer import Snapshot
from ui.plotly_live import plotly_live


def draw(fig: dict, key: str) -> int | None:
    """Draw a figure in place (no remount, no flicker); returns the index of a training point
    clicked since the last run, or None."""
    click = plotly_live(fig, key=key, height=fig["layout"].get("height", 440))
    seen = f"_seen_click_{key}"
    if not click or click == st.session_state.get(seen):
        return None
    st.session_state[seen] = click
    custom = click.get("customdata")
    return int(custom[0]) if isinstance(custom, list) and custom else None


def charts(snap: Snapshot) -> None:
    figs = all_figures(snap)
    left, right = st.columns(2)
    with left:
        draw(figs["loss"], "loss")
    with right:
        draw(figs["decision"], "decision")
    left, right = st.columns([1, 2])
    with left:
        draw(figs["gradient_table"], "gradient_table")
    with right:
        draw(figs["gradient_history"], "gradient_history")
    draw(figs["dscores"], "dscores")
