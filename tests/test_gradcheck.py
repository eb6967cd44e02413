"""The gradient check: right for a correct gradient at every iteration and setting, wrong for a wrong one."""

import math

import numpy as np
import pytest

from softmax import Config, Run, check_gradient, check_snapshot
from softmax.data import DATASETS, make_dataset
from softmax.gradcheck import BELOW, CHECKED, KINK, SKIPPED, relative_error, verdict
from softmax.models import make_model
from softmax.presets import PRESETS

MODELS = [("linear", "softmax"), ("linear", "svm"), ("two-layer", "softmax"), ("two-layer", "svm")]


def characteristic_point(model, k, reg, seed=0, n=6, hidden=5):
    """Data and weights of ordinary size (CS231n: check where the gradients are not tiny)."""
    rng = np.random.RandomState(seed)
    X, y = make_dataset("blobs", n, k, 0.5, rng)
    layout = model.layout(2, k)
    params = {name: rng.randn(*shape) for name, shape in layout.shapes}
    ws = model.workspace(X, y, k)
    ws.run(layout.flatten(params), reg)
    return X, y, params, {name: g.copy() for name, g in ws.grads.items()}


@pytest.mark.parametrize("name,loss", MODELS)
@pytest.mark.parametrize("k", [2, 3, 5, 10])
@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_every_entry_of_every_parameter_checks_good(name, loss, k, reg):
    model = make_model(name, loss, hidden=5)
    X, y, params, grads = characteristic_point(model, k, reg)
    check = check_gradient(model, params, X, y, reg, grads)
    assert check.count(SKIPPED) == 0  # every entry evaluated
    assert check.passed and check.verdict.startswith("good"), (check.max_rel_error, check.verdict)
    if loss == "softmax" and name == "linear":
        assert check.count(KINK) == 0  # a smooth loss has no kinks
    assert check.count(CHECKED) >= sum(g.size for g in grads.values()) // 2


def mistakes(snap):
    """The classic mistakes of the notes' backward pass, as the gradient they would display."""
    N = snap.N
    out = {"no /N": {n: snap.grads_data[n] * N + snap.grads_reg[n] for n in snap.grads},
           "no reg*W": dict(snap.grads_data)}
    if snap.model.name == "linear" and snap.config.loss == "softmax":
        probs = snap.parts["probs"]
        out["no -1 at the true class"] = {"W": snap.X.T @ probs / N + snap.grads_reg["W"], "b": probs.sum(axis=0) / N}
        D, K = snap.params["W"].shape  # X where X.T belongs: (dscores.T @ X) has shape (K, D), forced into (D, K)
        out["X in X.T's place"] = {"W": (snap.parts["dscores"].T @ snap.X).reshape(D, K) + snap.grads_reg["W"],
                                   "b": snap.grads["b"]}
    return out


SETUPS = [*(f"preset:{name}" for name in PRESETS), *(f"dataset:{name}" for name in DATASETS)]


@pytest.mark.slow
@pytest.mark.parametrize("setup", SETUPS)
def test_correct_reads_good_and_every_mistake_reads_wrong_along_the_run(setup):
    kind, name = setup.split(":")
    config = PRESETS[name].config if kind == "preset" else Config(dataset=name)
    run = Run(config.with_changes(iterations=5000))
    for at in (0, 1, 10, 200, 1000, 5000):
        run.step(at - run.iteration)  # a diverging preset stops early: it is checked where it stopped
        snap = run.snapshot()
        check = check_snapshot(snap)
        assert check.passed and check.verdict.startswith("good"), (setup, at, check.max_rel_error, check.verdict)
        for mistake, grads in mistakes(snap).items():
            wrong = check_gradient(snap.model, dict(snap.params), snap.X, snap.y, snap.reg, grads)
            assert not wrong.passed and not wrong.verdict.startswith("good"), (setup, at, mistake)


def test_a_converged_gradient_is_below_the_resolution_not_wrong():
    """?preset=heavy-reg at iteration 200: dW ~ 1e-17, centered differences are rounding noise."""
    run = Run(PRESETS["heavy-reg"].config)
    run.step(200)
    check = check_snapshot(run.snapshot())
    assert check.count(BELOW) > 0
    assert check.passed and check.verdict.startswith("good")
    # what the plain CS231n formula says of the same numbers: wrong
    naive = max(float(relative_error(check.analytic[n], check.numeric[n]).max()) for n in check.analytic)
    assert naive > 1e-2


