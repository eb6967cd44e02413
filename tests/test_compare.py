"""softmax.compare (issue #15, Compare): the confusion matrix against a plain loop, saved runs and their labels;
and the figures that show them (viz.confusion, the loss chart's test curves and saved-run overlays)."""

from __future__ import annotations

import numpy as np
import pytest

from softmax.compare import (
    MAX_SAVED,
    SAVED_POINTS,
    confusion,
    confusions,
    keep,
    labels,
    predictions,
    row_shares,
    save,
)
from softmax.config import Config
from softmax.run import Run
from viz.confusion import confusion_figure
from viz.figures import all_figures, chart_names
from viz.loss import CHIP_PX, PLOT_PX, PLOT_W_PX, SAVED_STYLES, TEST_COLOR, chip_width, loss_figure
from viz.style import DARK, LIGHT, contrast, scale_colors, sequential


def oracle(y_true, y_pred, K):
    """The confusion matrix by a plain loop: one count per point, at [its true class, its predicted class]."""
    out = [[0] * K for _ in range(K)]
    for t, p in zip(y_true, y_pred, strict=True):
        out[int(t)][int(p)] += 1
    return np.array(out)


def oracle_shares(counts):
    out = np.full(counts.shape, np.nan)
    for i, row in enumerate(counts):
        total = sum(int(c) for c in row)
        if total:
            out[i] = [int(c) / total for c in row]
    return out


@pytest.mark.parametrize("K,N,seed", [(2, 7, 0), (3, 300, 1), (5, 41, 2), (10, 1000, 3), (10, 13, 4)])
def test_confusion_is_the_plain_loops(K, N, seed):
    rng = np.random.RandomState(seed)
    y_true, y_pred = rng.randint(K, size=N), rng.randint(K, size=N)
    counts = confusion(y_true, y_pred, K)
    assert counts.shape == (K, K) and counts.dtype.kind == "i"
    np.testing.assert_array_equal(counts, oracle(y_true, y_pred, K))
    assert counts.sum() == N and np.trace(counts) == np.count_nonzero(y_true == y_pred)
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(y_true, minlength=K))  # rows: the true class
    np.testing.assert_allclose(row_shares(counts), oracle_shares(counts), rtol=1e-15)


def test_classes_absent_are_zero_rows_and_columns_and_have_no_shares():
    K = 10
    y_true = np.array([0, 0, 3, 3, 3, 9])  # classes 1, 2, 4..8 have no points
    y_pred = np.array([0, 3, 3, 3, 0, 0])  # and 1, 2, 4..9 are never predicted
    counts = confusion(y_true, y_pred, K)
    np.testing.assert_array_equal(counts, oracle(y_true, y_pred, K))
    assert counts[0, 3] == 1 and counts[3, 0] == 1 and counts[9, 0] == 1  # [true, predicted], not transposed
    shares = row_shares(counts)
    assert np.isnan(shares[[1, 2, 4, 5, 6, 7, 8]]).all()
    np.testing.assert_allclose(shares[3], oracle_shares(counts)[3])
    np.testing.assert_array_equal(confusion([], [], 3), np.zeros((3, 3), int))


