"""Figures: valid Plotly for every model and loss, the snapshot's own numbers, legible in both themes.

Contrast is computed here with the WCAG formula written out again (not viz.style's), against
the two themes' backgrounds; text widths are estimated from the font size (a digit of the
page's font is about 0.55 em) against the narrowest board the page is shown on: the main
column of a 1280x720 projector with the sidebar open.
"""

import base64
import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from softmax.config import Config
from softmax.runner import Trainer
from ui.charts import layout as board_layout
from viz import all_figures, chart_names
from viz.dscores import dscores_figure
from viz.gradients import gradient_history_figure, gradient_table_figure, numbers_span
from viz.loss import MAX_HISTORY, loss_figure
from viz.plane import CONFIDENCE_LEVELS, decision_figure, hidden_figure, margins_figure, plane_bounds, unit_lines
from viz.style import CLASS_COLORS, DARK, LIGHT

BACKGROUNDS = {"light": "#FFFFFF", "dark": "#171614"}  # Streamlit 1.67's two themes
BOARD_PX = 820  # the board's width on a 1280x720 projector, sidebar open (measured in the browser)
EM = 0.5  # width of a digit or letter of the page's font, in font sizes ("−3.819" measured 0.46 em a character)
MODELS = [("linear", "softmax"), ("linear", "svm"), ("two-layer", "softmax"), ("two-layer", "svm")]


def decode(spec):
    """A typed-array spec back to numpy (a plain list stays a list)."""
    if not isinstance(spec, dict):
        return np.asarray(spec)
    dtype = {"f4": np.float32, "u1": np.uint8, "i4": np.int32}[spec["dtype"]]
    a = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=dtype)
    return a.reshape([int(s) for s in spec["shape"].split(",")]) if "shape" in spec else a


def heat(trace):
    """A heatmap's z as drawn, rows along y (a transposed trace holds it column by column)."""
    z = decode(trace["z"])
    return z.T if trace.get("transpose") else z


def run(model="linear", loss="softmax", classes=3, steps=30, **extra):
    dataset = "spiral" if classes <= 5 else "blobs"
    config = Config(model=model, loss=loss, classes=classes, dataset=dataset, iterations=100_000,
                    hidden=extra.pop("hidden", 20 if model == "two-layer" else 100), **extra)
    return Trainer(config).step(steps)


@pytest.fixture(scope="module")
def snap():
    return Trainer(Config(iterations=100_000)).step(1200)


@pytest.fixture(scope="module")
def net():
    return Trainer(Config(model="two-layer", iterations=100_000)).step(300)


# -- colour arithmetic, written out independently of viz.style ------------------------------------

def _rgb(color: str) -> tuple[float, float, float]:
    if color.startswith("#"):
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(float(v) for v in color[color.index("(") + 1 : -1].split(",")[:3])


def _alpha(color: str) -> float:
    return float(color[color.index("(") + 1 : -1].split(",")[3]) if color.startswith("rgba") else 1.0


