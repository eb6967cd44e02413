"""Tests written to kill mutants that survived the rest of the suite (docs/mutation.md, tools/mutation.py).

Each checks something a student would see wrong if the mutant were the code: a loss that does not
match the loss the page prints, a gradient check that misses a wrong gradient or blames a right one,
a number that overflows where the notes promise it cannot.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

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