def test_confusion_refuses_labels_out_of_range_and_lengths_that_differ():
    with pytest.raises(ValueError, match="0..2"):
        confusion([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match="differ"):
        confusion([0, 1], [0], 3)


def test_a_snapshots_confusions_agree_with_the_models_own_accuracies():
    run = Run(Config(test_share=0.25, classes=4))  # a spiral: far from diagonal, so far from symmetric
    run.step(25)
    snap = run.snapshot()
    mats = confusions(snap)
    assert set(mats) == {"train", "test"}
    assert mats["train"].sum() == snap.N == 300 and mats["test"].sum() == len(snap.y_test) == 100
    assert (mats["test"] != mats["test"].T).any()  # (a transposed matrix would not pass for this one)
    y, pred = predictions(snap, "train")
    np.testing.assert_array_equal(mats["train"], oracle(y, pred, 4))
    assert np.trace(mats["train"]) / snap.N == snap.accuracy
    assert np.trace(mats["test"]) / len(snap.y_test) == snap.test_accuracy == snap.history.test_accuracy[-1]
    y, pred = predictions(snap, "test")
    np.testing.assert_array_equal(mats["test"], oracle(y, pred, 4))
    assert set(confusions(Run(Config()).snapshot())) == {"train"}


# -- saved runs -----------------------------------------------------------------------------------------

def trained(n: int = 20, **settings) -> Run:
    run = Run(Config(**settings))
    run.step(n)
    return run


def test_labels_say_what_differs():
    assert labels([(Config(step_size=0.1), 0), (Config(), 0), (Config(step_size=10.0), 0)]) == \
        ["step 0.1", "step 1", "step 10"]
    assert labels([(Config(loss="svm"), 0), (Config(), 0)]) == ["SVM", "softmax"]
    assert labels([(Config(optimizer="adam", reg=0.0), 0), (Config(), 0)]) == \
        ["Adam, no reg", "gradient descent, reg 0.001"]
    assert labels([(Config(), 0), (Config(), 2)]) == ["", "changed mid-run"]
    assert labels([(Config(step_size=10.0), 0), (Config(step_size=10.0), 0), (Config(), 0)]) == \
        ["step 10 (#1)", "step 10 (#2)", "step 1"]
    # a run saved and the same run training on are one run: one label, not numbered
    assert labels([(Config(), 0), (Config(step_size=10.0), 0), (Config(step_size=10.0), 0)], ["a", "b", "b"]) == \
        ["step 1", "step 10", "step 10"]


def test_a_saved_run_is_small_and_saving_it_again_replaces_it():
    run = trained(2000, iterations=5000)
    a = save(run.snapshot())
    assert len(a.iteration) <= SAVED_POINTS and a.iteration[0] == 0 and a.iteration[-1] == 2000
    assert a.loss.dtype == np.float64 and a.loss[-1] == run.result.loss
    assert a.iteration.nbytes + a.loss.nbytes <= 12 * SAVED_POINTS  # (int32 iterations, float64 losses)
    run.step(100)
    again = save(run.snapshot())
    runs, what = keep((a,), again)
    assert what == "replaced" and runs == (again,)
    others = [save(trained(5, step_size=s).snapshot()) for s in (0.1, 0.5, 2.0)]
    runs = (a,)
    for other in others:
        runs, what = keep(runs, other)
    assert what == "dropped the oldest" and len(runs) == MAX_SAVED and runs == tuple(others)


# -- figures --------------------------------------------------------------------------------------------

def names(fig):
    return [t.get("name") for t in fig["data"]]


def decode(spec):
    import base64

    return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype("<" + spec["dtype"]))


@pytest.mark.parametrize("share", [0.0, 0.2])
def test_test_curves_are_drawn_iff_there_is_a_test_share(share):
    snap = trained(30, test_share=share).snapshot()
    fig = loss_figure(snap)
    tests = [t for t in fig["data"] if t.get("name") in ("test loss", "test accuracy")]
    if not share:
        assert not tests
        return
    loss, acc = tests
    assert loss["line"]["dash"] and acc["line"]["dash"] and loss["line"]["color"] == TEST_COLOR
    assert acc["yaxis"] == "y2" and "yaxis" not in loss
    np.testing.assert_allclose(decode(loss["y"]), snap.history.test_loss, rtol=1e-6)
    np.testing.assert_allclose(decode(acc["y"]), snap.history.test_accuracy, rtol=1e-6)
    # the same digits as the training curves' hovers
    train = {t["name"]: t["hovertemplate"] for t in fig["data"] if t.get("name") in ("loss", "accuracy")}
    assert loss["hovertemplate"] == train["loss"] and acc["hovertemplate"] == train["accuracy"]


def test_saved_runs_are_overlaid_at_most_three_each_in_its_own_style():
    saved = tuple(save(trained(40, step_size=s).snapshot()) for s in (0.1, 10.0, 0.5))
    snap = trained(10).snapshot()
    for theme in ("light", "dark"):
        fig = loss_figure(snap, theme=theme, saved=saved)
        over = [t for t in fig["data"] if t["name"].startswith("saved: ")]
        assert [t["name"] for t in over] == ["saved: step 0.1", "saved: step 10", "saved: step 0.5"]
        assert names(fig)[0] == "loss (step 1)"
        styles = {(t["line"]["color"], t["line"]["dash"]) for t in over}
        assert len(styles) == 3 and len({c for c, _ in styles}) == 3 and len({d for _, d in styles}) == 3
        background = (LIGHT if theme == "light" else DARK).background
        assert all(contrast(c, background) >= 3 for c, _ in SAVED_STYLES[theme])  # graphics: 3:1
        np.testing.assert_allclose(decode(over[1]["y"]), saved[1].loss)
        # named on chips at their ends (no legend entries: seven would not fit a projector's chart)
        assert not any(t.get("showlegend", True) for t in over)
        chips = fig["layout"]["annotations"]
        assert [c["text"] for c in chips] == [t["name"] for t in over]
        assert [c["x"] for c in chips] == [40.0] * 3
        assert no_chip_on_another(fig)
        assert all(contrast(c["font"]["color"], c["bgcolor"]) >= 4.5 for c in chips)
        assert fig["layout"]["xaxis"]["dtick"] >= 5  # the axis reaches the saved runs' 40 iterations
    assert not [n for n in names(loss_figure(snap)) if n.startswith("saved")]
    # the board passes them to the loss chart only
    figs = all_figures(snap, saved=saved[:2])
    assert sum(n.startswith("saved: ") for n in names(figs["loss"])) == 2


