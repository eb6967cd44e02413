"""Tests written to kill mutants that survived the rest of the suite (docs/mutation.md, tools/mutation.py).

Each checks something a student would see wrong if the mutant were the code: a loss that does not
match the loss the page prints, a gradient check that misses a wrong gradient or blames a right one,
a number that overflows where the notes promise it cannot.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from softmax import Change, Config, Run, check_gradient, check_snapshot, replay
from softmax.gradcheck import CHECKED, SKIPPED, _sample, relative_error
from softmax.models.losses import SoftmaxLoss, SVMLoss


# -- softmax/models/losses.py ---------------------------------------------------------------------------------
def cs231n_softmax(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The notes' softmax loss and dscores for scores (N, K), written plainly (with the row max taken off)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    N = len(y)
    dscores = probs.copy()
    dscores[range(N), y] -= 1
    return float(-np.log(probs[range(N), y]).sum() / N), dscores / N


def cs231n_svm(scores: np.ndarray, y: np.ndarray, delta: float = 1.0) -> tuple[float, np.ndarray]:
    """CS231n's svm_loss_naive on scores: a loop over the examples and classes."""
    N, K = scores.shape
    loss, dscores = 0.0, np.zeros_like(scores)
    for i in range(N):
        for j in range(K):
            if j == y[i]:
                continue
            margin = scores[i, j] - scores[i, y[i]] + delta
            if margin > 0:
                loss += margin
                dscores[i, j] += 1
                dscores[i, y[i]] -= 1
    return loss / N, dscores / N


def call(loss, scores: np.ndarray) -> tuple[float, np.ndarray]:
    dscoresT = np.zeros(scores.T.shape)
    value = loss(np.ascontiguousarray(scores.T), dscoresT)
    return value, dscoresT.T


@pytest.mark.parametrize("N", [1, 2, 7])
def test_the_softmax_loss_of_one_two_and_seven_examples_is_the_notes_mean(N):
    """A dataset of a single point (the page's own-data tab allows one) is a mean over one example: the
    loss is -log p_y itself and dscores = p - onehot, not halved."""
    rng = np.random.RandomState(N)
    scores, y = rng.randn(N, 3) * 3, rng.randint(0, 3, N)
    value, dscores = call(SoftmaxLoss(y, 3), scores)
    expected, expected_d = cs231n_softmax(scores, y)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(dscores, expected_d, rtol=1e-12, atol=1e-15)
    assert SoftmaxLoss.extended(scores, y)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("N", [1, 2, 7])
def test_the_svm_loss_of_one_two_and_seven_examples_is_the_naive_loop(N):
    rng = np.random.RandomState(10 + N)
    scores, y = rng.randn(N, 4), rng.randint(0, 4, N)
    value, dscores = call(SVMLoss(y, 4), scores)  # delta's default is CS231n's 1
    expected, expected_d = cs231n_svm(scores, y)
    assert expected > 0 and value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(dscores, expected_d, rtol=1e-12, atol=1e-15)


def test_the_svms_extended_loss_is_its_loss_and_its_kinks_are_the_violated_margins():
    """The gradient check evaluates ``extended`` and compares kink patterns: its value must be the loss the
    page prints, and the pattern the violated margins only (the true class is never a margin)."""
    rng = np.random.RandomState(3)
    scores, y = rng.randn(9, 4), rng.randint(0, 4, 9)
    value, active = SVMLoss.extended(scores, y)
    loss = SVMLoss(y, 4)
    assert value == pytest.approx(call(loss, scores)[0], rel=1e-12) == pytest.approx(cs231n_svm(scores, y)[0])
    np.testing.assert_array_equal(active, loss.parts["active"] > 0)
    assert not active[np.arange(9), y].any()
    assert 0 < active.sum() < active.size - 9  # some margins violated, some not: the test can tell


def test_the_softmax_losses_stay_finite_however_large_or_spread_the_scores():
    """The notes' warning about exp(): with the row's own max taken off, no score overflows or underflows the
    loss -- neither a large score in one row nor rows of very different size in one batch."""
    scores = np.array([[800.0, 0.0, 1.0], [0.0, 1.0, 2.0], [-900.0, -905.0, -899.0]])
    y = np.array([0, 2, 1])
    expected = (math.log1p(math.exp(-799) + math.exp(-800))
                + (math.log(math.exp(0) + math.exp(1) + math.exp(2)) - 2)
                + (math.log(math.exp(-1) + math.exp(-6) + 1) + 6)) / 3
    assert SoftmaxLoss.extended(scores, y)[0] == pytest.approx(expected, rel=1e-12)
    assert call(SoftmaxLoss(y, 3), scores)[0] == pytest.approx(expected, rel=1e-12)


# -- softmax/gradcheck.py ------------------------------------------------------------------------------------------
def test_relative_error_of_infinite_or_huge_values_is_nan_or_finite_without_a_warning():
    """inf - inf and 1e308 - (-1e308) would warn (and the suite turns softmax's RuntimeWarnings into errors):
    a diverged run's check reads "not a number", quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = relative_error([np.inf, 1e308, 0.0], [np.inf, -1e308, 0.0])
    assert math.isnan(out[0]) and out[1] > 1 and out[2] == 0.0  # 1e308 - -1e308 overflows: inf


def test_relative_error_is_zero_where_both_values_are_zero_whatever_the_memory_held():
    """0/0 is defined as 0 (nothing to compare), not whatever an uninitialized output array happens to hold."""
    for _ in range(20):
        junk = np.full(4096, 7.0)  # freed just before: the next array of this size may reuse its memory
        del junk
        out = relative_error(np.zeros(4096), np.zeros(4096))
        assert not out.any()


def test_a_large_model_gets_its_budget_shared_and_every_parameter_at_least_8_entries():
    masks = _sample({"W": (1000,), "b": (10,)}, 100, 0)
    assert masks["W"].sum() == 100 * 1000 // 1010 and masks["b"].sum() == 8
    assert all(m.dtype == bool for m in masks.values())
    whole = _sample({"W": (20, 3), "b": (3,)}, 63, 0)  # exactly the budget: all of it
    assert all(m.all() for m in whole.values())


def test_the_pages_budget_reaches_the_check():
    run = Run(Config(points_per_class=50, classes=10, model="two-layer", hidden=20))
    check = check_snapshot(run.snapshot(), budget=64)
    entries = sum(s.size for s in check.status.values())
    assert entries > 64 and entries - check.count(SKIPPED) <= 64 + 8 * len(check.status)


def test_a_check_leaves_the_callers_gradient_alone_and_its_own_arrays_read_only():
    run = Run(Config())
    snap = run.snapshot()
    grads = {name: np.array(g) for name, g in snap.grads.items()}
    check = check_gradient(snap.model, dict(snap.params), snap.X, snap.y, snap.reg, grads)
    assert check.h == 1e-5  # CS231n's step, as the page states it
    assert all(g.flags.writeable for g in grads.values())  # the caller's arrays: still its own
    for table in (check.analytic, check.numeric, check.resolution, check.rel_error, check.status):
        for name, a in table.items():
            assert not a.flags.writeable and not np.shares_memory(a, grads[name])


def test_weights_that_are_not_finite_read_not_a_number_without_a_warning():
    run = Run(Config())
    snap = run.snapshot()
    params = {k: np.array(v) for k, v in snap.params.items()}
    params["W"][0, 0] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check = check_gradient(snap.model, params, snap.X, snap.y, snap.reg, dict(snap.grads))
    assert not check.passed and check.verdict.startswith("not a number")


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_the_case_studys_start_checks_good_for_both_losses(loss):
    """At iteration 0 the SVM's gradient is ~1e-3 and its loss's rounding noise over h sets the resolution:
    a resolution made too fine (the noise times h instead of over h) reads a correct gradient as wrong."""
    check = check_snapshot(Run(Config(loss=loss)).snapshot())
    assert check.passed and check.verdict.startswith("good") and check.count(CHECKED) > 0


# -- softmax/models/linear.py -------------------------------------------------------------------------------------
def test_the_linear_models_scores_for_new_points_add_b():
    """LinearModel.scores colours the decision regions and predicts new points: X W + b, with b's sign."""
    from softmax.models import LinearModel

    rng = np.random.RandomState(5)
    W, b, X = rng.randn(2, 3), rng.randn(3), rng.randn(7, 2)
    theta = np.concatenate([W.ravel(), b])
    np.testing.assert_allclose(LinearModel().scores(theta, X), (X @ W + b).T, rtol=1e-12)


def test_one_point_classified_right_is_full_accuracy_and_b_is_not_regularized():
    from softmax.models import LinearModel

    X, y = np.array([[1.0, 2.0]]), np.array([1])
    model = LinearModel()
    ws = model.workspace(X, y, 3)
    theta = np.concatenate([np.zeros(6), [0.0, 5.0, 0.0]])  # b alone makes class 1 win
    result = ws.run(theta, reg=0.5)
    assert result.accuracy == 1.0  # one point, right: 100 %, not 50 %
    theta[6:] = [1.0, 2.0, 3.0]
    ws.run(theta, reg=0.5)
    np.testing.assert_array_equal(ws.grads_reg["b"], 0.0)  # reg*W only: the notes do not regularize b
    np.testing.assert_array_equal(ws.grads["b"], ws.grads_data["b"])


# -- softmax/export.py ---------------------------------------------------------------------------------------------
def test_the_scripts_header_names_every_setting_that_reproduces_the_run():
    """A student reads the downloaded script's header to know which run it is: every setting but the page's own
    pacing (speed, refresh), and they give back the same run."""
    from softmax.export import export_script

    config = Config(dataset="circles", classes=4, seed=3, step_size=0.5, reg=0.01, iterations=50, speed=7.0)
    line = next(x for x in export_script(config).splitlines() if x.startswith("Settings: "))
    pairs = dict(p.split("=", 1) for p in line.removeprefix("Settings: ").split(", "))
    assert pairs.pop("print_every") == "10" and not {"speed", "refresh"} & set(pairs)
    again, notices = Config.from_query(pairs)
    assert notices == [] and again == config.with_changes(speed=Config().speed)


