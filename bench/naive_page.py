"""The teaching page drawn the straightforward way, as the baseline for bench/classroom.py.

Same trainer, same layout and the same five charts as app.py, but each chart is a validated
``plotly.graph_objects.Figure`` of float64 numpy arrays sent with ``st.plotly_chart``: a
200 x 200 decision heatmap, every history entry the trainer keeps (up to 512), every point,
the default template, no shared refresh budget. Nothing here is wrong; it is simply what the
plotly and Streamlit docs lead to. Run: ``streamlit run bench/naive_page.py`` from the repo root.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from softmax.config import Config
from softmax.runner import Trainer

GRID = 200

st.set_page_config(page_title="Softmax gradient, naive charts", layout="wide")
if "trainer" not in st.session_state:
    config, _ = Config.from_query(st.query_params.to_dict())
    st.session_state.trainer = Trainer(config)
trainer: Trainer = st.session_state.trainer

st.title("Watch the softmax gradient (naive charts)")
cols = st.columns(4)
cols[0].button("Start", type="primary", on_click=trainer.start, width="stretch")
cols[1].button("Pause", on_click=trainer.pause, width="stretch")
cols[2].button("Step", on_click=trainer.step, width="stretch")
cols[3].button("Reset", on_click=trainer.reset, width="stretch")
running = trainer.running


def loss_chart(s):
    h = s.history
    fig = go.Figure([go.Scatter(x=h.iteration, y=y, name=name) for name, y in
                     [("total loss", h.loss), ("data loss", h.data_loss), ("reg loss", h.reg_loss)]])
    fig.add_trace(go.Scatter(x=h.iteration, y=h.accuracy, name="accuracy", yaxis="y2"))
    fig.update_layout(title=f"Loss and accuracy — iteration {s.iteration}",
                      yaxis2={"overlaying": "y", "side": "right", "range": [0, 1]})
    return fig


def decision_chart(s):
    (x0, y0), (x1, y1) = s.X.min(axis=0) - 0.2, s.X.max(axis=0) + 0.2
    gx, gy = np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID)
    xx, yy = np.meshgrid(gx, gy)
    probs = s.model.probabilities(s.theta, np.c_[xx.ravel(), yy.ravel()]).T
    z = (probs.argmax(axis=1) + probs.max(axis=1)).reshape(GRID, GRID)  # class + confidence, float64
    fig = go.Figure(go.Heatmap(x=gx, y=gy, z=z, showscale=False, opacity=0.5))
    for k in range(s.config.classes):
        fig.add_trace(go.Scatter(x=s.X[s.y == k, 0], y=s.X[s.y == k, 1], mode="markers", name=f"class {k}"))
    return fig.update_layout(title="Decision regions")


def gradient_table_chart(s):
    z = np.vstack([s.grads["W"], s.grads["b"][None, :]])
    return go.Figure(go.Heatmap(z=z, text=z, texttemplate="%{text:.4f}", colorscale="RdBu", zmid=0)).update_layout(
        title=f"Gradient now — iteration {s.iteration}")


def gradient_history_chart(s):
    h, K = s.history, s.config.classes
    grads = np.concatenate([h.grads["W"], h.grads["b"][:, None, :]], axis=1)
    fig = make_subplots(rows=K, cols=1, shared_xaxes=True)
    for k in range(K):
        fig.add_trace(go.Heatmap(x=h.grad_iteration, z=grads[:, :, k].T, coloraxis="coloraxis"), row=k + 1, col=1)
    return fig.update_layout(title="Gradient of each class's parameters", coloraxis={"colorscale": "RdBu"})


def dscores_chart(s):
    K = s.config.classes
    fig = make_subplots(rows=1, cols=K, subplot_titles=[f"class {k}" for k in range(K)])
    for k in range(K):
        marker = {"color": s.parts["dscores"][:, k], "coloraxis": "coloraxis"}
        fig.add_trace(go.Scatter(x=s.X[:, 0], y=s.X[:, 1], mode="markers", marker=marker), row=1, col=k + 1)
    return fig.update_layout(title="Points coloured by dscores[i, k]", coloraxis={"colorscale": "RdBu"})


@st.fragment(run_every=1.0 / trainer.config.refresh if running else None)
def live():
    s = trainer.snapshot
    st.markdown(f"### Iteration {s.iteration}\nloss **{s.loss:.6f}** · accuracy **{s.accuracy:.1%}**")
    st.progress(min(s.iteration / s.config.iterations, 1.0))
    left, right = st.columns(2)
    left.plotly_chart(loss_chart(s))
    right.plotly_chart(decision_chart(s))
    left, right = st.columns([1, 2])
    left.plotly_chart(gradient_table_chart(s))
    right.plotly_chart(gradient_history_chart(s))
    st.plotly_chart(dscores_chart(s))
    if running and not s.running:
        st.rerun()


live()
