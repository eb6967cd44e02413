"""The softmax loss, its gradient parts, and the CS231n case-study numbers."""

import math
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

from softmax.config import Config
from softmax.data import make_dataset
from softmax.model import Workspace, accuracy, init_params, loss_and_grads, predict_proba, softmax_loss
from softmax.seed import cs231n_loop
from softmax.trainer import Trainer


def cs231n_problem(seed=0, n=100, k=3):
    rng = np.random.RandomState(seed)
    X, y = make_dataset("spiral", n, k, 0.2, rng)
    return X, y, init_params(rng, 2, k)


def test_notes_numbers_to_the_last_printed_digit():
    X, y, p = cs231n_problem()
    printed = []
    W, b, _ = cs231n_loop(X, y, p["W"], p["b"], log=lambda i, loss: printed.append("iteration %d: loss %f" % (i, loss)))
    assert printed[-1] == "iteration 190: loss 0.786302"
    assert abs(loss_and_grads(p, X, y, 1e-3)[0] - math.log(3)) < 0.01
    assert round(accuracy({"W": W, "b": b[0]}, X, y), 2) == 0.49


def test_loss_parts_add_up_and_match_the_definitions():
    X, y, p = cs231n_problem(seed=3, n=30, k=4)
    p = {"W": np.random.RandomState(1).randn(2, 4), "b": np.array([0.3, -0.2, 0.1, 0.0])}
    reg = 0.05
    loss, grads, parts = loss_and_grads(p, X, y, reg)
    N = len(y)
    scores = X @ p["W"] + p["b"]
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(parts.scores, scores, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(parts.probs, probs, rtol=1e-12)
    assert parts.data_loss == pytest.approx(-np.mean(np.log(probs[np.arange(N), y])), rel=1e-13)
    assert parts.reg_loss == pytest.approx(0.5 * reg * np.sum(p["W"] ** 2), rel=1e-14)
    assert loss == parts.data_loss + parts.reg_loss
    np.testing.assert_allclose(parts.dscores, (probs - onehot) / N, atol=1e-16)
    np.testing.assert_allclose(parts.dW_data, X.T @ parts.dscores, atol=1e-16)
    np.testing.assert_allclose(parts.dW_reg, reg * p["W"], rtol=1e-15)
    np.testing.assert_array_equal(grads["W"], parts.dW_data + parts.dW_reg)
    np.testing.assert_allclose(grads["b"], parts.dscores.sum(axis=0), atol=1e-16)
    assert parts.accuracy == accuracy(p, X, y)
    l2, dW, db = softmax_loss(p["W"], p["b"], X, y, reg)
    assert l2 == loss and np.array_equal(dW, grads["W"]) and np.array_equal(db, grads["b"])


def test_huge_scores_stay_finite_without_warnings():
    X, y, p = cs231n_problem(n=20)
    W = p["W"] * 1e12  # scores of order 1e10: naive exp() overflows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grads, parts = loss_and_grads({"W": W, "b": p["b"]}, X, y, 0.0)
        probs = predict_proba({"W": W, "b": p["b"]}, X)
    assert math.isfinite(loss) and loss > 1e6
    assert np.isfinite(parts.probs).all() and np.isfinite(grads["W"]).all() and np.isfinite(probs).all()


def test_workspace_reuses_buffers_but_returns_correct_values_each_pass():
    X, y, p = cs231n_problem(n=10)
    ws = Workspace(X, y, 3)
    theta = np.vstack([p["W"], p["b"]])
    first = ws.run(theta, 1e-3).loss
    second = ws.run(theta * 2, 1e-3).loss
    assert first == loss_and_grads(p, X, y, 1e-3)[0]
    assert second == loss_and_grads({"W": p["W"] * 2, "b": p["b"] * 2}, X, y, 1e-3)[0]


def test_trainer_matches_a_verbatim_transcription_of_the_seed_loop():
    X, y, p = cs231n_problem()
    W, b, loss = cs231n_loop(X, y, p["W"], p["b"], iterations=200)
    trainer = Trainer(Config())
    np.testing.assert_array_equal(trainer.snapshot.W, p["W"])  # same stream, same initial weights
    snap = trainer.step(200)
    assert snap.iteration == 200
    np.testing.assert_allclose(snap.W, W, atol=1e-10, rtol=0)
    np.testing.assert_allclose(snap.b, b[0], atol=1e-10, rtol=0)
    # the seed's `loss` is at the weights before its last update: iteration 199
    assert abs(snap.history.loss[-2] - loss) < 1e-10
    assert snap.history.iteration[-2] == 199


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_other_seeds_end_between_0_73_and_0_79(seed):
    snap = Trainer(Config(seed=seed)).run_to_end()
    assert 0.73 <= snap.loss <= 0.79


@pytest.mark.parametrize("dataset,reg", [("spiral", 1e-3), ("blobs", 0.1), ("circles", 1e-2)])
def test_gradient_descent_reaches_the_lbfgs_optimum(dataset, reg):
    """An independent solver (scipy's L-BFGS) on the same objective agrees to 1e-6."""
    cfg = Config(dataset=dataset, reg=reg, iterations=100_000, step_size=1.0)
    trainer = Trainer(cfg)
    X, y = trainer.snapshot.X, trainer.snapshot.y
    D, K = X.shape[1], cfg.classes

    def objective(flat):
        params = {"W": flat[: D * K].reshape(D, K), "b": flat[D * K :]}
        loss, grads, _ = loss_and_grads(params, X, y, reg)
        return loss, np.concatenate([grads["W"].ravel(), grads["b"]])

    best = minimize(objective, np.zeros(D * K + K), jac=True, method="L-BFGS-B",
                    options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000})
    previous = math.inf
    snap = trainer.snapshot
    while not trainer.finished and previous - snap.loss > 1e-13:
        previous = snap.loss
        snap = trainer.step(1000)
    assert abs(snap.loss - best.fun) < 1e-6