def _lum(color: str) -> float:
    def lin(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = _rgb(color)
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def ratio(a: str, b: str) -> float:
    hi, lo = sorted((_lum(a), _lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def scale_at(scale, t: float) -> str:
    for (t0, c0), (t1, c1) in zip(scale, scale[1:], strict=False):
        if t0 <= t <= t1:
            f = 0 if t1 == t0 else (t - t0) / (t1 - t0)
            a, b = _rgb(c0), _rgb(c1)
            return "#" + "".join(f"{round(x + (y - x) * f):02X}" for x, y in zip(a, b, strict=True))
    raise ValueError(t)


# -- every figure of every model ------------------------------------------------------------------------

@pytest.mark.parametrize("classes", [2, 3, 10])
@pytest.mark.parametrize("model,loss", MODELS)
def test_every_figure_is_valid_plotly_without_nan(model, loss, classes):
    s = run(model, loss, classes, steps=5)
    for theme in ("light", "dark"):
        figs = all_figures(s, picked=1, theme=theme)
        assert list(figs) == chart_names(s)
        for name, fig in figs.items():
            if theme == "light" or classes == 3:
                go.Figure(fig)  # plotly.py validates the dict against the schema
            text = json.dumps(fig)
            assert "NaN" not in text and "Infinity" not in text, name


def test_charts_follow_the_model():
    assert chart_names(run()) == ["loss", "decision", "gradient_table", "gradient_history", "dscores", "confusion"]
    assert chart_names(run(loss="svm")) == ["loss", "decision", "margins", "gradient_table", "gradient_history",
                                            "dscores", "confusion"]
    assert chart_names(run("two-layer")) == ["loss", "decision", "hidden", "gradient_table", "gradient_table_W1",
                                             "gradient_history", "dscores", "confusion"]
    assert chart_names(run("two-layer", "svm")) == ["loss", "decision", "hidden", "margins", "gradient_table",
                                                    "gradient_table_W1", "gradient_history", "dscores", "confusion"]


@pytest.mark.parametrize("model,loss", MODELS)
def test_frame_size_budget_at_k3(model, loss):
    s = Trainer(Config(model=model, loss=loss, iterations=100_000)).step(1000)  # the net at the notes' H = 100
    assert len(json.dumps(all_figures(s, picked=0))) <= 150_000


def test_big_datasets_are_thinned_for_drawing():
    s = Trainer(Config(points_per_class=2000, classes=3)).step(1)
    assert len(json.dumps(all_figures(s))) < 200_000


# -- the snapshot's own numbers ---------------------------------------------------------------------------

def test_decision_regions_are_the_models_predictions(snap):
    heat = decision_figure(snap)["data"][0]
    cells = decode(heat["z"])
    assert cells.dtype == np.uint8
    gx, gy = decode(heat["x"]), decode(heat["y"])
    xx, yy = np.meshgrid(gx.astype(float), gy.astype(float))
    probs = snap.model.probabilities(snap.theta, np.c_[xx.ravel(), yy.ravel()]).T
    agree = (cells.ravel() // CONFIDENCE_LEVELS) == probs.argmax(axis=1)
    assert agree.mean() > 0.999  # float32 grid coordinates may flip a cell on a boundary
    x0, x1, y0, y1 = plane_bounds(snap.X)
    assert (gx[0], gx[-1]) == pytest.approx((x0, x1)) and (gy[0], gy[-1]) == pytest.approx((y0, y1))


def point_traces(fig):
    """(trace, indices) of every trace that draws training points (customdata rows start with the index)."""
    out = []
    for t in fig["data"]:
        if t.get("type", "").startswith("scatter") and isinstance(t.get("customdata"), dict):
            custom = decode(t["customdata"])
            out.append((t, custom.reshape(len(custom), -1)[:, 0].astype(int)))
    return out


@pytest.mark.parametrize("model,loss", MODELS)
def test_every_point_carries_its_own_index(model, loss):
    """A click reads customdata[0]: it must be the index of the very point drawn there."""
    s = run(model, loss)
    for name, fig in all_figures(s).items():
        for trace, idx in point_traces(fig):
            np.testing.assert_allclose(decode(trace["x"]), s.X[idx, 0], rtol=1e-6, err_msg=name)
            np.testing.assert_allclose(decode(trace["y"]), s.X[idx, 1], rtol=1e-6, err_msg=name)


def test_points_hover_with_their_probabilities_and_misclassified_are_marked(snap):
    fig = decision_figure(snap)
    probs = snap.parts["probs"]
    wrong = probs.argmax(axis=1) != snap.y
    seen = set()
    for trace, idx in point_traces(fig):
        custom = decode(trace["customdata"]).reshape(len(idx), -1)
        seen.update(idx)
        np.testing.assert_allclose(custom[:, 1:], probs[idx], atol=1e-7)
        assert np.all(wrong[idx] == (trace["marker"]["symbol"] == "x"))
        k = int(trace["legendgroup"].split()[-1])
        assert np.all(snap.y[idx] == k) and trace["marker"]["color"] == CLASS_COLORS[k]
    assert seen == set(range(len(snap.y)))
    assert f"{int(wrong.sum())} of {len(snap.y)} wrong" in fig["layout"]["title"]["text"]


def test_svm_points_hover_with_their_scores():
    s = run(loss="svm")
    for trace, idx in point_traces(decision_figure(s)):
        np.testing.assert_allclose(decode(trace["customdata"]).reshape(len(idx), -1)[:, 1:], s.parts["scores"][idx],
                                   rtol=1e-6)


def test_every_class_keeps_its_legend_entry_when_all_its_points_are_wrong():
    s = Trainer(Config(step_size=50.0, iterations=100)).step(30)
    assert s.diverged
    fig = decision_figure(s)
    wrong = s.parts["scores"].argmax(axis=1) != s.y
    assert any(wrong[s.y == k].all() for k in range(s.K))  # the case the legend must survive
    legend = [t for t in fig["data"] if t.get("showlegend", True) and t["type"] == "scatter"]
    assert [f"class {k}" for k in range(s.K)] == [t["name"] for t in legend if t["name"].startswith("class")]
    assert all(len(decode(t["x"])) for t in legend)  # on a trace with points: plotly.js lists no empty trace


def test_loss_history_is_decimated_ends_now_and_shows_iteration_zero(snap):
    fig = loss_figure(snap)
    iters = decode(fig["data"][0]["x"])
    assert len(iters) <= MAX_HISTORY and iters[-1] == snap.iteration and iters[0] == 0
    assert decode(fig["data"][0]["y"])[-1] == pytest.approx(snap.loss, rel=1e-6)
    assert decode(fig["data"][3]["y"])[-1] == pytest.approx(snap.accuracy, rel=1e-6)
    start = loss_figure(Trainer(Config()).snapshot)  # iteration 0: one point, no line yet
    now = next(t for t in start["data"] if t["name"] == "now")
    assert now["mode"] == "markers" and now["x"] == [0] and now["y"] == [pytest.approx(1.096956, abs=1e-6)]


@pytest.mark.parametrize("step_size", [50.0, 1e3])
def test_a_blown_up_loss_gets_a_readable_log_axis(step_size):
    s = Trainer(Config(step_size=step_size)).step(30)
    y = loss_figure(s)["layout"]["yaxis"]
    assert s.diverged and y["type"] == "log" and y["exponentformat"] == "e"
    lo, hi = np.log10(s.history.loss.min()), np.log10(s.history.loss.max())
    # the total loss's decades, not the seven the reg part's near-zero start would take
    assert y["range"][0] <= lo and y["range"][1] >= hi and y["range"][1] - y["range"][0] <= hi - lo + 0.5


@pytest.mark.parametrize("classes", [3, 10])
def test_gradient_table_is_dW_and_db_centred_at_zero(classes):
    s = run(classes=classes)
    heat = gradient_table_figure(s)["data"][0]
    z = decode(heat["z"])
    block = np.vstack([s.grads["W"], s.grads["b"][None]])  # (D+1, K), as the model stores [W; b]
    np.testing.assert_allclose(z, block, rtol=1e-6)
    assert heat["x"] == [f"class {k}" for k in range(classes)]
    assert heat["zmin"] == -heat["zmax"] and heat["zmax"] == pytest.approx(np.abs(z).max(), rel=1e-6)


@pytest.mark.parametrize("classes", [2, 3, 10])
def test_gradient_table_numbers_are_the_gradient_to_four_digits(classes):
    s = run(classes=classes)
    fig = gradient_table_figure(s)
    heat = fig["data"][0]
    unit = re.search(r"× 10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", fig["layout"]["title"]["text"])
    power = int(unit.group(1).translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))) if unit else 0
    shown = np.array([[float(v.replace("−", "-")) for v in row] for row in heat["text"]]) * 10.0**power
    z = decode(heat["z"]).astype(float)
    np.testing.assert_allclose(shown, z, atol=0.0006 * 10.0**power)  # 3 decimals of the unit
    top = heat["text"][np.unravel_index(np.abs(z).argmax(), z.shape)[0]][np.unravel_index(np.abs(z).argmax(),
                                                                                          z.shape)[1]]
    assert len(top.strip("−").replace(".", "")) == 4  # the largest keeps 4 significant digits


def test_net_gradient_tables_are_each_layers_block(net):
    out = gradient_table_figure(net)["data"][0]
    np.testing.assert_allclose(decode(out["z"]), np.vstack([net.grads["W2"], net.grads["b2"][None]]), rtol=1e-6)
    assert out["x"] == ["class 0", "class 1", "class 2"] and out["y"][-1] == "db2[k]"
    first = gradient_table_figure(net, "W1")["data"][0]
    np.testing.assert_allclose(decode(first["z"]), np.vstack([net.grads["W1"], net.grads["b1"][None]]), rtol=1e-6)
    assert first["y"] == ["dW1[0, j]", "dW1[1, j]", "db1[j]"] and len(first["x"]) == 100


def test_gradient_history_per_class_shares_one_zero_centred_scale(snap):
    fig = gradient_history_figure(snap)
    assert len(fig["data"]) == 3
    axis = fig["layout"]["coloraxis"]
    assert axis["cmin"] == -axis["cmax"]
    for k, trace in enumerate(fig["data"]):
        z = heat(trace)  # (D+1, T): class k's dW column and db over the iterations
        assert z.shape[0] == 3 and z.shape[1] <= MAX_HISTORY
        np.testing.assert_allclose(z[:, -1], np.r_[snap.grads["W"][:, k], snap.grads["b"][k]], rtol=1e-6)
    first = heat(fig["data"][0])
    assert np.abs(first[:, -1]).max() < np.abs(first[:, 0]).max() / 10  # the gradient shrank


def test_net_gradient_history_has_a_panel_per_parameter(net):
    fig = gradient_history_figure(net)
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles == ["<b>|dW1[:, j]|</b>", "<b>db1[j]</b>", "<b>|dW2[:, k]|</b>", "<b>db2[k]</b>"]
    assert net.history.kinds["W2"] == "norms"  # a large parameter keeps one norm per class
    last = [heat(t)[:, -1] for t in fig["data"]]
    np.testing.assert_allclose(last[0], np.linalg.norm(net.grads["W1"], axis=0), rtol=1e-5)
    np.testing.assert_allclose(last[1], net.grads["b1"], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(last[2], np.linalg.norm(net.grads["W2"], axis=0), rtol=1e-5)
    np.testing.assert_allclose(last[3], net.grads["b2"], rtol=1e-5, atol=1e-9)
    layout = fig["layout"]
    for i, trace in enumerate(fig["data"]):  # norms from zero, values centred at zero, each its own scale
        ax = layout[trace["coloraxis"]]
        assert ax["cmin"] == (0.0 if i in (0, 2) else -ax["cmax"])


def test_dscores_panels_colour_points_by_their_column_and_point_the_update(snap):
    fig = dscores_figure(snap)
    K = snap.K
    points = fig["data"][:K]
    arrows = [t for t in fig["data"] if t.get("name", "").startswith("update of class")]
    assert len(arrows) == K
    for k, (trace, arrow) in enumerate(zip(points, arrows, strict=True)):
        idx = decode(trace["customdata"])[:, 0]
        np.testing.assert_allclose(decode(trace["marker"]["color"]), snap.parts["dscores"][idx, k], rtol=1e-6)
        update = snap.next_params["W"][:, k] - snap.params["W"][:, k]
        assert arrow["x"][0] == arrow["y"][0] == 0.0  # from the origin ...
        direction = np.array([arrow["x"][1], arrow["y"][1]])
        cos = direction @ update / np.linalg.norm(direction) / np.linalg.norm(update)
        assert cos == pytest.approx(1.0, abs=1e-9)  # ... along this step's change of W[:, k]
        assert arrow["line"]["color"] == arrow["marker"]["color"] == CLASS_COLORS[k]
        assert arrow["xaxis"] == trace["xaxis"] and arrow["marker"]["symbol"][-1] == "arrow"


def test_a_net_has_no_update_arrow_in_the_plane():
    """W2's columns live among the hidden units: an arrow in the input plane would be wrong (even at H = 2)."""
    s = run("two-layer", hidden=2)
    assert not [t for t in dscores_figure(s)["data"] if t.get("name", "").startswith("update")]


def test_hidden_layer_counts_the_units_on_and_draws_each_units_boundary(net):
    fig = hidden_figure(net)
    heat, lines = fig["data"][0], fig["data"][1]
    gx, gy = decode(heat["x"]).astype(float), decode(heat["y"]).astype(float)
    xx, yy = np.meshgrid(gx, gy)
    on = (net.model.hidden(net.theta, np.c_[xx.ravel(), yy.ravel()]) > 0).sum(axis=0).reshape(len(gy), len(gx))
    assert np.mean(decode(heat["z"]) == on) > 0.995  # float32 coordinates may flip a cell on a boundary
    W1, b1 = net.params["W1"], net.params["b1"]
    segments = decode(lines["x"]).reshape(-1, 3), decode(lines["y"]).reshape(-1, 3)  # two ends, then a gap
    assert len(segments[0]) == W1.shape[1]
    for j, (xs, ys) in enumerate(zip(*segments, strict=True)):
        if np.isfinite(xs[0]):
            pre = np.array([xs[:2], ys[:2]]).T @ W1[:, j] + b1[j]
            assert np.abs(pre).max() < 1e-4 * (1 + np.abs(W1[:, j]).sum() + abs(b1[j])), j  # on its line
        assert np.isnan(xs[2])
    dead = int((~(net.parts["hidden"] > 0).any(axis=0)).sum())
    assert f"{dead} of {W1.shape[1]} units dead" in fig["layout"]["annotations"][0]["text"]


def test_unit_lines_are_clipped_to_the_plane():
    W = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    b = np.array([0.0, -0.5, 10.0])  # x = 0, y = 0.5, and a line far outside
    lines = unit_lines(W, b, (-1, 1, -1, 1))
    np.testing.assert_allclose(sorted(lines[0].tolist()), [[0, -1], [0, 1]], atol=1e-12)
    np.testing.assert_allclose(sorted(lines[1].tolist()), [[-1, 0.5], [1, 0.5]], atol=1e-12)
    assert np.isnan(lines[2]).all()


@pytest.mark.parametrize("model", ["linear", "two-layer"])
def test_svm_margins_show_each_points_hinge_loss_and_mark_the_violators(model):
    s = run(model, "svm")
    fig = margins_figure(s)
    margins, active = s.parts["margins"], s.parts["active"] > 0
    seen = 0
    for trace, idx in point_traces(fig):
        custom = decode(trace["customdata"]).reshape(len(idx), -1)
        np.testing.assert_allclose(custom[:, 1], np.where(active, margins, 0).sum(axis=1)[idx], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(custom[:, 2], active.sum(axis=1)[idx])
        violates = "coloraxis" in trace["marker"]  # filled by its share, or a hollow ring
        assert np.all((custom[:, 2] > 0) == violates)
        seen += len(idx)
    assert seen == len(s.y)
    # the data loss is the mean of the shares: the chart and the loss agree
    shares = np.where(active, margins, 0).sum(axis=1)
    assert shares.mean() == pytest.approx(s.data_loss, rel=1e-12)


# -- the picked example ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("model,loss", MODELS)
def test_the_picked_example_is_ringed_in_every_chart_with_points(model, loss):
    s = run(model, loss)
    i = 7
    for name, fig in all_figures(s, picked=i).items():
        rings = [t for t in fig["data"] if t.get("name") == f"example {i}"]
        if not point_traces(fig):
            assert not rings, name
            continue
        panels = {t.get("xaxis", "x") for t, _ in point_traces(fig)}
        assert {r.get("xaxis", "x") for r in rings} == panels, name  # one ring in every panel
        for r in rings:
            assert (r["x"], r["y"]) == ([float(s.X[i, 0])], [float(s.X[i, 1])]) and r["customdata"] == [[i]]
    for picked in (None, -1, len(s.y), "7", True, 2.5):  # nothing, or not an example of this run: no ring
        rings = [t for f in all_figures(s, picked=picked).values() for t in f["data"]
                 if t.get("name", "").startswith("example")]
        assert not rings, picked


# -- legible on a projector, in both themes ---------------------------------------------------------------------

def texts(fig, background: str):
    """(text, font colour, the colour behind it) of every annotation and trace text with a colour of its own."""
    out = []
    for a in fig["layout"].get("annotations", []):
        color = a.get("font", {}).get("color")
        if color:
            behind = a["bgcolor"] if a.get("bgcolor") and _alpha(a["bgcolor"]) == 1 else background
            out.append((a["text"], color, behind))
    for t in fig["data"]:
        color = (t.get("textfont") or {}).get("color")
        if color and t.get("text") is not None and t.get("type") != "heatmap":
            out.append((str(t["text"]), color, background))
    font = fig["layout"].get("font", {}).get("color")
    if font:
        out.append(("layout font", font, background))
    return out


@pytest.mark.parametrize("classes", [3, 10])
@pytest.mark.parametrize("model,loss", MODELS)
def test_every_text_reads_at_4_5_to_1_in_both_themes(model, loss, classes):
    s = run(model, loss, classes)
    for theme, background in BACKGROUNDS.items():
        for name, fig in all_figures(s, picked=3, theme=theme).items():
            for text, color, behind in texts(fig, background):
                assert ratio(color, behind) >= 4.5, (theme, name, text, color, behind)


def test_class_names_are_never_class_colours_on_the_page():
    """Okabe-Ito's yellow, sky blue and orange read at 1.3-2.3:1 on white: a class's name sits on a
    chip of its colour, in black or white, whichever reads at 4.5:1 or more on it."""
    assert min(ratio(c, BACKGROUNDS["light"]) for c in CLASS_COLORS) < 4.5  # why the chips exist
    s = run(classes=10)
    for theme in BACKGROUNDS:
        for fig in (gradient_history_figure(s, theme=theme), dscores_figure(s, theme=theme)):
            chips = [a for a in fig["layout"]["annotations"] if "class" in a["text"]]
            assert len(chips) == 10
            for a in chips:
                assert a["bgcolor"] in CLASS_COLORS and ratio(a["font"]["color"], a["bgcolor"]) >= 4.5


@pytest.mark.parametrize("classes", [2, 3, 5, 10])
def test_table_numbers_read_on_every_colour_of_their_scale(classes):
    s = run(classes=classes)
    for theme in BACKGROUNDS:
        heat = gradient_table_figure(s, theme=theme)["data"][0]
        assert heat.get("texttemplate") == "%{text}"
        color = heat["textfont"]["color"]
        worst = min(ratio(color, scale_at(heat["colorscale"], t)) for t in np.linspace(0, 1, 101))
        assert worst >= 4.5, (theme, worst)


@pytest.mark.parametrize("classes", [2, 3, 5, 10])
def test_table_numbers_fit_their_cells_on_a_projector(classes):
    """The board gives the table the columns its numbers ask for (numbers_span); each must fit its cell."""
    s = run(classes=classes)
    fig = gradient_table_figure(s)
    heat = fig["data"][0]
    span, gap = numbers_span(len(heat["x"])), 16  # the board's six columns and their gaps (px)
    width = (BOARD_PX - 5 * gap) / 6 * span + gap * (span - 1)
    label_px = max(len(r) for r in heat["y"]) * EM * 15 + 10  # the row labels and their ticks
    margins = fig["layout"]["margin"]["l"] + fig["layout"]["margin"]["r"]
    cell_px = (width - label_px - margins) / len(heat["x"])
    widest = max(len(v) for row in heat["text"] for v in row) * EM * heat["textfont"]["size"]
    assert widest <= cell_px, (widest, cell_px)  # (both estimates err wide: the browser test measures)


def test_zero_is_the_themes_background_on_every_diverging_scale():
    s = run("two-layer", classes=3)
    for theme, background in BACKGROUNDS.items():
        for name, fig in all_figures(s, theme=theme).items():
            scales = [t["colorscale"] for t in fig["data"] if t.get("zmid") == 0]
            scales += [ax["colorscale"] for key, ax in fig["layout"].items()
                       if key.startswith("coloraxis") and ax.get("cmin") == -ax.get("cmax", 0)]
            for scale in scales:
                assert scale_at(scale, 0.5).upper() == background.upper(), (theme, name)
    assert DARK.background == BACKGROUNDS["dark"] and LIGHT.background == BACKGROUNDS["light"]


@pytest.mark.parametrize("model,loss", MODELS)
def test_numbers_keep_four_significant_digits_and_axes_no_si_prefixes(model, loss):
    s = run(model, loss, 3)
    for name, fig in all_figures(s).items():
        for t in fig["data"]:
            for fmt in re.findall(r"%\{[^}:]+:([^}]+)\}", t.get("hovertemplate", "")):
                assert fmt in (".4g", ".1%"), (name, fmt)
        layout = fig["layout"]
        for key, ax in layout.items():
            numeric = key.startswith(("xaxis", "yaxis")) and ax.get("tickformat") != ".0%" and ("range" in ax or
                                                                                               "title" in ax)
            if numeric:
                assert ax.get("exponentformat") == "e" or ax.get("showticklabels") is False, (name, key)
            if key.startswith("coloraxis"):
                assert ax["colorbar"]["exponentformat"] == "e", (name, key)


@pytest.mark.parametrize("model", ["linear", "two-layer"])
def test_every_row_of_the_history_is_labelled_and_tall_enough_at_ten_classes(model):
    s = run(model, classes=10)
    fig = gradient_history_figure(s)
    layout = fig["layout"]
    plot_h = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
    for i, trace in enumerate(fig["data"]):
        ax = layout["yaxis" if i == 0 else f"yaxis{i + 1}"]
        labels = trace["y"]
        if len(labels) <= 24:  # classes and a class's weights: every one, 18 px or more
            assert ax["tickvals"] == labels
            assert (ax["domain"][1] - ax["domain"][0]) * plot_h / len(labels) >= 17.9  # (domains are rounded)
        else:  # a hidden layer's units: every tenth or so, never two crowding each other
            assert labels[-1] in ax["tickvals"] and len(ax["tickvals"]) <= 12


def test_panel_titles_do_not_overlap_at_ten_classes():
    s = run(classes=10)
    fig = dscores_figure(s)
    chips = [a for a in fig["layout"]["annotations"] if a.get("bgcolor")]
    notes = [a for a in fig["layout"]["annotations"] if not a.get("bgcolor")]
    panel_px = BOARD_PX * 0.16  # five panels a row
    for a in chips + notes:
        text = re.sub(r"<[^>]+>", "", a["text"])
        assert len(text) * EM * a["font"]["size"] <= panel_px, text
    rows = {}
    for a in chips:
        rows.setdefault(a["y"], []).append(a["x"])
    for xs in rows.values():  # left edges of one row of panels, a panel's width apart
        assert min(np.diff(sorted(xs))) >= 0.16
    # between two rows of panels: the upper row's notes (hanging below it) and the lower row's chips
    # (standing on it), each a line of text, 16 px and 22 px tall
    layout = fig["layout"]
    plot_h = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
    upper_notes, lower_chips = max(a["y"] for a in notes), min(a["y"] for a in chips)
    assert (upper_notes - lower_chips) * plot_h >= 16 + 22 + 10
    # above the first row: the heading's lines (20 px each, centred in the margin) and the chips
    for s in (run(classes=3), run(classes=10), run("two-layer")):
        layout = dscores_figure(s)["layout"]
        lines = layout["title"]["text"].count("<br>") + 1
        assert layout["margin"]["t"] >= 20 * lines + 22 + 20, lines


@pytest.mark.parametrize("classes", [3, 10])
@pytest.mark.parametrize("model,loss", MODELS)
def test_every_title_fits_its_chart_on_a_projector(model, loss, classes):
    """Each line of a chart's title within the chart's width where the board puts it (1280x720)."""
    s = run(model, loss, classes, hidden=100)
    figs = all_figures(s, picked=1)
    spans = board_layout(list(figs), s.K)
    for name, fig in figs.items():
        span, gap = spans[name][0], 16
        width = (BOARD_PX - 5 * gap) / 6 * span + gap * (span - 1) - fig["layout"]["margin"]["l"]
        for line in fig["layout"]["title"]["text"].split("<br>"):
            text = re.sub(r"<[^>]+>", "", line)
            assert len(text) * EM * 17 <= width, (name, text, width)


def test_figures_follow_the_theme():
    s = run()
    light, dark = (json.dumps(decision_figure(s, picked=1, theme=t)) for t in ("light", "dark"))
    assert LIGHT.text in light and DARK.text in dark and DARK.text not in light
