"""The models and losses against independent oracles: the notes' published numbers, the notes' loops
run verbatim, the definitions written out per example, and scipy's optimum."""

import math
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

from softmax import Config, Run, softmax_loss, svm_loss, two_layer_loss
from softmax.data import make_dataset
from softmax.models import LinearModel, TwoLayerModel, make_model
from softmax.notes import run_notes

# The CS231n notes' printed output, both halves (cs231n.github.io/neural-networks-case-study).
PUBLISHED_LINEAR = """\
iteration 0: loss 1.096956
iteration 10: loss 0.917265
iteration 20: loss 0.851503
iteration 30: loss 0.822336
iteration 40: loss 0.807586
iteration 50: loss 0.799448
iteration 60: loss 0.794681
iteration 70: loss 0.791764
iteration 80: loss 0.789920
iteration 90: loss 0.788726
iteration 100: loss 0.787938
iteration 110: loss 0.787409
iteration 120: loss 0.787049
iteration 130: loss 0.786803
iteration 140: loss 0.786633
iteration 150: loss 0.786514
iteration 160: loss 0.786431
iteration 170: loss 0.786373
iteration 180: loss 0.786331
iteration 190: loss 0.786302"""
PUBLISHED_NET = {0: 1.098744, 1000: 0.294946, 2000: 0.259301, 3000: 0.248310, 4000: 0.246170, 5000: 0.245649,
                 6000: 0.245491, 7000: 0.245400, 8000: 0.245335, 9000: 0.245292}


def notes_stream(seed=0, n=100, k=3):
    """The notes' one random stream, positioned after the data: (X, y, rng)."""
    rng = np.random.RandomState(seed)
    X, y = make_dataset("spiral", n, k, 0.2, rng)
    return X, y, rng


def test_the_linear_run_prints_the_notes_twenty_lines_digit_for_digit():
    run = Run(Config())
    printed = []
    while not run.finished:
        if run.iteration % 10 == 0:
            printed.append("iteration %d: loss %f" % (run.iteration, run.result.loss))
        run.step()
    assert "\n".join(printed) == PUBLISHED_LINEAR
    assert "%.2f" % run.result.accuracy == "0.49"


def test_the_notes_stream_draws_w_four_times_and_a_plain_seed_once():
    X, y, rng = notes_stream()
    draws = [0.01 * rng.randn(2, 3) for _ in range(4)]
    np.testing.assert_array_equal(Run(Config()).params["W"], draws[3])
    np.testing.assert_array_equal(Run(Config(init="plain")).params["W"], draws[0])
    assert "%f" % Run(Config(init="plain")).result.loss == "1.096919"  # what seed 0 gave before


@pytest.mark.slow
def test_the_net_prints_the_notes_lines_within_5e_6_and_98_percent():
    run = Run(Config(model="two-layer", iterations=10_000))
    losses = {}
    while not run.finished:
        if run.iteration % 1000 == 0:
            losses[run.iteration] = run.result.loss
        run.step()
    assert sorted(losses) == sorted(PUBLISHED_NET)
    for i, published in PUBLISHED_NET.items():
        assert abs(float("%f" % losses[i]) - published) <= 5e-6, (i, losses[i], published)
    assert "%.2f" % run.result.accuracy == "0.98"