def test_the_script_says_why_a_run_stopped_in_the_command_lines_words():
    from softmax.export import GREW, INFINITE, export_script

    script = export_script(Config(step_size=1e6))
    for why in (GREW, INFINITE):
        assert f"diverged at iteration %d ({why}): the step size 1e+06 is too large" in script


@pytest.mark.parametrize("why", ['a "quoted" reason', "a back\\slash"])
def test_a_reason_the_scripts_print_cannot_hold_is_refused_by_name(why):
    from softmax.export import _message

    with pytest.raises(ValueError, match="cannot make a print statement of"):
        _message(why, 1.0)


def test_a_percent_sign_in_a_reason_is_escaped_for_the_scripts_print():
    from softmax.export import _message

    line = _message("grew 50% in one step", 1.0)
    assert "50%% in" in line and line.count("%d") == 1
    assert line % 7 == "diverged at iteration 7 (grew 50% in one step): the step size 1 is too large; " \
        "try a smaller one"


def test_a_script_of_own_points_is_refused_with_a_message_that_says_why():
    from softmax.export import export_script

    with pytest.raises(ValueError) as refused:
        export_script(Config(dataset="own"))
    assert str(refused.value) == "points are given exactly when the dataset is 'own'"
    with pytest.raises(ValueError) as refused:
        export_script(Config(dataset="own"), points=(np.zeros((0, 2)), np.zeros(0, dtype=np.int64)))
    assert str(refused.value) == "a script of your own points needs the points (at least one)"


def _edits(script: str) -> list[str]:
    """The script's "# [edit]" comments and the line after each, between the data and the model."""
    lines = script.split("# the data: ", 1)[1].split("\nD = X.shape[1]\n", 1)[0].splitlines()
    return [x for i, x in enumerate(lines) if x.startswith("# [edit]") or lines[i - 1].startswith("# [edit]")]


def test_own_points_in_the_unit_square_are_not_said_to_be_standardized():
    """Points within [-3, 3] train in their own units: the script must not claim (nor do) a standardization."""
    from softmax.export import export_script

    xy, y = np.array([[0.5, -0.25], [2.5, 1.0], [-1.0, 0.75]]), np.array([0, 1, 1])
    script = export_script(Config(dataset="own", classes=2), points=(xy, y))
    assert "# the data: your own 3 points (x1, x2) and their classes 0..1\n" in script
    assert _edits(script) == []


def test_the_scripts_inputs_are_the_held_out_split_the_runs_transform_then_the_features_in_that_order():
    """Far points with a test share and two features: all three edits, each written out; the transform is the one
    the page passes (the run's, fixed at its start), not one recomputed from the points as they are now."""
    from softmax.export import export_script
    from softmax.features import Transform

    xy = np.array([[120.0, 3.5], [80.0, 2.0], [150.25, 7.0], [95.0, 1.0], [130.0, 6.5]])
    config = Config(dataset="own", classes=2, test_share=0.4, features="x1sq,x1x2", seed=4)
    runs = Transform(("x1sq", "x1x2"), (100.0, 4.0), (25.0, 2.0))
    script = export_script(config, points=(xy, np.array([1, 0, 1, 0, 1])), transform=runs)
    assert _edits(script) == [
        "# [edit] 2 of the 5 points kept out of training (a random stream of their own)",
        "order = np.random.RandomState([4, 104729]).permutation(len(y))",
        "# [edit] your points are far from the unit square: standardized, as the page does",
        "X = (X - np.array([100.0, 4.0])) / np.array([25.0, 2.0])",
        "# [edit] the input features: x1sq, x1x2",
        "X = np.column_stack([X, X[:, 0] * X[:, 0], X[:, 0] * X[:, 1]])",
    ]
    # without the run's transform, the points' own standardization (mean 0, std 1), as a new run would
    again = export_script(config, points=(xy, np.array([1, 0, 1, 0, 1])))
    center, scale = xy.mean(axis=0), xy.std(axis=0)
    assert f"X = (X - np.array({[float(c) for c in center]!r})) / np.array({[float(c) for c in scale]!r})" in again


# -- softmax/models/base.py ----------------------------------------------------------------------------------------
def test_the_probabilities_of_new_points_are_the_softmax_of_their_scores():
    """What the decision regions' paleness and a point's hover show: each point's K probabilities, summing to 1,
    stable for large scores."""
    from softmax.models import LinearModel

    rng = np.random.RandomState(8)
    W, b, X = rng.randn(2, 3) * 300, rng.randn(3), rng.randn(6, 2)
    theta = np.concatenate([W.ravel(), b])
    scores = X @ W + b
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    probs = LinearModel().probabilities(theta, X)
    np.testing.assert_allclose(probs, expected.T, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, rtol=1e-12)



@pytest.mark.parametrize("K", [2, 3, 10])
def test_the_top_class_and_its_probability_are_the_softmax_argmax_and_max(K):
    """What the decision regions colour a cell by: the same class (ties to the lower one, as argmax) and the same
    probability as the full softmax, for large, tied and all-equal scores; nan and infinite scores quietly."""
    from softmax.models.base import probabilities, top_class

    rng = np.random.RandomState(K)
    scores = rng.randn(K, 500) * np.r_[1.0, 300.0][rng.randint(2, size=500)]
    scores[:, :40] = np.round(scores[:, :40])  # ties, some between the largest
    scores[rng.randint(K), 40:60] = scores[:, 40:60].max(axis=0)
    scores[:, 60:70] = 2.5  # all K equal: class 0, probability 1/K
    probs = probabilities(scores.copy())
    k_top, p_top = top_class(scores.copy())
    np.testing.assert_array_equal(k_top, probs.argmax(axis=0))
    np.testing.assert_allclose(p_top, probs.max(axis=0), rtol=1e-13)
    np.testing.assert_allclose(p_top[60:70], 1.0 / K, rtol=1e-13)
    odd = np.zeros((K, 3))
    odd[1, 0], odd[K - 1, 1], odd[:, 2] = np.inf, np.nan, -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k_odd, p_odd = top_class(odd)
    np.testing.assert_array_equal(k_odd, [1, 0, 0])
    assert np.isnan(p_odd).all()

