"""Test page for the flicker benchmark: four Plotly charts redrawn at 5 Hz in a fragment.

Mode by query parameter ``?mode=plotly_chart|plotly_live|plotly_board`` (default: env
``FLICKER_MODE``, else ``plotly_live``); ``plotly_board`` draws the four as one board, two a
row, the first with three times the others' share of drawing time. Each chart's title
carries the frame number, so a browser can count the refreshes it actually drew.
"""

from __future__ import annotations

import os

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.plotly_live import Panel, plotly_board, plotly_live

MODES = ("plotly_chart", "plotly_live", "plotly_board")
HEIGHT = 320


def make_figures(frame: int) -> list[go.Figure]:
    """Four small figures of the kinds the teaching page draws, changing every frame."""
    t = frame * 0.2
    steps = np.arange(200)
    loss = (1.1 * np.exp(-steps / 60) + 0.3 + 0.05 * np.sin(steps / 5 + t)).astype(np.float32)
    g = np.linspace(-1, 1, 100, dtype=np.float32)
    xx, yy = np.meshgrid(g, g)
    z = np.sin(3 * xx + t) * np.cos(3 * yy - t)
    rng = np.random.default_rng(frame)
    pts = rng.normal(size=(300, 2)).astype(np.float32)
    probs = np.abs(np.sin(t + np.arange(3)))
    figs = [
        go.Figure(go.Scatter(x=steps, y=loss, mode="lines", name="loss")),
        go.Figure(go.Heatmap(z=z.astype(np.float32), x=g, y=g, showscale=False)),
        go.Figure(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", customdata=np.arange(300), marker={"size": 5})),
        go.Figure(go.Bar(x=["class 0", "class 1", "class 2"], y=probs / probs.sum())),
    ]
    for i, fig in enumerate(figs):
        fig.update_layout(
            title=f"chart {i} · frame {frame}", height=HEIGHT, margin={"l": 40, "r": 10, "t": 40, "b": 30}
        )
    return figs


def main() -> None:
    """Two columns of two charts inside a ``run_every=0.2`` fragment."""
    mode = st.query_params.get("mode") or os.environ.get("FLICKER_MODE", "plotly_live")
    if mode == "plotly_board":  # a board stacks its charts in a column narrower than 720 px
        st.set_page_config(layout="wide")
    if mode not in MODES:
        st.error(f"mode must be one of {MODES}")
        return
    st.caption(f"flicker bench · {mode}")

    @st.fragment(run_every=0.2)
    def charts() -> None:
        frame = st.session_state.get("frame", 0) + 1
        st.session_state["frame"] = frame
        if mode == "plotly_board":
            figs = make_figures(frame)
            panels = [Panel(f"chart{i}", fig, 3, HEIGHT, 3 if i == 0 else 1) for i, fig in enumerate(figs)]
            plotly_board(panels, key="board")
            return
        cols = st.columns(2) + st.columns(2)
        clicks = {}
        for i, (col, fig) in enumerate(zip(cols, make_figures(frame), strict=True)):
            with col:
                if mode == "plotly_chart":
                    st.plotly_chart(fig, key=f"chart{i}")
                else:
                    clicks[i] = plotly_live(fig, key=f"chart{i}", height=HEIGHT)
        if clicks.get(3):
            st.caption(f"last click on chart 3: {clicks[3]['x']}")

    charts()


main()