def test_the_linear_trainer_equals_the_notes_loop_run_verbatim():
    X, y, rng = notes_stream()
    for _ in range(3):
        rng.randn(2, 3)
    notes = run_notes("linear", X, y, rng)  # draws the fourth W itself, as the notes do
    run = Run(Config())
    run.step(200)
    np.testing.assert_allclose(run.params["W"], notes["W"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(run.params["b"], notes["b"][0], rtol=0, atol=1e-10)
    assert notes["printed"][:20] == PUBLISHED_LINEAR.split("\n")
    assert notes["printed"][20] == "training accuracy: 0.49"


def test_the_net_trainer_equals_the_notes_net_loop_run_verbatim():
    """Every iteration of the first 300 to 1e-10 in every parameter. Further on, both runs keep agreeing
    with the notes' printed lines (previous test), but not with each other to 1e-10: rounding differences
    of 1e-16 (summation order, the stable softmax) grow by about 1 % an iteration at step size 1, which is
    also why the notes' own numbers differ from today's numpy in the sixth decimal. The next test shows
    each step is the notes' step to rounding, anywhere along the run."""
    X, y, rng = notes_stream()
    for _ in range(4):
        rng.randn(2, 3)
    notes = run_notes("two-layer", X, y, rng, iterations=300)
    run = Run(Config(model="two-layer", iterations=300))
    run.step(300)
    for ours, theirs in (("W1", "W"), ("b1", "b"), ("W2", "W2"), ("b2", "b2")):
        np.testing.assert_allclose(run.params[ours], np.squeeze(notes[theirs], axis=0) if theirs[0] == "b"
                                   else notes[theirs], rtol=0, atol=1e-10)


@pytest.mark.parametrize("at", [0, 2500, 7000])
def test_a_net_step_from_any_state_is_the_notes_step(at):
    run = Run(Config(model="two-layer", iterations=10_000))
    run.step(at)
    p = {name: a.copy() for name, a in run.params.items()}
    X, y = run.X, run.y
    notes = run_notes_one_step(X, y, p)
    run.step()
    for name in p:
        np.testing.assert_allclose(run.params[name], notes[name], rtol=1e-12, atol=1e-15)


def run_notes_one_step(X, y, p, step_size=1.0, reg=1e-3):
    """The notes' net loop body, once, on given weights (transcribed from softmax.notes.NET)."""
    num_examples = X.shape[0]
    W, b, W2, b2 = p["W1"].copy(), p["b1"][None].copy(), p["W2"].copy(), p["b2"][None].copy()
    hidden_layer = np.maximum(0, np.dot(X, W) + b)
    scores = np.dot(hidden_layer, W2) + b2
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    dscores = probs
    dscores[range(num_examples), y] -= 1
    dscores /= num_examples
    dW2 = np.dot(hidden_layer.T, dscores)
    db2 = np.sum(dscores, axis=0, keepdims=True)
    dhidden = np.dot(dscores, W2.T)
    dhidden[hidden_layer <= 0] = 0
    dW = np.dot(X.T, dhidden)
    db = np.sum(dhidden, axis=0, keepdims=True)
    dW2 += reg * W2
    dW += reg * W
    return {"W1": W - step_size * dW, "b1": (b - step_size * db)[0], "W2": W2 - step_size * dW2,
            "b2": (b2 - step_size * db2)[0]}


def random_problem(seed=3, N=30, D=2, K=4):
    rng = np.random.RandomState(seed)
    return rng.randn(N, D), rng.randint(K, size=N), rng.randn(D, K), rng.randn(K)


def test_softmax_matches_its_definition_per_example():
    X, y, W, b = random_problem()
    reg = 0.05
    loss, dW, db = softmax_loss(W, b, X, y, reg)
    N, K = len(y), W.shape[1]
    expected_loss, expected_dW, expected_db = 0.0, reg * W, np.zeros(K)
    for i in range(N):  # per example, straight from the definition
        s = X[i] @ W + b
        p = np.exp(s) / np.exp(s).sum()
        expected_loss += -math.log(p[y[i]]) / N
        g = p.copy()
        g[y[i]] -= 1
        expected_dW += np.outer(X[i], g) / N
        expected_db += g / N
    expected_loss += 0.5 * reg * np.sum(W * W)
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    np.testing.assert_allclose(dW, expected_dW, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, expected_db, rtol=1e-12, atol=1e-15)


def naive_svm(W, b, X, y, reg, delta=1.0):
    """CS231n's svm_loss_naive: loops over examples and classes."""
    dW, db, loss = np.zeros_like(W), np.zeros_like(b), 0.0
    N, K = X.shape[0], W.shape[1]
    for i in range(N):
        scores = X[i] @ W + b
        for j in range(K):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + delta
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
                db[j] += 1
                db[y[i]] -= 1
    return loss / N + 0.5 * reg * np.sum(W * W), dW / N + reg * W, db / N


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("delta", [1.0, 0.5])
def test_svm_matches_the_naive_loop(seed, delta):
    X, y, W, b = random_problem(seed, N=40, D=3, K=5)
    loss, dW, db = svm_loss(W, b, X, y, 0.1, delta)
    l2, dW2, db2 = naive_svm(W, b, X, y, 0.1, delta)
    assert loss == pytest.approx(l2, rel=1e-13)
    np.testing.assert_allclose(dW, dW2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, db2, rtol=1e-12, atol=1e-15)


def test_svm_counts_a_margin_of_exactly_zero_as_inactive():
    X = np.array([[1.0, 0.0]])
    W = np.array([[0.0, -1.0], [0.0, 0.0]])  # scores (0, -1): the margin of class 1 is -1 - 0 + 1 = 0
    loss, dW, db = svm_loss(W, np.zeros(2), X, np.array([0]), 0.0)
    assert loss == 0.0 and not dW.any() and not db.any()


def test_two_layer_matches_the_notes_formulas():
    rng = np.random.RandomState(5)
    X, y = rng.randn(20, 2), rng.randint(3, size=20)
    p = {"W1": rng.randn(2, 7), "b1": rng.randn(7), "W2": rng.randn(7, 3), "b2": rng.randn(3)}
    loss, grads = two_layer_loss(p, X, y, 0.01)
    nxt = run_notes_one_step(X, y, p, step_size=1.0, reg=0.01)
    for name in p:  # the notes' step is w - dw: so dw = w - next
        np.testing.assert_allclose(grads[name], p[name] - nxt[name], rtol=1e-10, atol=1e-13)
    hidden = np.maximum(0, X @ p["W1"] + p["b1"])
    s = hidden @ p["W2"] + p["b2"]
    expected = -np.mean(s[range(20), y] - np.log(np.exp(s).sum(axis=1)))
    expected += 0.5 * 0.01 * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
    assert loss == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("loss_name", ["softmax", "svm"])
def test_the_optimum_agrees_with_scipy(loss_name):
    X, y, _ = notes_stream(n=30)
    fn = softmax_loss if loss_name == "softmax" else svm_loss

    def f(theta):
        loss, dW, db = fn(theta[:6].reshape(2, 3), theta[6:], X, y, 0.1)
        return loss, np.concatenate([dW.ravel(), db])

    res = minimize(f, np.zeros(9), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    run = Run(Config(points_per_class=30, reg=0.1, loss=loss_name, iterations=20_000,
                     step_size=1.0 if loss_name == "softmax" else 0.05))
    run.step(20_000)
    if loss_name == "softmax":  # smooth: gradient descent reaches the optimum itself
        theta = np.concatenate([run.params["W"].ravel(), run.params["b"]])
        np.testing.assert_allclose(theta, res.x, atol=1e-6)
    assert run.result.loss == pytest.approx(res.fun, abs=1e-6 if loss_name == "softmax" else 5e-3)


def test_huge_scores_stay_finite_without_warnings():
    X, y, W, b = random_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dW, db = softmax_loss(W * 1e12, b, X, y, 0.0)  # scores of order 1e12: a naive exp() overflows
        probs = LinearModel().probabilities(np.concatenate([(W * 1e12).ravel(), b]), X)
    assert math.isfinite(loss) and loss > 1e6
    assert np.isfinite(dW).all() and np.isfinite(db).all() and np.isfinite(probs).all()


@pytest.mark.parametrize("call,match", [
    (lambda X, y, W, b: softmax_loss(W, b, X, y[:, None], 0.1), r"y must have shape \(30,\)"),
    (lambda X, y, W, b: softmax_loss(W, b, X, np.where(y == 0, -1, y), 0.1), "y must hold labels 0..K-1, got -1"),
    (lambda X, y, W, b: softmax_loss(W, b, X, y + 4, 0.1), r"y must hold labels 0\.\.3"),
    (lambda X, y, W, b: softmax_loss(W, b, np.where(X > 1, np.nan, X), y, 0.1), "X must be finite"),
    (lambda X, y, W, b: softmax_loss(W, b, X[:, :1], y, 0.1), r"W must have shape \(1, 4\)"),
    (lambda X, y, W, b: softmax_loss(W, b[:3], X, y, 0.1), r"b must have shape \(4,\)"),
    (lambda X, y, W, b: softmax_loss(W * np.inf, b, X, y, 0.1), "W must be finite"),
    (lambda X, y, W, b: softmax_loss(W, b, X[:0], y[:0], 0.1), "at least one example"),
    (lambda X, y, W, b: softmax_loss(W, b, X, y.astype(float) + 0.5, 0.1), "whole-number"),
    (lambda X, y, W, b: softmax_loss(W, b, X, y, -1.0), "reg must be finite and >= 0"),
    (lambda X, y, W, b: svm_loss(W, b, X, y, 0.1, delta=np.nan), "delta"),
    (lambda X, y, W, b: two_layer_loss({"W1": W.T}, X, y, 0.1), r"W1 must have shape|X|W2"),
    (lambda X, y, W, b: two_layer_loss({"W1": np.ones((2, 5)), "b1": np.zeros(5), "W2": np.ones((5, 4))}, X, y, 0.1),
     "b2 is missing"),
])
def test_bad_input_is_a_value_error_that_names_the_argument(call, match):
    X, y, W, b = random_problem()
    with pytest.raises(ValueError, match=match):
        call(X, y, W, b)


def test_the_notes_bias_row_is_accepted():
    X, y, W, b = random_problem()
    assert softmax_loss(W, b[None, :], X, y, 0.1)[0] == softmax_loss(W, b, X, y, 0.1)[0]


@pytest.mark.parametrize("name,loss", [("linear", "softmax"), ("linear", "svm"), ("two-layer", "softmax"),
                                       ("two-layer", "svm")])
def test_a_workspace_gives_fresh_values_each_pass(name, loss):
    X, y, _ = notes_stream(n=10)
    model = make_model(name, loss, hidden=6)
    theta = model.init(np.random.RandomState(1), 2, 3)
    ws = model.workspace(X, y, 3)
    first = ws.run(theta, 1e-3).loss
    second = ws.run(theta * 2, 1e-3).loss
    assert first == model.workspace(X, y, 3).run(theta, 1e-3).loss
    assert second == model.workspace(X, y, 3).run(theta * 2, 1e-3).loss != first


def test_decision_regions_come_from_the_models_own_scores():
    X, y, _ = notes_stream(n=10)
    net = TwoLayerModel(8)
    theta = net.init(np.random.RandomState(2), 2, 3)
    ws = net.workspace(X, y, 3)
    ws.run(theta, 0.0)
    np.testing.assert_allclose(net.scores(theta, X).T, ws.parts["scores"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(net.hidden(theta, X).T, ws.parts["hidden"], rtol=1e-12, atol=1e-15)


def _net_pass_with_a_float_gate(X, y, theta, K, H, reg):
    """The net's pass as the workspace computed it before its thin products became matrix-vector products:
    the gate a float array from pre > 0, multiplied in (so inf or nan times an off unit's 0 is nan)."""
    D = X.shape[1]
    s1 = (D + 1) * H
    t1, t2 = theta[:s1].reshape(D + 1, H), theta[s1:].reshape(H + 1, K)
    pre = X @ t1[:D] + t1[D]
    hidden = np.maximum(pre, 0.0)
    scores = hidden @ t2[:H] + t2[H]
    with np.errstate(all="ignore"):
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        dscores = (probs - np.eye(K)[y]) / len(y)
        # the reg term is reg * (theta * mask): 0 on a finite bias, nan on an infinite one
        dW2, db2 = hidden.T @ dscores + reg * t2[:H], dscores.sum(axis=0) + reg * (t2[H] * 0.0)
        dhidden = (dscores @ t2[:H].T) * (pre > 0).astype(float)
        dW1, db1 = X.T @ dhidden + reg * t1[:D], dhidden.sum(axis=0) + reg * (t1[D] * 0.0)
    return np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2]), dhidden


@pytest.mark.parametrize("bad", [-np.inf, np.nan, np.inf])
@pytest.mark.parametrize("K", [3, 10])
def test_a_non_finite_pre_activation_gates_as_a_float_mask_did(bad, K):
    """A unit whose bias is -inf is off everywhere (its gradient 0, the loss finite); nan or +inf make the
    pass non-finite: the same entries nan as with the float gate of before, the finite ones equal."""
    rng = np.random.RandomState(3)
    X, y, H = rng.randn(40, 2), rng.randint(K, size=40), 7
    model = TwoLayerModel(hidden=H)
    theta = model.init(rng, 2, K, notes=False)
    theta[2 * H + 4] = bad  # b1[4]
    ws = model.workspace(X, y, K)
    with np.errstate(all="ignore"):
        result = ws.run(theta, 1e-3)
    expected, dhidden = _net_pass_with_a_float_gate(X, y, theta, K, H, 1e-3)
    np.testing.assert_array_equal(np.isnan(ws.grad), np.isnan(expected))
    np.testing.assert_allclose(ws.grad, expected, rtol=1e-12, atol=1e-15, equal_nan=True)
    np.testing.assert_allclose(ws.parts["dhidden"], dhidden, rtol=1e-12, atol=1e-15, equal_nan=True)
    assert math.isfinite(result.loss) == (bad == -np.inf)
    if bad == -np.inf:
        assert not ws.parts["hidden"][:, 4].any() and not ws.grads_data["b1"][4] and not ws.grads_data["W1"][:, 4].any()