# -- softmax/models/__init__.py: the CS231n-shaped entry points ------------------------------------------------------
def _refusal(call, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as refused:
        call(*args, **kwargs)
    return str(refused.value)


def test_the_public_losses_refuse_bad_arguments_with_a_message_that_names_them():
    from softmax.models import LinearModel, forward_backward, svm_loss, two_layer_loss

    X, y = np.zeros((3, 2)), np.array([0, 1, 0])
    W, b = np.zeros((2, 2)), np.zeros(2)
    assert _refusal(forward_backward, LinearModel(), [W, b], X, y, 0.0) == \
        "params must be a dict of arrays by name, got list"
    assert _refusal(svm_loss, W, b, X, y, 0.0, delta="wide") == "delta must be a number, got 'wide'"
    for delta in (-1.0, np.inf, np.nan):
        assert _refusal(svm_loss, W, b, X, y, 0.0, delta=delta) == f"delta must be finite and >= 0, got {delta!r}"
    assert _refusal(two_layer_loss, (W, b), X, y, 0.0) == "params must be a dict with W1, b1, W2 and b2, got tuple"
    for W1 in (np.zeros(2), np.zeros((2, 0)), None):
        assert _refusal(two_layer_loss, {"W1": W1}, X, y, 0.0) == \
            f"W1 must have shape (D, H), got shape {np.shape(W1)}"


def test_an_svm_margin_of_zero_and_a_net_of_one_hidden_unit_are_allowed():
    """delta = 0 is the SVM without a margin (a valid, if degenerate, loss); H = 1 is the smallest net."""
    from softmax.models import svm_loss, two_layer_loss
    from tests.test_models import naive_svm

    rng = np.random.RandomState(5)
    W, b, X, y = rng.randn(2, 3), rng.randn(3), rng.randn(6, 2), np.array([0, 1, 2, 2, 1, 0])
    loss, dW, db = svm_loss(W, b, X, y, 0.1, delta=0.0)
    expected = naive_svm(W, b, X, y, 0.1, delta=0.0)
    assert loss == pytest.approx(expected[0], rel=1e-12)
    p = net_params(rng, 2, 1, 3)
    loss, grads = two_layer_loss(p, X, y, 0.0)
    scores = notes_net_forward(p["W1"], p["b1"], p["W2"], p["b2"], X)[1]
    assert loss == pytest.approx(cs231n_softmax(scores, y)[0], rel=1e-12)
    assert grads["W1"].shape == (2, 1)


@pytest.mark.parametrize("loss", ["sofmax", "SVM", None])
def test_a_misspelt_loss_name_is_refused_not_trained_as_the_softmax(loss):
    """A loss name that is not "softmax" or "svm" used to train the softmax loss without a word."""
    from softmax.models import LinearModel, TwoLayerModel
    from softmax.models.losses import make_loss

    y = np.array([0, 1])
    assert _refusal(make_loss, loss, y, 2) == f"loss must be one of softmax, svm, got {loss!r}"
    for model in (LinearModel(loss), TwoLayerModel(3, loss)):
        with pytest.raises(ValueError, match="loss must be one of"):
            model.workspace(np.zeros((2, 2)), y, 2)


def test_the_public_losses_are_the_softmax_where_they_say_so():
    """softmax_loss and two_layer_loss compute the softmax loss, by default and by name (not the SVM)."""
    from softmax.models import LinearModel, TwoLayerModel, softmax_loss
    from softmax.models.losses import SoftmaxLoss

    rng = np.random.RandomState(2)
    W, b, X, y = rng.randn(2, 3), rng.randn(3), rng.randn(5, 2), np.array([0, 1, 2, 1, 0])
    assert softmax_loss(W, b, X, y, 0.0)[0] == pytest.approx(cs231n_softmax(X @ W + b, y)[0], rel=1e-12)
    assert isinstance(LinearModel().workspace(X, y, 3).loss, SoftmaxLoss)
    assert isinstance(TwoLayerModel(4).workspace(X, y, 3).loss, SoftmaxLoss)


# -- softmax/models/two_layer.py -----------------------------------------------------------------------------------
def notes_net_forward(W1, b1, W2, b2, X):
    """The notes' forward pass, as written: hidden_layer = max(0, X W + b), scores = hidden_layer W2 + b2."""
    hidden_layer = np.maximum(0, np.dot(X, W1) + b1)
    return hidden_layer, np.dot(hidden_layer, W2) + b2


def net_params(rng, D: int, H: int, K: int, scale: float = 1.0) -> dict[str, np.ndarray]:
    return {"W1": rng.randn(D, H) * scale, "b1": rng.randn(H) * scale, "W2": rng.randn(H, K) * scale,
            "b2": rng.randn(K) * scale}


def flat(p: dict[str, np.ndarray]) -> np.ndarray:
    """The net's flat parameter vector: [W1; b1] row-major, then [W2; b2] (the layout's order)."""
    return np.concatenate([p["W1"].ravel(), p["b1"], p["W2"].ravel(), p["b2"]])


def test_the_nets_scores_and_probabilities_of_new_points_add_both_biases():
    """TwoLayerModel.hidden, scores and probabilities colour the net's decision regions and predict new points:
    the notes' forward pass with nonzero b1 and b2, and the softmax of its scores (large ones included)."""
    from softmax.models import TwoLayerModel

    rng = np.random.RandomState(11)
    p, X = net_params(rng, 2, 5, 3), rng.randn(9, 2)
    model, theta = TwoLayerModel(5), flat(p)
    hidden_layer, scores = notes_net_forward(p["W1"], p["b1"], p["W2"], p["b2"], X)
    np.testing.assert_allclose(model.hidden(theta, X), hidden_layer.T, rtol=1e-12)
    np.testing.assert_allclose(model.scores(theta, X), scores.T, rtol=1e-12)
    big = {**p, "W2": p["W2"] * 400}
    scores = notes_net_forward(big["W1"], big["b1"], big["W2"], big["b2"], X)[1]
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    probs = model.probabilities(flat(big), X)
    np.testing.assert_allclose(probs, expected.T, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, rtol=1e-12)


def test_the_nets_pass_gives_the_notes_loss_parts_and_one_right_point_is_full_accuracy():
    """The status line's loss = data + reg (the notes' data_loss and 0.5*reg*(sum W*W + sum W2*W2)); one point
    classified right is 100 %, not 50 %."""
    from softmax.models import TwoLayerModel

    rng = np.random.RandomState(12)
    p = net_params(rng, 2, 4, 3)
    X, y = rng.randn(7, 2), rng.randint(0, 3, 7)
    model, reg = TwoLayerModel(4), 0.3
    result = model.workspace(X, y, 3).run(flat(p), reg)
    scores = notes_net_forward(p["W1"], p["b1"], p["W2"], p["b2"], X)[1]
    data_loss = cs231n_softmax(scores, y)[0]
    reg_loss = 0.5 * reg * np.sum(p["W1"] * p["W1"]) + 0.5 * reg * np.sum(p["W2"] * p["W2"])
    assert result.data_loss == pytest.approx(data_loss, rel=1e-12)
    assert result.reg_loss == pytest.approx(reg_loss, rel=1e-12)
    assert result.loss == pytest.approx(data_loss + reg_loss, rel=1e-12)
    one = notes_net_forward(p["W1"], p["b1"], p["W2"], p["b2"], X[:1])[1]
    right = np.array([int(np.argmax(one))])
    assert model.workspace(X[:1], right, 3).run(flat(p), reg).accuracy == 1.0


def test_the_nets_defaults_are_the_notes_100_units_and_the_softmax_loss():
    """The notes' h = 100; a net made without a loss named has the softmax loss (its extended loss, what the
    gradient check differentiates, is the notes' cross-entropy)."""
    from softmax.models import TwoLayerModel

    layout = TwoLayerModel().layout(2, 3)
    assert dict(layout.shapes) == {"W1": (2, 100), "b1": (100,), "W2": (100, 3), "b2": (3,)}
    rng = np.random.RandomState(13)
    p = net_params(rng, 2, 5, 3)
    X, y = rng.randn(6, 2), rng.randint(0, 3, 6)
    loss, _ = TwoLayerModel(5).extended(p, X, y, 0.0)
    assert float(loss) == pytest.approx(cs231n_softmax(notes_net_forward(*p.values(), X)[1], y)[0], rel=1e-12)


def test_the_nets_regularized_weights_are_W1_and_W2_not_the_biases():
    """The L2 penalty of the notes' net: reg*W and reg*W2 (the Explain tab's data-versus-reg sizes list them)."""
    from softmax.models import TwoLayerModel

    layout = TwoLayerModel(4).layout(2, 3)
    assert set(layout.regularized) == {"W1", "W2"}
    expected = flat({"W1": np.ones((2, 4)), "b1": np.zeros(4), "W2": np.ones((4, 3)), "b2": np.zeros(3)})
    np.testing.assert_array_equal(layout.reg_mask(), expected)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_a_relu_at_exactly_zero_is_off_for_the_gradient_check_as_in_the_backward_pass(loss):
    """The spiral's first point of each class is the origin, so at the start (b1 = 0) its ReLUs sit at exactly 0:
    the backward pass blocks them (the notes' dhidden[hidden_layer <= 0] = 0). The kink pattern the check compares
    must call them off too, and moving a W1 entry (which cannot move the origin's units) must cross no kink, or
    every W1 entry would be listed "at a kink" instead of checked."""
    from softmax.models import TwoLayerModel

    rng = np.random.RandomState(14)
    H = 5
    X = np.vstack([[0.0, 0.0], rng.randn(6, 2)])
    y = np.arange(7) % 3
    p = {"W1": rng.randn(2, H) * 0.5, "b1": np.zeros(H), "W2": rng.randn(H, 3), "b2": np.zeros(3)}
    model = TwoLayerModel(H, loss)
    pre = np.dot(X, p["W1"]) + p["b1"]
    assert (pre[0] == 0).all()
    _, kinks = model.extended(p, X, y, 0.1)
    on = np.asarray(kinks).ravel()[: pre.size].reshape(pre.shape)
    np.testing.assert_array_equal(on, pre > 0)
    evaluate = model.evaluator(p, X, y, 0.1)
    np.testing.assert_array_equal(np.asarray(evaluate.base[1]).ravel()[: pre.size], (pre > 0).ravel())
    for d in range(2):
        for j in range(H):
            for step in (1e-5, -1e-5):
                _, moved = evaluate.moved("W1", (d, j), step)
                np.testing.assert_array_equal(moved, evaluate.base[1])


# -- softmax/explain.py: the notes' loop, every line's value as the Explain tab prints it --------------------------
# The expected texts are written here from the notes' own loop (tests/test_explain.py's oracle), formatted as the
# tab promises: 4 significant digits; an (N, K) array by example i's row, "shape (N, K): name[i,0] = … · …";
# a parameter (a bias in the notes' (1, K) shape) entry by entry, past 9 entries the first 8, "…" and the last.
def g4(v) -> str:
    return f"{float(v):.4g}"


def listed(labels: list[str], values, shape: tuple[int, ...]) -> str:
    pairs = [f"{label} = {g4(v)}" for label, v in zip(labels, np.ravel(values), strict=True)]
    if len(pairs) <= 9:
        return " · ".join(pairs)
    return f"shape {shape}: " + " · ".join([*pairs[:8], "…", pairs[-1]])


def ent(name: str, a) -> str:
    a = np.asarray(a)
    a = a.reshape(1, -1) if a.ndim == 1 else a
    return listed([f"{name}[{r},{c}]" for r in range(a.shape[0]) for c in range(a.shape[1])], a, a.shape)


def row_of(name: str, values, i: int, N: int) -> str:
    text = listed([f"{name}[{i},{k}]" for k in range(len(values))], values, (N, len(values)))
    return text if text.startswith("shape") else f"shape ({N}, {len(values)}): {text}"


def notes_values(lines) -> list[tuple[str, str]]:
    return [(line.code.strip(), line.value) for line in lines]


def expected_linear(config: Config, T: int, i: int) -> list[tuple[str, str]]:
    from tests.test_explain import NOTES_LINEAR, notes_stream, oracle

    o = oracle(config, T)
    X, y, start = notes_stream(config)
    N = len(y)
    pc = int(o["predicted_class"][i])
    spec = {
        "W = 0.01 * np.random.randn(D,K)": "at iteration 0: " + ent("W", start["W"]),
        "b = np.zeros((1,K))": "at iteration 0: " + ent("b", np.zeros((1, config.classes))),
        "step_size = 1e-0": f"this run: step_size = {config.step_size:g}",
        "reg = 1e-3 # regularization strength": f"this run: reg = {config.reg:g}",
        "num_examples = X.shape[0]": f"{N}",
        "for i in range(200):": f"this run: range({config.iterations}); now i = {T}",
        "scores = np.dot(X, W) + b": row_of("scores", o["scores"][i], i, N),
        "exp_scores = np.exp(scores)": row_of("exp_scores", o["exp_scores"][i], i, N)
        + " (the app subtracts the row's largest score first: the same probs, and exp cannot overflow)",
        "probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True) # [N x K]":
            row_of("probs", o["probs"][i], i, N),
        "corect_logprobs = -np.log(probs[range(num_examples),y])":
            f"shape ({N},): corect_logprobs[{i}] = {g4(o['corect_logprobs'][i])}",
        "data_loss = np.sum(corect_logprobs)/num_examples": f"{o['data_loss']:.6f}",
        "reg_loss = 0.5*reg*np.sum(W*W)": f"{o['reg_loss']:.6g}",
        "loss = data_loss + reg_loss": f"{o['loss']:.6f}",
        "if i % 10 == 0:": f"{T} % 10 = {T % 10}: " + ("it prints" if T % 10 == 0 else "no print now"),
        'print("iteration %d: loss %f" % (i, loss))': "iteration %d: loss %f" % (T, o["loss"]) if T % 10 == 0 else "",
        "dscores = probs": row_of("dscores", o["probs"][i], i, N) + " (the probs, before the next two lines)",
        "dscores[range(num_examples),y] -= 1": row_of("dscores", o["minus_one"][i], i, N)
        + f" (1 taken off at the true class {y[i]})",
        "dscores /= num_examples": row_of("dscores", o["dscores"][i], i, N) + f" (divided by N = {N})",
        "dW = np.dot(X.T, dscores)": ent("dW", o["dW_data"]),
        "db = np.sum(dscores, axis=0, keepdims=True)": ent("db", o["db"]),
        "dW += reg*W # regularization gradient":
            ent("dW", o["dW"]) + " (reg*W added: " + ent("reg*W", o["reg_W"]) + ")",
        "W += -step_size * dW": "next: " + ent("W", o["W_next"]),
        "b += -step_size * db": "next: " + ent("b", o["b_next"]),
        "predicted_class = np.argmax(scores, axis=1)": f"shape ({N},): predicted_class[{i}] = {pc} (true class {y[i]})",
        "print('training accuracy: %.2f' % (np.mean(predicted_class == y)))":
            "now: training accuracy: %.2f (the notes print it after the loop)" % o["accuracy"],
    }
    out, after = [], False
    for line in NOTES_LINEAR.split("\n"):
        code = line.strip()
        if not code:
            continue
        after = after or code == "# evaluate training set accuracy"
        value = spec.get(code, "")
        if after and code == "scores = np.dot(X, W) + b":
            value += " (at the current weights)"
        out.append((code, value))
    return out


@pytest.mark.parametrize(("T", "classes"), [(37, 3), (30, 3), (4, 9), (4, 10)])
def test_every_line_of_the_notes_linear_loop_reads_the_notes_numbers(T, classes):
    """The Explain tab's loop, line by line, at a print iteration (30) and another (37): every value text exactly,
    the loop's and the accuracy block's scores told apart, the comment and blank lines empty; 9 classes (a row of
    9 entries is shown whole) and 10 (the first 8, "…" and the last)."""
    from softmax.explain import notes_lines
    from softmax.runner import Trainer

    config = Config(reg=0.05, classes=classes)
    expected = expected_linear(config, T, 150)
    assert len(expected) > 30
    assert notes_values(notes_lines(Trainer(config).step(T), 150)) == expected


def test_every_line_of_the_notes_net_loop_reads_the_notes_numbers():
    """The net's loop (h = 100: rows and parameters past 9 entries shortened), every value text exactly: the
    ReLU's units on and off for the example, the print interval of 1000, the two regularization lines."""
    from softmax.explain import notes_lines
    from softmax.runner import Trainer
    from tests.test_explain import NOTES_NET, notes_stream, oracle

    config, T, i = Config(model="two-layer", hidden=100, iterations=10_000), 25, 150
    o = oracle(config, T)
    X, y, start = notes_stream(config)
    N, H = len(y), 100
    on = int(np.count_nonzero(o["hidden_layer"][i] > 0))
    spec = {
        "h = 100 # size of hidden layer": "this run: h = 100",
        "W = 0.01 * np.random.randn(D,h)": "at iteration 0: " + ent("W", start["W"]),
        "b = np.zeros((1,h))": "at iteration 0: " + ent("b", np.zeros((1, H))),
        "W2 = 0.01 * np.random.randn(h,K)": "at iteration 0: " + ent("W2", start["W2"]),
        "b2 = np.zeros((1,K))": "at iteration 0: " + ent("b2", np.zeros((1, 3))),
        "step_size = 1e-0": "this run: step_size = 1",
        "reg = 1e-3 # regularization strength": "this run: reg = 0.001",
        "num_examples = X.shape[0]": f"{N}",
        "for i in range(10000):": f"this run: range(10000); now i = {T}",
        "hidden_layer = np.maximum(0, np.dot(X, W) + b) # note, ReLU activation":
            row_of("hidden_layer", o["hidden_layer"][i], i, N) + f" ({on} of {H} units on)",
        "scores = np.dot(hidden_layer, W2) + b2": row_of("scores", o["scores"][i], i, N),
        "exp_scores = np.exp(scores)": row_of("exp_scores", o["exp_scores"][i], i, N)
        + " (the app subtracts the row's largest score first: the same probs, and exp cannot overflow)",
        "probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True) # [N x K]":
            row_of("probs", o["probs"][i], i, N),
        "corect_logprobs = -np.log(probs[range(num_examples),y])":
            f"shape ({N},): corect_logprobs[{i}] = {g4(o['corect_logprobs'][i])}",
        "data_loss = np.sum(corect_logprobs)/num_examples": f"{o['data_loss']:.6f}",
        "reg_loss = 0.5*reg*np.sum(W*W) + 0.5*reg*np.sum(W2*W2)": f"{o['reg_loss']:.6g}",
        "loss = data_loss + reg_loss": f"{o['loss']:.6f}",
        "if i % 1000 == 0:": f"{T} % 1000 = {T}: no print now",
        "dscores = probs": row_of("dscores", o["probs"][i], i, N) + " (the probs, before the next two lines)",
        "dscores[range(num_examples),y] -= 1": row_of("dscores", o["minus_one"][i], i, N)
        + f" (1 taken off at the true class {y[i]})",
        "dscores /= num_examples": row_of("dscores", o["dscores"][i], i, N) + f" (divided by N = {N})",
        "dW2 = np.dot(hidden_layer.T, dscores)": ent("dW2", o["dW2_data"]),
        "db2 = np.sum(dscores, axis=0, keepdims=True)": ent("db2", o["db2"]),
        "dhidden = np.dot(dscores, W2.T)": row_of("dhidden", o["dhidden_pre"][i], i, N),
        "dhidden[hidden_layer <= 0] = 0": row_of("dhidden", o["dhidden"][i], i, N)
        + f" ({H - on} of {H} units off for example {i}: their entries set to 0)",
        "dW = np.dot(X.T, dhidden)": ent("dW", o["dW_data"]),
        "db = np.sum(dhidden, axis=0, keepdims=True)": ent("db", o["db"]),
        "dW2 += reg * W2": ent("dW2", o["dW2"]) + " (reg * W2 added)",
        "dW += reg * W": ent("dW", o["dW"]) + " (reg * W added)",
        "W += -step_size * dW": "next: " + ent("W", o["W_next"]),
        "b += -step_size * db": "next: " + ent("b", o["b_next"]),
        "W2 += -step_size * dW2": "next: " + ent("W2", o["W2_next"]),
        "b2 += -step_size * db2": "next: " + ent("b2", o["b2_next"]),
        "predicted_class = np.argmax(scores, axis=1)":
            f"shape ({N},): predicted_class[{i}] = {int(o['predicted_class'][i])} (true class {y[i]})",
        "print('training accuracy: %.2f' % (np.mean(predicted_class == y)))":
            "now: training accuracy: %.2f (the notes print it after the loop)" % o["accuracy"],
    }
    after_loop = {"hidden_layer = np.maximum(0, np.dot(X, W) + b)": row_of("hidden_layer", o["hidden_layer"][i], i, N),
                  "scores = np.dot(hidden_layer, W2) + b2": row_of("scores", o["scores"][i], i, N)
                  + " (at the current weights)"}
    expected, after = [], False
    for line in NOTES_NET.split("\n"):
        code = line.strip()
        if code:
            after = after or code == "# evaluate training set accuracy"
            expected.append((code, after_loop[code] if after and code in after_loop else spec.get(code, "")))
    assert notes_values(notes_lines(Trainer(config).step(T), i)) == expected


def test_the_svm_lines_of_the_loop_read_the_naive_loops_margins():
    """The SVM's edited lines: the true class's score, the margins before and after the true class's is zeroed
    (s_y - s_y + 1 = 1 there first), +1 at each violated margin, minus their count at y."""
    from softmax.explain import notes_lines
    from softmax.runner import Trainer
    from tests.test_explain import svm_naive

    snap, i = Trainer(Config(loss="svm")).step(5), 150
    W, b, X, y = snap.params["W"], snap.params["b"], snap.X, snap.y
    _, dscores, margins = svm_naive(W, b, X, y, 0.0)
    N, label = len(y), int(y[i])
    scores = X[i] @ W + b
    before = margins[i].copy()
    before[label] = 1.0
    violated = margins[i] > 0
    values = dict(notes_values(notes_lines(snap, i)))
    assert values["correct_class_scores = scores[range(num_examples),y].reshape(-1, 1)"] == \
        f"shape ({N}, 1): correct_class_scores[{i},0] = scores[{i},{label}] = {g4(scores[label])}"
    assert values["margins = np.maximum(0, scores - correct_class_scores + 1) # [N x K]"] == \
        row_of("margins", np.maximum(before, 0), i, N)
    assert values["margins[range(num_examples),y] = 0 # the true class is not a margin"] == \
        row_of("margins", np.maximum(margins[i], 0), i, N)
    assert values["dscores = (margins > 0).astype(float) # +1 at every violated margin"] == \
        row_of("dscores", violated.astype(float), i, N)
    assert values["dscores[range(num_examples),y] -= np.sum(margins > 0, axis=1) # minus their count at y"] == \
        row_of("dscores", dscores[i] * N, i, N) + \
        f" ({np.count_nonzero(violated)} violated: taken off at the true class {label})"
    assert values["data_loss = np.sum(margins)/num_examples"] == f"{snap.data_loss:.6f}"


@pytest.mark.parametrize(("optimizer", "batch_size"), [("momentum", 0), ("adam", 0), ("sgd", 16)])
def test_the_update_lines_name_the_optimizers_next_step(optimizer, batch_size):
    """Momentum's vW line is the step taken (next W − W) and W += vW the next W; Adam's update line the next W; a
    minibatch run's next W says it is a minibatch's step."""
    from softmax.explain import notes_lines
    from softmax.runner import Trainer

    snap = Trainer(Config(optimizer=optimizer, batch_size=batch_size, step_size=0.5)).step(6)
    values = dict(notes_values(notes_lines(snap, 0)))
    nxt, now = snap.next_params, snap.params
    where = f" (a step on a minibatch of {batch_size} points)" if batch_size else ""
    for p in ("W", "b"):
        next_text = f"next{where}: " + ent(p, nxt[p])
        if optimizer == "momentum":
            assert values[f"v{p} = mu * v{p} - step_size * d{p}"] == \
                "next: " + ent("v" + p, np.asarray(nxt[p]) - np.asarray(now[p])) + f" (= next {p} − {p})"
            assert values[f"{p} += v{p}"] == next_text
        elif optimizer == "adam":
            assert values[f"{p} += -step_size * (m{p} / (1 - beta1**t)) / (np.sqrt(v{p} / (1 - beta2**t)) + eps)"] \
                == next_text
        else:
            assert values[f"{p} += -step_size * d{p}"] == next_text


def test_points_not_drawn_from_the_seed_show_no_initial_weights():
    """When the snapshot's points are not the seed's (same count, other values), the notes' initialization lines
    cannot show the seed's draw: they say so instead of showing weights this run did not start from."""
    import dataclasses

    from softmax.explain import initial_params, notes_lines
    from softmax.runner import Trainer

    snap = Trainer(Config()).step(2)
    moved = dataclasses.replace(snap, X=snap.X + 0.5)  # the same labels, other points
    assert initial_params(snap) is not None and initial_params(moved) is None
    values = dict(notes_values(notes_lines(moved, 0)))
    for line in ("W = 0.01 * np.random.randn(D,K)", "b = np.zeros((1,K))"):
        assert values[line] == "drawn at iteration 0 (not shown: this run's points were given, not drawn from the seed)"


def test_huge_scores_read_without_a_warning_and_their_softmax_stays_finite():
    """A run blown up by its step size: scores past 710 overflow exp. The loop's exp_scores line may show inf (its
    note says the app subtracts the row's max), but nothing warns, and the example's softmax is finite."""
    import dataclasses
    from types import MappingProxyType

    from softmax.explain import example, notes_lines
    from softmax.runner import Trainer

    snap = Trainer(Config(loss="svm")).step(3)
    scores = snap.parts["scores"] * 1e5
    huge = dataclasses.replace(snap, parts=MappingProxyType({**snap.parts, "scores": scores}))
    assert np.abs(scores[7]).max() > 800
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = example(huge, 7)
        notes_lines(huge, 7)
    p = np.exp(scores[7] - scores[7].max())
    np.testing.assert_allclose(e.softmax_probs, p / p.sum(), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_an_example_names_itself_and_its_loss(loss):
    from softmax.explain import example
    from softmax.runner import Trainer

    snap = Trainer(Config(loss=loss)).step(2)
    e = example(snap, 123)
    assert e.index == 123 and e.loss_name == loss
    s = snap.X[123] @ snap.params["W"] + snap.params["b"]
    p = np.exp(s - s.max())
    np.testing.assert_allclose(e.softmax_probs, p / p.sum(), rtol=1e-10)


def test_the_relu_gate_is_the_notes_dhidden_before_and_after_and_refuses_a_linear_model():
    from softmax.explain import relu_gate
    from softmax.runner import Trainer
    from tests.test_explain import oracle

    config = Config(model="two-layer", hidden=30)
    gate, o = relu_gate(Trainer(config).step(4), 77), oracle(config, 4)
    np.testing.assert_allclose(gate.before, o["dhidden_pre"][77], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(gate.after, o["dhidden"][77], rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(gate.on, o["hidden_layer"][77] > 0)
    with pytest.raises(ValueError, match="^only the 2-layer net has a ReLU gate$"):
        relu_gate(Trainer(Config()).step(1), 0)


def test_the_balances_name_the_regularized_weights():
    from softmax.explain import balances
    from softmax.runner import Trainer

    assert [b.name for b in balances(Trainer(Config()).step(1))] == ["W"]
    assert [b.name for b in balances(Trainer(Config(model="two-layer", hidden=5)).step(1))] == ["W1", "W2"]


@pytest.mark.parametrize(("N", "K", "budget"), [(300, 3, 800), (1000, 10, 240), (3000, 3, 266), (100_000, 10, 64)])
def test_the_pages_check_budget_is_a_whole_number_of_entries(N, K, budget):
    """2 400 000 entry-examples-classes at most, within 64 and 800 entries: 240 for 1000 points of 10 classes."""
    from types import SimpleNamespace

    from softmax.explain import check_budget

    got = check_budget(SimpleNamespace(N=N, K=K))
    assert got == budget and isinstance(got, int)


# -- softmax/config.py -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (-0.0, "0"), (0.001, "0.001"), (0.5, "0.5"), (-0.5, "-0.5"), (1.0, "1"), (9999.0, "9999"),
    (1e4, "1e4"), (1e6, "1e6"), (1e12, "1e12"), (0.0009, "9e-4"), (1e-5, "1e-5"), (2e-7, "2e-7"), (-1e-5, "-1e-5"),
    (3, "3"), ("spiral", "spiral"),
])
def test_a_settings_value_is_written_short_and_exact_for_the_grid(value, text):
    """How the page, the CLI's messages and the script's header write a setting: 1e-3 to 1e4 plainly, others as
    1 significant digit times a power of ten without a '+' or a leading 0 in the exponent."""
    from softmax.config import format_value

    assert format_value(value) == text


def test_the_log_sliders_offer_1_2_5_per_decade_within_their_range():
    """Written out by hand from each setting's range: the step size 1e-4 to 1e6, reg 0 then 1e-5 to 10, speed 1 to
    1e4; a value off the grid is inserted in order."""
    from softmax.config import slider_values

    def decades(lo_exp, hi_exp):
        return [m * 10.0 ** e for e in range(lo_exp, hi_exp + 1) for m in (1, 2, 5)]

    step = [v for v in decades(-4, 6) if 1e-4 <= v <= 1e6]
    np.testing.assert_allclose(slider_values("step_size"), step, rtol=1e-12)
    assert len(step) == 31 and step[0] == 1e-4 and step[-1] == 1e6
    reg = [0.0, *[v for v in decades(-5, 1) if 1e-5 <= v <= 10]]
    np.testing.assert_allclose(slider_values("reg"), reg, rtol=1e-12)
    assert slider_values("reg")[:2] == [0.0, 1e-5] and slider_values("reg")[-1] == 10.0
    np.testing.assert_allclose(slider_values("speed"), [v for v in decades(0, 4) if v <= 1e4], rtol=1e-12)
    with_off = slider_values("step_size", 0.3)
    assert 0.3 in with_off and with_off == sorted(with_off) and len(with_off) == 32
    assert slider_values("step_size", 0.5) == slider_values("step_size")  # on the grid: nothing inserted


def test_the_nets_pass_reads_a_strided_theta_afresh_each_time():
    """The workspace caches its views of a contiguous theta; a strided one (every other entry of a larger
    array) cannot be viewed in place, so each pass must read it anew: changed in place, it gives the new
    loss, the notes' loss at the new weights."""
    from softmax.models import TwoLayerModel

    rng = np.random.RandomState(13)
    p = net_params(rng, 2, 4, 3)
    X, y = rng.randn(7, 2), rng.randint(0, 3, 7)
    ws = TwoLayerModel(4).workspace(X, y, 3)
    store = np.zeros(2 * flat(p).size)
    theta = store[::2]  # not contiguous
    theta[:] = flat(p)
    ws.run(theta, 0.0)
    theta *= 2.0  # every weight and bias doubled, in place
    doubled = {k: 2.0 * v for k, v in p.items()}
    scores = notes_net_forward(doubled["W1"], doubled["b1"], doubled["W2"], doubled["b2"], X)[1]
    assert ws.run(theta, 0.0).data_loss == pytest.approx(cs231n_softmax(scores, y)[0], rel=1e-12)


@pytest.mark.parametrize("reg", [0.0, 1.0, 0.5])
def test_the_nets_first_pass_regularizes_with_the_reg_it_is_given(reg):
    """The workspace keeps reg times its mask between passes; a fresh one must not take any reg, 1 included,
    for the one it already holds: its first pass's reg part is reg*W1 and reg*W2, 0 on the biases."""
    from softmax.models import TwoLayerModel

    rng = np.random.RandomState(14)
    p = net_params(rng, 2, 4, 3)
    X, y = rng.randn(7, 2), rng.randint(0, 3, 7)
    ws = TwoLayerModel(4).workspace(X, y, 3)
    ws.run(flat(p), reg)
    for name in ("W1", "W2"):
        np.testing.assert_array_equal(ws.grads_reg[name], reg * p[name])
    for name in ("b1", "b2"):
        np.testing.assert_array_equal(ws.grads_reg[name], 0.0)


def fresh_config_module():
    """A new copy of softmax.config, executed now: its field table is built by ``_setting`` at import time,
    which the module the other tests share ran long before any test (so no test would see a change there).
    The copy has the module's own name, is not put in sys.modules, and leaves the shared module alone."""
    import importlib.util

    import softmax.config

    spec = importlib.util.spec_from_file_location("softmax.config", softmax.config.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.Config is not softmax.config.Config
    return module


# Each setting's row, written out from the issues that asked for it (not read from the module): default, group,
# range, log scale, 0 allowed (and what it means), the allowed values, and whether it matters for the linear model
# on the spiral, for the net, and for one's own points.
SETTING_ROWS = {
    "dataset": ("spiral", "data", None, None, False, False, None, ("spiral", "blobs", "circles", "xor", "own"), None,
                (True, True, True)),
    "points_per_class": (100, "data", 5, 10_000, False, False, None, None, None, (True, True, False)),
    "classes": (3, "data", 2, 10, False, False, None, None, None, (True, True, True)),
    "noise": (0.2, "data", 0.0, 1.0, False, False, None, None, None, (True, True, False)),
    "seed": (0, "data", 0, 2**31 - 1, False, False, None, None, None, (True, True, True)),
    "test_share": (0.0, "data", 0.0, 0.5, False, False, None, None, None, (True, True, True)),
    "model": ("linear", "model", None, None, False, False, None, ("linear", "two-layer"), None, (True, True, True)),
    "loss": ("softmax", "model", None, None, False, False, None, ("softmax", "svm"), None, (True, True, True)),
    "hidden": (100, "model", 1, 200, False, False, None, None, None, (False, True, False)),
    "features": ("", "model", None, None, False, False, None, None, ("x1sq", "x2sq", "x1x2", "sinx1", "sinx2"),
                 (True, True, True)),
    "init": ("notes", "model", None, None, False, False, None, ("notes", "plain"), None, (True, True, True)),
    "optimizer": ("sgd", "training", None, None, False, False, None, ("sgd", "momentum", "adam"), None,
                  (True, True, True)),
    "step_size": (1.0, "training", 1e-4, 1e6, True, False, None, None, None, (True, True, True)),
    "reg": (1e-3, "training", 1e-5, 10.0, True, True, "off", None, None, (True, True, True)),
    "batch_size": (0, "training", 1, 10_000, False, True, "all points", None, None, (True, True, True)),
    "iterations": (200, "run", 1, 100_000, False, False, None, None, None, (True, True, True)),
    "speed": (50.0, "run", 1.0, 1e4, True, False, None, None, None, (True, True, True)),
    "refresh": (5, "run", 1, 10, False, False, None, None, None, (True, True, True)),
}


def test_the_settings_table_built_afresh_has_each_settings_row():
    """What ``_setting`` puts in each field, checked on a fresh import: the default, the group, the range, the
    scale, 0's meaning, the allowed values with a title each, a label and a help text, and where it applies."""
    module = fresh_config_module()
    linear, net, own = module.Config(), module.Config(model="two-layer"), module.Config(dataset="own")
    assert module.SETTINGS == tuple(SETTING_ROWS)
    for name, row in SETTING_ROWS.items():
        default, group, lo, hi, log, zero_ok, zero_means, choices, options, applies = row
        info = module.setting_info(name)
        got = (info["default"], info["group"], info["lo"], info["hi"], info["log"], info["zero_ok"],
               info["zero_means"], tuple(info["choices"]) if info["choices"] is not None else None,
               tuple(info["options"]) if info["options"] is not None else None,
               tuple(info["applies"](c) for c in (linear, net, own)))
        assert got == row, name
        assert type(info["default"]) is type(default) and getattr(linear, name) == default, name
        assert info["type"] == type(default).__name__, name  # the annotation: what the controls parse
        assert isinstance(info["label"], str) and len(info["label"]) >= 4, name
        assert isinstance(info["help"], str) and len(info["help"]) >= 20 and info["help"] != info["label"], name
        for titles in (info["choices"], info["options"]):
            assert titles is None or all(isinstance(t, str) and t for t in titles.values()), name
    assert module.setting_info("classes")["label"] == "Classes" and module.setting_info("reg")["label"] == \
        "Regularization"
    assert module.setting_info("dataset")["choices"]["own"] == "Your own points"
    assert module.setting_info("hidden")["help"].startswith("Width H of the net's hidden layer")


@pytest.mark.parametrize(("query", "value", "notice"), [
    ({"classes": 4}, 4, None),  # a number, not text (a preset, the CLI's parsed argument)
    ({"classes": "abc"}, 3, "Classes: 'abc' is not a number, using 3"),
    ({"step_size": "nan"}, 1.0, "Step size: 'nan' is not a number, using 1"),
    ({"loss": "hinge"}, "softmax", "Loss: unknown value 'hinge', using Softmax (cross-entropy)"),
    ({"features": "x9, x1sq ,nope"}, "x1sq", "Input features: unknown 'x9, nope', left out"),
])
def test_each_replaced_value_gets_its_own_notice(query, value, notice):
    """The notices written out in full: the fallback in the setting's own words (a choice's title, a number as
    the page writes it), the unknown parts of a list separated by ', '."""
    from softmax.config import Config

    config, notices = Config.from_query(query)
    assert getattr(config, next(iter(query))) == value
    assert notices == ([notice] if notice else [])


def test_coerce_says_none_when_nothing_was_replaced_and_names_any_fallback():
    from softmax.config import coerce

    assert coerce("classes", "4", 3) == (4, None) and coerce("reg", " 0 ", 1e-3) == (0.0, None)
    assert coerce("loss", "hinge", "svm") == ("svm", "Loss: unknown value 'hinge', using Multiclass SVM (hinge)")
    # a fallback outside the choices (coerce is public) is named as it is, not as None
    assert coerce("loss", "hinge", "lsq") == ("lsq", "Loss: unknown value 'hinge', using lsq")


@pytest.mark.parametrize(("length", "shown"), [(39, None), (40, None), (41, 40), (500, 40)])
def test_a_bad_value_is_echoed_whole_up_to_40_characters_then_cut(length, shown):
    """A message quotes a bad value's repr whole when it has at most 40 characters; a longer one is cut to 39
    and an ellipsis, so a 100 KB argument is not echoed back."""
    from softmax.config import Config

    value = "x" * (length - 2)  # its repr has quotes: length characters
    with pytest.raises(ValueError) as error:
        Config(dataset=value)
    quoted = str(error.value).split("got ", 1)[1]
    if shown is None:
        assert quoted == repr(value)
    else:
        assert len(quoted) == shown and quoted == repr(value)[:39] + "…"


def test_a_setting_is_written_exactly_and_read_back_equal():
    """The query string's text: whole floats without '.0', others as repr (round-trips through float())."""
    from softmax.config import _format

    for value, text in [(1.0, "1"), (0.5, "0.5"), (-0.0, "-0"), (1e15, "1000000000000000"), (1e16, "1e+16"),
                        (1e-05, "1e-05"), (0.1 + 0.2, "0.30000000000000004"), (7, "7"), ("sgd", "sgd")]:
        assert _format(value) == text
        assert type(value) is not float or float(text) == value


@pytest.mark.parametrize("settings,message", [
    ({"features": "x2sq,x1sq"}, "features must be a comma list of x1sq, x2sq, x1x2, sinx1, sinx2 in that order, "
                                "got 'x2sq,x1sq'"),
    ({"features": 3}, "features must be a comma list of x1sq, x2sq, x1x2, sinx1, sinx2 in that order, got 3"),
    ({"model": "tree"}, "model must be one of linear, two-layer, got 'tree'"),
    ({"classes": 2.5}, "classes must be a whole number, got 2.5"),
    ({"classes": True}, "classes must be a whole number, got True"),
    ({"seed": 1.0}, "seed must be a whole number, got 1.0"),
    ({"step_size": "big"}, "step_size must be a number, got 'big'"),
    ({"step_size": True}, "step_size must be a number, got True"),
    ({"reg": -1.0}, "reg must be 0 or between 1e-05 and 10, got -1"),
    ({"batch_size": -3}, "batch_size must be 0 or between 1 and 10000, got -3"),
    ({"step_size": 0.0}, "step_size must be between 0.0001 and 1000000, got 0"),
    ({"test_share": 0.95}, "test_share must be between 0 and 0.5, got 0.95"),
])
def test_a_bad_setting_is_refused_with_a_message_that_names_it_its_kind_and_its_range(settings, message):
    """What the CLI and the API say to a bad setting, word for word (written here, not read from the module)."""
    with pytest.raises(ValueError) as refused:
        Config(**settings)
    assert str(refused.value) == message


# -- softmax/run.py --------------------------------------------------------------------------------------------------
def straight(config: Config, steps: list[tuple[int, dict]], until: int) -> Run:
    """The run trained straight to ``until``, with each (iteration, settings) change made on the way."""
    run = Run(config)
    for iteration, settings in steps:
        run.step(iteration - run.iteration)
        run.change(run.config.with_changes(**settings))
    run.step(until - run.iteration)
    return run


def test_a_new_reg_changes_the_shown_loss_and_gradient_at_once():
    """The loss and dW the page shows right after the student moves the reg slider are those of the new reg
    at the current weights (0.5·reg·ΣW² and reg·W, written out), before any step; the same reg again changes
    nothing."""
    run = Run(Config())
    run.step(10)
    data_loss, W = run.result.data_loss, run.params["W"].copy()
    run.change(run.config.with_changes(reg=0.1))
    snap = run.snapshot()
    assert snap.iteration == 10 and snap.reg_loss == pytest.approx(0.5 * 0.1 * (W * W).sum(), rel=1e-12)
    assert snap.loss == pytest.approx(data_loss + 0.5 * 0.1 * (W * W).sum(), rel=1e-12)
    np.testing.assert_allclose(snap.grads_reg["W"], 0.1 * W, rtol=1e-12)
    with pytest.raises(ValueError, match=r"^these settings need new data or weights: build a new Run$"):
        run.change(run.config.with_changes(seed=1))


def test_the_held_out_points_have_one_workspace_and_view_shows_their_figures():
    config = Config(test_share=0.2, iterations=500)
    run = Run(config)
    run.step(300)
    run.test_result()
    ws = run._test_ws
    run.step(1)
    snap = run.snapshot()
    assert run.test_result() == (snap.history.test_loss[-1], snap.test_accuracy)
    assert run._test_ws is ws  # built once per run, not at every recorded step
    at = straight(config, [], 123).snapshot()
    view = run.view(123)
    assert (view.test_loss, view.test_accuracy) == (at.test_loss, at.test_accuracy)
    assert view.history.test_loss[-1] == at.test_loss and view.history.test_accuracy[-1] == at.test_accuracy
    np.testing.assert_array_equal(view.history.iteration, at.history.iteration)
    np.testing.assert_array_equal(view.history.loss, at.history.loss)
    run.change(run.config.with_changes(step_size=0.5))
    assert run.view(200).log == tuple(run.log) == (Change(301, {"step_size": 0.5}),)


def test_the_stop_reason_follows_the_iteration_cap_both_ways():
    run = Run(Config(iterations=10))
    run.step(50)
    assert run.iteration == 10 and run.stop_reason == "reached the 10-iteration limit"
    run.change(run.config.with_changes(iterations=20))
    assert run.stop_reason is None and not run.finished
    run.step(50)
    run.change(run.config.with_changes(step_size=0.5))  # at the cap itself: still stopped there
    assert run.iteration == 20 and run.stop_reason == "reached the 20-iteration limit" and run.finished
    run.change(run.config.with_changes(iterations=15))
    assert run.stop_reason == "reached the 15-iteration limit"
    blown = Run(Config(step_size=1e6, iterations=1000))
    blown.step(1000)
    assert blown.diverged and blown.stop_reason.startswith("diverged")
    blown.change(blown.config.with_changes(iterations=2000))
    assert blown.stop_reason.startswith("diverged") and blown.finished


def test_a_view_says_whether_the_run_is_running():
    run = Run(Config(iterations=100))
    run.step(20)
    for iteration in (5, 20):
        assert run.view(iteration, running=True).running is True
        assert run.view(iteration).running is False


def test_a_view_past_a_lowered_cap_replays_to_where_the_run_had_been():
    run = Run(Config(iterations=100))
    run.step(100)
    run.change(run.config.with_changes(iterations=50))
    snap = run.view(80)
    assert snap.iteration == 80
    np.testing.assert_array_equal(snap.theta, straight(Config(iterations=100), [], 80).theta)


def test_a_view_applies_a_change_made_at_the_checkpoint_it_starts_from():
    """Checkpoints are taken before the changes of their iteration; a view that starts from one must make them."""
    config = Config(iterations=100_000)
    run = straight(config, [(2000, {"step_size": 0.25})], 4000)
    assert run._spacing > 1 and any(c.iteration == 2000 for c in run.checkpoints)
    snap = run.view(2003)
    assert snap.config.step_size == 0.25
    np.testing.assert_array_equal(snap.theta, straight(config, [(2000, {"step_size": 0.25})], 2003).theta)


def test_rewinding_to_a_changes_iteration_keeps_the_change_once():
    config = Config(iterations=1000)
    run = straight(config, [(10, {"step_size": 0.5})], 40)
    run.rewind(10)
    assert run.iteration == 10 and run.config.step_size == 0.5
    assert run.log == [Change(10, {"step_size": 0.5})]
    run.step(5)
    np.testing.assert_array_equal(run.theta, straight(config, [(10, {"step_size": 0.5})], 15).theta)


def test_rewinding_to_zero_starts_over_and_the_start_can_still_be_viewed():
    run = Run(Config(iterations=1000))
    start = run.theta.copy()
    run.step(30)
    run.rewind(0)
    assert run.iteration == 0 and run.log == []
    np.testing.assert_array_equal(run.theta, start)
    run.step(7)
    np.testing.assert_array_equal(run.view(0).theta, start)
    np.testing.assert_array_equal(run.view(3).theta, straight(Config(iterations=1000), [], 3).theta)


def test_an_edit_and_a_change_at_one_iteration_are_one_logged_change_and_a_rewind_keeps_it_once():
    from softmax.points import add

    config = Config(iterations=1000)
    run = Run(config)
    run.step(10)
    run.edit(add(0.9, -0.9, 2))
    run.change(run.config.with_changes(step_size=0.5))
    assert run.log == [Change(10, {"step_size": 0.5}, (add(0.9, -0.9, 2),))]
    run.step(20)
    after = run.theta.copy()
    assert run.view(5).N == 300 and run.view(15).N == 301  # a view re-selects the points of its iteration
    run.rewind(10)
    assert run.log == [Change(10, {"step_size": 0.5}, (add(0.9, -0.9, 2),))] and len(run.y) == 301
    run.step(20)
    np.testing.assert_array_equal(run.theta, after)
    again = replay(config, run.log, 30)
    assert len(again.y) == 301
    np.testing.assert_array_equal(again.theta, after)


def test_views_after_two_rewinds_never_use_states_of_an_abandoned_timeline():
    """A view keeps states its replays passed; each rewind starts a new timeline whose states differ."""
    config = Config(iterations=100_000)
    run = straight(config, [], 3000)
    for k, step in enumerate((0.5, 0.25, 0.125)):
        run.rewind(2000 - 100 * k)
        run.change(run.config.with_changes(step_size=step))
        run.step(3000 - run.iteration)
        for target in (2500, 2501, 2999):
            expected = replay(config, run.log, target)
            np.testing.assert_array_equal(run.view(target).theta, expected.theta)


def test_a_slider_dragged_one_iteration_at_a_time_replays_one_step_each():
    """The states a view's replay passed are kept at every iteration when the checkpoints are 8 apart or
    closer, so each move of one iteration replays one step, and going back to a kept state replays none."""
    run = straight(Config(iterations=100_000), [], 3000)
    assert 1 < run._spacing <= 8
    run.view(2001)
    s = run._scratch
    steps = []
    s._step = lambda real=s._step: (steps.append(1), real())[1]
    for target, most in ((2002, 1), (2003, 1), (2001, 0), (2002, 0)):
        steps.clear()
        np.testing.assert_array_equal(run.view(target).theta, replay(run.config, [], target).theta)
        assert len(steps) == most, target
    run.rewind(2500)  # a new timeline: its states are dropped once, then kept again
    run.step(500)
    for target, most in ((2001, 1), (2002, 1), (2001, 0)):
        steps.clear()
        np.testing.assert_array_equal(run.view(target).theta, replay(run.config, [], target).theta)
        assert len(steps) == most, target


def test_a_runs_clone_has_weights_of_its_own():
    """``view`` replays on a clone: its params view its own theta, so the replay never moves the run's."""
    run = Run(Config(iterations=100))
    run.step(10)
    before = run.theta.copy()
    clone = run._clone()
    clone.step(5)
    np.testing.assert_array_equal(run.theta, before)
    assert np.shares_memory(clone.params["W"], clone.theta) and not np.shares_memory(clone.params["W"], run.theta)
    np.testing.assert_array_equal(clone.params["b"].ravel(), clone.theta[-3:])


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_one_examples_path_is_the_notes_formulas_at_each_kept_iteration(loss):
    """The "follow one point" chart: at every checkpoint where the point was the same, and now, its loss
    (-log p_y, or the hinge sum), its row of dscores (divided by the whole set's N) and p_y, from the weights
    of a run trained straight there. A moved or added point's path starts at the first iteration after the edit."""
    from softmax.points import add, move

    config = Config(loss=loss, iterations=1000)
    run = Run(config)
    run.step(12)
    run.edit(move(17, 0.3, -0.2))
    run.edit(add(0.5, 0.5, 1))
    run.step(3)
    weights, twin = {}, Run(config)
    for t in range(16):
        if t == 12:
            twin.edit(move(17, 0.3, -0.2))
            twin.edit(add(0.5, 0.5, 1))
        weights[t] = (twin.params["W"].copy(), twin.params["b"].copy())
        twin.step()
    N = 301
    for index in (5, 17, 300):
        path = run.trajectory(index)
        # the checkpoint of iteration 12 was taken before the edits: a moved or added point starts at 13
        iterations = list(range(16)) if index == 5 else [13, 14, 15]
        assert path["iteration"].tolist() == iterations, index
        x, label = run.X[index], run.y[index]
        for row, t in enumerate(iterations):
            W, b = weights[t]
            scores = x @ W + b.ravel()
            if loss == "softmax":
                p = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
                expected_loss, dscores = -np.log(p[label]), p - np.eye(3)[label]
                assert path["p_y"][row] == pytest.approx(p[label], rel=1e-12)
            else:
                margins = np.maximum(0, scores - scores[label] + 1)
                margins[label] = 0
                expected_loss = margins.sum()
                dscores = (margins > 0).astype(float)
                dscores[label] = -dscores.sum()
            assert path["loss"][row] == pytest.approx(expected_loss, rel=1e-12, abs=1e-15), (index, t)
            np.testing.assert_allclose(path["dscores"][row], dscores / N, rtol=1e-11, atol=1e-17)
        assert ("p_y" in path) == (loss == "softmax")


def test_a_snapshot_carries_the_runs_own_data_settings_log_and_end():
    """What the page reads from a snapshot besides the numbers: the settings it started with, the points in their
    own units and the transform to the model's inputs, the held-out points, the log, the loss at the start, and
    whether and why the run stopped (a snapshot is not running unless the caller says so)."""
    far = np.array([[120.0, 3.5], [80.0, 2.0], [150.25, 7.0], [95.0, 1.0], [130.0, 6.5], [99.0, 4.5]])
    labels = np.array([1, 0, 1, 0, 1, 0])
    config = Config(dataset="own", classes=2, test_share=0.34, iterations=12)
    run = Run(config, (far, labels))
    start = run.snapshot()
    run.step(5)
    run.change(run.config.with_changes(step_size=0.5))
    snap = run.snapshot()
    assert (start.running, snap.running, run.snapshot(True).running) == (False, False, True)
    assert snap.start_config == config and snap.config == config.with_changes(step_size=0.5)
    assert snap.log == (Change(5, {"step_size": 0.5}, ()),)
    assert snap.initial_loss == start.loss and snap.loss != start.loss
    test = np.isin(np.arange(6), np.flatnonzero(~np.isin(far[:, 0], snap.points[:, 0])))
    np.testing.assert_array_equal(snap.test_points, far[test])
    np.testing.assert_array_equal(snap.y_test, labels[test])
    assert len(snap.test_points) == 2 and len(snap.points) == 4
    np.testing.assert_array_equal(snap.points, far[~test])
    center, scale = far.mean(axis=0), far.std(axis=0)  # the run standardizes all its points, held-out ones too
    np.testing.assert_allclose(snap.transform(far), (far - center) / scale, rtol=1e-12)
    np.testing.assert_allclose(snap.X_test, (far[test] - center) / scale, rtol=1e-12)
    assert (snap.diverged, snap.stop_reason) == (False, None)
    run.step(100)
    assert run.snapshot().stop_reason == "reached the 12-iteration limit"
    blown = Run(Config(step_size=1e6))
    blown.step(50)
    snap = blown.snapshot()
    assert snap.diverged is True and snap.stop_reason.startswith("diverged: the loss ")


def test_the_held_out_curve_ends_with_the_shown_iterations_own_figures_between_kept_rows():
    """Past 1024 iterations the history keeps every other row; the iteration on show (now, or viewed) still ends
    the held-out curve with its own test loss and accuracy, not a gap."""
    run = Run(Config(test_share=0.2, iterations=2000))
    run.step(1101)
    for snap in (run.snapshot(), run.view(1001)):
        assert snap.history.iteration[-1] == snap.iteration and snap.iteration % 2 == 1
        assert (snap.history.test_loss[-1], snap.history.test_accuracy[-1]) == (snap.test_loss, snap.test_accuracy)
        assert math.isfinite(snap.test_loss)


def test_a_minibatch_run_on_an_empty_plane_steps_and_gets_its_first_points():
    """Own points start from an empty plane: a minibatch run must take steps (with nothing to draw from) until a
    student adds points."""
    from softmax.points import add

    run = Run(Config(dataset="own", batch_size=16, iterations=50))
    assert run.step(3) == 3
    run.edit(add(0.5, 0.5, 1))
    assert run.step(3) == 3 and len(run.y) == 1


def test_the_next_weights_with_a_batch_of_one_are_where_the_next_step_goes():
    """The Explain tab's "next W": with minibatches of one example, the weights after the next update exactly
    (the peek draws the same example the step then draws)."""
    run = Run(Config(batch_size=1, iterations=100))
    run.step(4)
    shown = run.snapshot().next_params
    run.step()
    for name in ("W", "b"):
        np.testing.assert_array_equal(shown[name], run.params[name])


def test_checkpoints_over_the_byte_cap_thin_out_keeping_iteration_0_and_every_iteration_stays_exact(monkeypatch):
    """The byte cap bounds a page's memory; at the cap exactly, nothing is dropped; over it every other checkpoint
    goes, down to iteration 0's alone when one is all that fits, and views still replay exactly."""
    import softmax.run as run_module

    monkeypatch.setattr(run_module, "REPLAY_SECONDS", 0.0)  # a checkpoint at every iteration
    config = Config(iterations=100)
    one = run_module.checkpoint_bytes(Run(config).checkpoint())
    monkeypatch.setattr(run_module, "CHECKPOINT_MAX_BYTES", 3 * one)
    run = Run(config)
    run.step(2)
    assert [c.iteration for c in run.checkpoints] == [0, 1, 2]
    run.step(1)
    assert [c.iteration for c in run.checkpoints] == [0, 2]
    run.step(3)
    assert [c.iteration for c in run.checkpoints] == [0, 4]
    monkeypatch.setattr(run_module, "CHECKPOINT_MAX_BYTES", one // 2)
    small = Run(config)
    small.step(9)
    assert [c.iteration for c in small.checkpoints] == [0]
    for t in (3, 8):
        np.testing.assert_array_equal(small.view(t).theta, straight(config, [], t).theta)


def test_two_edits_and_two_rewinds_bring_back_the_points_of_the_iteration_rewound_to():
    """Rewinding past an edit puts the old points back, and a later rewind after a second edit does so again."""
    from softmax.points import add

    config = Config(iterations=1000)
    run = Run(config)
    run.step(10)
    run.edit(add(0.9, -0.9, 2))
    run.step(10)
    run.rewind(5)
    assert len(run.y) == 300
    run.step(20)
    run.edit(add(-0.9, 0.9, 1))
    run.step(5)
    run.rewind(15)
    assert len(run.y) == 300 and run.log == []
    np.testing.assert_array_equal(run.theta, straight(config, [], 15).theta)
    run.step(5)
    np.testing.assert_array_equal(run.theta, straight(config, [], 20).theta)


def test_a_replay_of_a_students_own_points_trains_on_those_points():
    from softmax.points import add

    points = (np.array([[0.2, 0.1], [-0.4, 0.6], [0.7, -0.3]]), np.array([0, 1, 1]))
    config = Config(dataset="own", classes=2, iterations=100)
    log = [Change(4, {}, (add(0.1, 0.1, 0),))]
    again = replay(config, log, 9, points)
    run = Run(config, points)
    run.step(4)
    run.edit(add(0.1, 0.1, 0))
    run.step(5)
    assert len(again.y) == 4
    np.testing.assert_array_equal(again.theta, run.theta)


def test_own_points_of_the_wrong_shape_are_refused_and_an_empty_plane_takes_its_first_point():
    """A table of three columns used to be read two numbers at a time, as other points; now it is refused. No points
    at all is an empty plane of (0, 2) points, which trains once a point is added."""
    from softmax.points import add

    with pytest.raises(ValueError) as refused:
        Run(Config(dataset="own"), (np.ones((4, 3)), np.zeros(4, dtype=np.int64)))
    assert str(refused.value) == "points must have shape (N, 2), got shape (4, 3)"
    for empty in (None, ([], []), (np.zeros((0, 2)), np.zeros(0))):
        run = Run(Config(dataset="own", classes=2, iterations=10), empty)
        assert run.points.shape == (0, 2) and run.points.dtype == np.float64 and run.y.dtype == np.int64
        run.edit(add(0.5, -0.5, 1))
        assert run.step(2) == 2 and run.X.shape == (1, 2)


@pytest.mark.parametrize("model", ["linear", "two-layer"])
@pytest.mark.parametrize("huge", [1e300, np.inf])
def test_a_run_whose_weights_overflow_stops_without_a_numpy_warning(monkeypatch, model, huge):
    """No setting gets there (the blow-up bound stops a run first), but an update that overflowed the weights
    (their squares, the scores) must be undone with "diverged" and no word from numpy, as the step promises."""
    real = Run._gradient_for_update

    def overflow_at_5(self):  # a gradient that sends every weight to +huge (sgd: theta -= step_size * grad)
        grad = real(self)
        return np.full_like(grad, -huge / self.config.step_size) if self.iteration == 5 else grad

    monkeypatch.setattr(Run, "_gradient_for_update", overflow_at_5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = Run(Config(model=model, hidden=10, reg=0.5, iterations=100))
        run.step(100)
        snap = run.snapshot()
    assert snap.stop_reason == "diverged: the loss became infinite" and snap.iteration == 5
    assert math.isfinite(snap.loss)


def test_make_model_defaults_to_the_case_studys_linear_softmax_and_names_a_bad_loss():
    from softmax.models import LinearModel, make_model

    model = make_model()
    assert isinstance(model, LinearModel) and model.loss == "softmax"
    net = make_model("two-layer")
    assert (net.H, net.loss) == (100, "softmax")
    assert _refusal(make_model, "linear", "hinge") == "loss must be one of softmax, svm, got 'hinge'"


def test_a_test_share_of_one_point_holds_out_that_point():
    """30 points at a share of 0.04: 1.2 rounds to one held-out point (not none)."""
    run = Run(Config(points_per_class=10, test_share=0.04))
    assert (len(run.y_test), len(run.y)) == (1, 29)


def test_rewinding_to_the_iteration_a_run_diverged_at_keeps_it_diverged(monkeypatch):
    import softmax.run as run_module

    monkeypatch.setattr(run_module, "REPLAY_SECONDS", 0.0)  # a checkpoint at every iteration
    run = Run(Config(step_size=1e6, iterations=100))
    run.step(100)
    stopped, reason = run.iteration, run.stop_reason
    assert run.diverged and stopped < 100
    run.rewind(stopped)
    assert (run.diverged, run.stop_reason, run.step(5)) == (True, reason, 0)


def test_make_model_refuses_a_bad_width_or_name_and_takes_a_net_of_one_unit():
    from softmax.models import make_model

    for hidden in (0, 2.5, True, "100"):
        assert _refusal(make_model, "two-layer", hidden=hidden) == f"hidden must be a whole number >= 1, got {hidden!r}"
    assert make_model("two-layer", hidden=1).H == 1 and make_model("two-layer", hidden=np.int64(3)).H == 3
    assert _refusal(make_model, "tree") == "model must be one of linear, two-layer, got 'tree'"


def test_own_points_are_checked_once_when_the_run_is_built():
    """Coordinates up to 1e12 are taken (the page's bound), labels must be classes of the run; each refusal
    names what is wrong."""
    from softmax.points import MAX_COORDINATE

    y = np.array([0, 1])
    config = Config(dataset="own", classes=2)
    assert Run(config, (np.array([[MAX_COORDINATE, 0.0], [0.0, -MAX_COORDINATE]]), y)).points.max() == MAX_COORDINATE
    assert _refusal(Run, config, (np.array([[2e12, 0.0], [0.0, 1.0]]), y)) == "points must lie within ±1e+12, got 2e+12"
    assert _refusal(Run, config, (np.zeros((2, 2)), np.array([0, 3]))) == "y must hold labels 0..1 (K = 2), got 3"


def test_a_new_run_has_no_stop_reason_and_held_out_curves_exactly_when_it_holds_points_out():
    run = Run(Config(iterations=10))
    assert run.stop_reason is None and run.snapshot().history.test_loss is None
    one = Run(Config(points_per_class=10, test_share=0.04)).snapshot()  # one held-out point
    assert len(one.y_test) == 1 and len(one.history.test_loss) == 1 and math.isfinite(one.history.test_loss[0])
