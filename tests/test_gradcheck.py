"""Centered differences against the analytic gradient, on every entry of W and b."""

import numpy as np
import pytest

from softmax.data import DATASETS, make_dataset
from softmax.gradcheck import (
    check_softmax_gradient,
    numerical_gradient,
    relative_error,
    softmax_loss_extended,
    verdict,
)
from softmax.model import init_params, loss_and_grads


def characteristic_point(name, k, seed=0, n=15):
    """Data and weights of ordinary size (CS231n: check where the gradients are not tiny)."""
    rng = np.random.RandomState(seed)
    X, y = make_dataset(name, n, k, 0.3, rng)
    return X, y, {"W": rng.randn(2, k), "b": 0.5 * rng.randn(k)}


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("k", [2, 3, 5, 10])
@pytest.mark.parametrize("reg", [0.0, 1e-3, 0.5])
def test_analytic_gradient_matches_centered_differences(name, k, reg):
    X, y, params = characteristic_point(name, k)
    check = check_softmax_gradient(params, X, y, reg)
    assert check.max_rel_error <= 1e-7, check.rel_error
    assert check.verdict.startswith("good")


def test_check_at_the_cs231n_start_is_good():
    rng = np.random.RandomState(0)
    X, y = make_dataset("spiral", 100, 3, 0.2, rng)
    assert check_softmax_gradient(init_params(rng, 2, 3), X, y, 1e-3).max_rel_error <= 1e-7


def test_a_wrong_gradient_is_caught():
    X, y, params = characteristic_point("spiral", 3)
    _, grads, _ = loss_and_grads(params, X, y, 0.1)
    numeric = numerical_gradient(lambda: loss_and_grads(params, X, y, 0.1)[0], params["W"])
    wrong = grads["W"] - 0.1 * params["W"] * 0.5  # half the regularization gradient
    assert relative_error(wrong, numeric).max() > 1e-4
    assert verdict(relative_error(wrong, numeric).max()).startswith(("wrong", "uncomfortable"))


def test_relative_error_definition():
    np.testing.assert_array_equal(relative_error([0.0, 1.0, -2.0], [0.0, 1.0, 2.0]), [0.0, 0.0, 2.0])
    assert relative_error([1e-3], [1.001e-3])[0] == pytest.approx(1e-3 / 1.001, rel=1e-6)


def test_verdict_thresholds():
    assert verdict(0.5).startswith("wrong")
    assert verdict(1e-3).startswith("uncomfortable")
    assert verdict(1e-5).startswith("fine")
    assert verdict(1e-7).startswith("good")
    assert verdict(0.0).startswith("good")


def test_extended_loss_is_the_same_loss():
    X, y, params = characteristic_point("circles", 4)
    ext = softmax_loss_extended(params["W"].astype(np.longdouble), params["b"].astype(np.longdouble), X, y, 0.2)
    assert float(ext) == pytest.approx(loss_and_grads(params, X, y, 0.2)[0], rel=1e-14)


def test_numerical_gradient_restores_its_input():
    x = np.array([1.0, 2.0, 3.0])
    g = numerical_gradient(lambda: float(np.sum(x**2)), x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-9)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
