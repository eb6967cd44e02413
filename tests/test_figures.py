"""Figures: valid Plotly, the snapshot's own numbers, one colour per class, bounded size."""

import base64
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from softmax.config import Config
from softmax.runner import Trainer
from viz.figures import (
    CLASS_COLORS,
    CONFIDENCE_LEVELS,
    GRID,
    MAX_HISTORY,
    all_figures,
    decision_figure,
    dscores_figure,
    gradient_history_figure,
    gradient_table_figure,
    loss_figure,
    plane_bounds,
)


def decode(spec):
    """A typed-array spec back to numpy."""
    dtype = {"f4": np.float32, "u1": np.uint8, "i4": np.int32}[spec["dtype"]]
    a = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=dtype)
    return a.reshape([int(s) for s in spec["shape"].split(",")]) if "shape" in spec else a


@pytest.fixture(scope="module")
def snap():
    return Trainer(Config(iterations=100_000)).step(1200)


@pytest.mark.parametrize("classes", [2, 3, 10])
def test_every_figure_is_valid_plotly_without_nan(classes):
    s = Trainer(Config(classes=classes, dataset="blobs")).step(5)
    for name, fig in all_figures(s).items():
        go.Figure(fig)  # plotly.py validates the dict against the schema
        text = json.dumps(fig)
        assert "NaN" not in text and "Infinity" not in text, name


def test_frame_size_budget_at_k3(snap):
    assert len(json.dumps(all_figures(snap))) <= 150_000


def test_decision_regions_are_the_models_predictions(snap):
    fig = decision_figure(snap)
    heat = fig["data"][0]
    cells = decode(heat["z"])
    assert cells.shape == (GRID, GRID) and cells.dtype == np.uint8
    gx, gy = decode(heat["x"]), decode(heat["y"])
    xx, yy = np.meshgrid(gx.astype(float), gy.astype(float))
    probs = snap.model.probabilities(snap.theta, np.c_[xx.ravel(), yy.ravel()]).T
    agree = (cells.ravel() // CONFIDENCE_LEVELS) == probs.argmax(axis=1)
    assert agree.mean() > 0.999  # float32 grid coordinates may flip a cell on a boundary
    x0, x1, y0, y1 = plane_bounds(snap.X)
    assert (gx[0], gx[-1]) == pytest.approx((x0, x1)) and (gy[0], gy[-1]) == pytest.approx((y0, y1))


def test_points_hover_with_their_probabilities_and_misclassified_are_marked(snap):
    fig = decision_figure(snap)
    probs = snap.parts["probs"]
    wrong = probs.argmax(axis=1) != snap.y
    seen = set()
    for trace in fig["data"][1:]:
        custom = decode(trace["customdata"]).reshape(-1, probs.shape[1] + 1)
        idx = custom[:, 0].astype(int)
        seen.update(idx)
        np.testing.assert_allclose(custom[:, 1:], probs[idx], atol=1e-7)
        assert np.all(wrong[idx] == (trace["marker"]["symbol"] == "x"))
        k = int(trace["legendgroup"].split()[-1])
        assert np.all(snap.y[idx] == k) and trace["marker"]["color"] == CLASS_COLORS[k]
    assert seen == set(range(len(snap.y)))
    assert f"{int(wrong.sum())} of {len(snap.y)} wrong" in fig["layout"]["title"]["text"]


def test_loss_history_is_decimated_and_ends_now(snap):
    fig = loss_figure(snap)
    iters = decode(fig["data"][0]["x"])
    assert len(iters) <= MAX_HISTORY and iters[-1] == snap.iteration and iters[0] == 0
    assert decode(fig["data"][0]["y"])[-1] == pytest.approx(snap.loss, rel=1e-6)
    assert decode(fig["data"][3]["y"])[-1] == pytest.approx(snap.accuracy, rel=1e-6)


def test_diverged_loss_gets_a_log_axis():
    s = Trainer(Config(step_size=1e3)).step(3)
    assert s.diverged and loss_figure(s)["layout"]["yaxis"]["type"] == "log"


def test_gradient_table_is_dW_and_db_centred_at_zero(snap):
    heat = gradient_table_figure(snap)["data"][0]
    z = decode(heat["z"])
    np.testing.assert_allclose(z, np.vstack([snap.grads["W"], snap.grads["b"][None]]), rtol=1e-6)
    assert heat["zmin"] == -heat["zmax"] and heat["zmax"] == pytest.approx(np.abs(z).max(), rel=1e-6)


def test_gradient_history_per_class_shares_one_zero_centred_scale(snap):
    fig = gradient_history_figure(snap)
    assert len(fig["data"]) == 3
    axis = fig["layout"]["coloraxis"]
    assert axis["cmin"] == -axis["cmax"]
    for k, trace in enumerate(fig["data"]):
        z = decode(trace["z"])  # (D+1, T): class k's dW column and db over the iterations
        assert z.shape[0] == 3 and z.shape[1] <= MAX_HISTORY
        np.testing.assert_allclose(z[:, -1], np.r_[snap.grads["W"][:, k], snap.grads["b"][k]], rtol=1e-6)
    first = decode(fig["data"][0]["z"])
    assert np.abs(first[:, -1]).max() < np.abs(first[:, 0]).max() / 10  # the gradient shrank


def test_dscores_panels_colour_points_by_their_column_and_point_the_update(snap):
    fig = dscores_figure(snap)
    K = snap.K
    points, arrows = fig["data"][:K], fig["data"][K:]
    assert len(arrows) == K
    for k, (trace, arrow) in enumerate(zip(points, arrows, strict=True)):
        idx = decode(trace["customdata"])
        np.testing.assert_allclose(decode(trace["marker"]["color"]), snap.parts["dscores"][idx, k], rtol=1e-6)
        update = -snap.step_size * snap.grads["W"][:, k]
        assert arrow["x"][0] == arrow["y"][0] == 0.0  # from the origin ...
        direction = np.array([arrow["x"][1], arrow["y"][1]])
        cos = direction @ update / np.linalg.norm(direction) / np.linalg.norm(update)
        assert cos == pytest.approx(1.0, abs=1e-9)  # ... along -step*dW[:, k]
        assert arrow["line"]["color"] == arrow["marker"]["color"] == CLASS_COLORS[k]
        assert arrow["xaxis"] == trace["xaxis"] and arrow["marker"]["symbol"][-1] == "arrow"


def test_big_datasets_are_thinned_for_drawing():
    s = Trainer(Config(points_per_class=2000, classes=3)).step(1)
    size = len(json.dumps(all_figures(s)))
    assert size < 200_000