def no_chip_on_another(fig) -> bool:
    """The loss chart's name chips, in px on the smallest plot the page draws, pairwise apart."""
    top = fig["layout"]["yaxis"].get("range", [0, 1.2])[1]
    x_end = max(float(decode(t["x"]).max()) for t in fig["data"] if t["name"].startswith("saved"))
    boxes = []
    for c in fig["layout"]["annotations"]:
        x, w = c["x"] / max(x_end, 10) * PLOT_W_PX, chip_width(c["text"])
        left = x - w if c["xanchor"] == "right" else x
        if w <= max(x, PLOT_W_PX - x):
            assert left >= 0 and left + w <= PLOT_W_PX + 1, c  # inside the plot, where it fits
        boxes.append((left, left + w, c["y"] / top * PLOT_PX + c["yshift"]))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[1] and b[0] < a[1] and abs(a[2] - b[2]) < CHIP_PX), (a, b)
    return True


@pytest.mark.parametrize("ends", [(40, 40, 40), (30, 300, 10), (200, 180, 190), (5, 6, 7)])
def test_name_chips_never_cover_one_another(ends):
    saved = tuple(save(trained(n, step_size=s, iterations=1000).snapshot())
                  for n, s in zip(ends, (0.1, 10.0, 1.0), strict=True))
    fig = loss_figure(trained(10).snapshot(), saved=saved)
    assert len(fig["layout"]["annotations"]) == 3 and no_chip_on_another(fig)


def test_a_diverged_saved_run_puts_the_loss_on_a_log_axis():
    blown = save(trained(30, step_size=1000.0).snapshot())
    assert blown.diverged
    fig = loss_figure(trained(10).snapshot(), saved=(blown,))
    assert fig["layout"]["yaxis"]["type"] == "log"


@pytest.mark.parametrize("K,share", [(3, 0.0), (3, 0.3), (10, 0.2)])
def test_the_confusion_figure_shows_counts_and_row_shares(K, share):
    snap = trained(15, classes=K, dataset="blobs" if K > 3 else "spiral", test_share=share).snapshot()
    assert chart_names(snap)[-1] == "confusion"
    fig = confusion_figure(snap)
    heat = fig["data"]
    assert [t["name"] for t in heat] == (["train", "test"] if share else ["train"])
    mats = confusions(snap)
    for t in heat:
        counts = np.array(t["customdata"])
        np.testing.assert_array_equal(counts, mats[t["name"]])
        shares = row_shares(counts)
        np.testing.assert_allclose(t["z"], np.nan_to_num(shares), atol=1e-4)
        for i in range(K):
            for j in range(K):
                c, s = t["text"][i][j].split("<br>")
                assert int(c) == counts[i, j] and s == ("–" if np.isnan(shares[i, j]) else f"{shares[i, j]:.0%}")
        assert fig["layout"][t["yaxis"].replace("y", "yaxis")]["autorange"] == "reversed"  # class 0 on top
    assert sum(np.array(t["customdata"]).sum() for t in heat) == snap.N + len(snap.y_test)
    notes = [a["text"] for a in fig["layout"]["annotations"]]
    assert notes[0] == (f"<b>train</b>: {np.trace(mats['train'])} of {snap.N} right ({snap.accuracy:.1%})")
    last = "xaxis" if len(heat) == 1 else "xaxis2"
    assert fig["layout"][last]["title"]["text"] == "predicted class"
    assert fig["layout"]["yaxis"]["title"]["text"] == "true class"
    if K > 5 and share:  # ten classes: the test matrix below the training one, each the chart's width
        assert fig["layout"]["yaxis2"]["domain"][1] < fig["layout"]["yaxis"]["domain"][0]
        assert fig["layout"]["xaxis2"]["domain"] == [0.0, 1.0] and fig["layout"]["height"] > 800


@pytest.mark.parametrize("th", [LIGHT, DARK])
def test_the_confusion_cells_text_reads_on_every_colour_of_its_scale(th):
    fig = confusion_figure(trained(5).snapshot(), theme=th)
    assert fig["data"][0]["textfont"]["color"] == th.text
    assert fig["data"][0]["colorscale"] == sequential(th, pale=True)
    assert min(contrast(th.text, c) for c in scale_colors(sequential(th, pale=True))) >= 4.5
