"""Numerical gradient checks as in the CS231n notes: centered differences, relative error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .model import Params, loss_and_grads

# CS231n's reading of a relative error, from worst to best.
VERDICTS = (
    (1e-2, "wrong: above 1e-2 the gradient is probably wrong"),
    (1e-4, "uncomfortable: between 1e-4 and 1e-2 something may be off"),
    (1e-7, "fine for kinked losses, but too large for a smooth one like softmax"),
    (0.0, "good: 1e-7 or less is what a correct softmax gradient gives"),
)


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """|a - n| / max(|a|, |n|) elementwise; 0 where both are exactly 0."""
    a, n = np.asarray(analytic, float), np.asarray(numeric, float)
    scale = np.maximum(np.abs(a), np.abs(n))
    diff = np.abs(a - n)
    return np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)


def verdict(rel_error: float) -> str:
    """The CS231n notes' reading of a relative error."""
    for threshold, text in VERDICTS:
        if rel_error > threshold:
            return text
    return VERDICTS[-1][1]


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centered differences (f(x+h) - f(x-h)) / 2h for every entry of x, changed in place and restored."""
    grad = np.zeros(x.shape)
    h = x.dtype.type(h)
    for ix in np.ndindex(*x.shape):
        old = x[ix]
        x[ix] = old + h
        plus = f()
        x[ix] = old - h
        minus = f()
        x[ix] = old
        grad[ix] = float((plus - minus) / (2 * h))
    return grad


@dataclass(frozen=True)
class GradCheck:
    """Analytic vs numerical gradient of every parameter entry: dicts keyed "W" (D, K) and "b" (K,)."""

    analytic: Params
    numeric: Params
    rel_error: Params

    @property
    def max_rel_error(self) -> float:
        return max(float(e.max()) for e in self.rel_error.values())

    @property
    def verdict(self) -> str:
        return verdict(self.max_rel_error)


def softmax_loss_extended(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float):
    """The softmax loss written out plainly, in np.longdouble: W (D, K), b (K,), X (N, D), y (N,).

    Why a second, slower form: a centered difference divides the loss's rounding
    error by 2h. In float64 that is ~1e-16 / 1e-5 = 1e-11, as large as an entry
    of db near zero (db is ~1e-5 at the CS231n start), and the relative error
    reads 5e-7 for a correct gradient. The 80-bit long double of x86-64 makes it
    ~1e-14. (Where long double is float64 the check still runs, less precisely.)
    """
    X = np.asarray(X, dtype=np.longdouble)
    scores = X @ W + b
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(y)), y].mean() + 0.5 * reg * np.sum(W * W)


def check_softmax_gradient(
    params: Params, X: np.ndarray, y: np.ndarray, reg: float, h: float = 1e-5
) -> GradCheck:
    """Compare ``loss_and_grads`` with centered differences over every entry of W and b."""
    _, grads, _ = loss_and_grads(params, X, y, reg)
    probe = {name: value.astype(np.longdouble) for name, value in params.items()}

    def f() -> float:
        return softmax_loss_extended(probe["W"], probe["b"], X, y, reg)

    numeric = {name: numerical_gradient(f, probe[name], h) for name in probe}
    analytic = {name: np.array(g) for name, g in grads.items()}
    errors = {name: relative_error(analytic[name], numeric[name]) for name in probe}
    return GradCheck(analytic=analytic, numeric=numeric, rel_error=errors)