def test_the_resolution_is_what_a_correct_gradient_can_miss_by():
    run = Run(Config())
    check = check_snapshot(run.snapshot())
    for name in check.analytic:
        diff = np.abs(check.analytic[name] - check.numeric[name])
        assert (diff <= check.resolution[name]).all()
        assert (check.resolution[name] < 1e-9).all()  # and small enough to see a real mistake


def test_relative_error_definition():
    np.testing.assert_array_equal(relative_error([0.0, 1.0, -2.0], [0.0, 1.0, 2.0]), [0.0, 0.0, 2.0])
    assert relative_error([1e-3], [1.001e-3])[0] == pytest.approx(1e-3 / 1.001, rel=1e-6)
    assert relative_error([1e-12], [2e-12], floor=1e-5)[0] == pytest.approx(1e-7)  # floored denominator
    assert math.isnan(relative_error([np.nan], [1.0])[0])


def test_verdict_thresholds():
    assert verdict(0.5).startswith("wrong")
    assert verdict(1e-3).startswith("uncomfortable")
    assert verdict(1e-5).startswith("too large")
    assert verdict(1e-7).startswith("good")
    assert verdict(0.0).startswith("good")
    assert verdict(math.nan).startswith("not a number")


def test_a_non_finite_gradient_is_never_good():
    run = Run(Config())
    snap = run.snapshot()
    grads = dict(snap.grads)
    grads["W"] = np.full_like(grads["W"], np.nan)
    check = check_gradient(snap.model, dict(snap.params), snap.X, snap.y, snap.reg, grads)
    assert not check.passed and check.verdict.startswith("not a number")


def test_a_kink_is_reported_not_judged():
    """An SVM margin within h of zero: the centered difference straddles the hinge."""
    model = make_model("linear", "svm")
    X = np.array([[1.0, 0.0], [-0.3, 1.0]])  # W[1, :] does not touch example 0: checkable
    y = np.array([0, 1])
    W = np.array([[0.0, -1.0 + 2e-6], [0.0, 0.0]])  # example 0: margin of class 1 is 2e-6, closer than h
    b = np.zeros(2)
    ws = model.workspace(X, y, 2)
    ws.run(model.layout(2, 2).flatten({"W": W, "b": b}), 0.0)
    check = check_gradient(model, {"W": W, "b": b}, X, y, 0.0, {n: g.copy() for n, g in ws.grads.items()})
    assert check.status["W"][0].tolist() == [KINK, KINK] and (check.status["W"][1] == CHECKED).all()
    assert check.passed


def test_a_large_model_is_checked_on_a_seeded_sample():
    run = Run(Config(model="two-layer", hidden=200, classes=10, points_per_class=5))
    snap = run.snapshot()
    first = check_snapshot(snap, budget=100)
    assert first.count(SKIPPED) > 0 and first.passed
    for name in snap.grads:
        assert (first.status[name] != SKIPPED).sum() >= min(8, snap.grads[name].size)
    again = check_snapshot(snap, budget=100)
    for name in snap.grads:
        np.testing.assert_array_equal(first.status[name], again.status[name])


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_the_nets_fast_moved_loss_is_its_plain_loss(loss):
    model = make_model("two-layer", loss, hidden=7)
    rng = np.random.RandomState(4)
    X, y = rng.randn(25, 2).astype(np.longdouble), rng.randint(3, size=25)
    params = {n: rng.randn(*s).astype(np.longdouble) for n, s in model.layout(2, 3).shapes}
    fast = model.evaluator(params, X, y, 0.3)
    for name, shape in model.layout(2, 3).shapes:
        for _ in range(5):
            ix = tuple(int(rng.randint(n)) for n in shape)
            delta = np.longdouble(rng.choice([1e-5, -2e-5, 0.7]))
            moved = {n: a.copy() for n, a in params.items()}
            moved[name][ix] += delta
            plain_loss, plain_kinks = model.extended(moved, X, y, 0.3)
            fast_loss, fast_kinks = fast.moved(name, ix, delta)
            assert abs(fast_loss - plain_loss) <= 1e-16 * abs(plain_loss), (name, ix)
            np.testing.assert_array_equal(fast_kinks, plain_kinks)
