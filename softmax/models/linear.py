"""The linear classifier of the CS231n case study: scores = X W + b, with a softmax or SVM loss.

Shapes: X (N, D), y (N,), W (D, K), b (K,). The flat parameter vector is W's D*K entries
followed by b's K, which is exactly theta (D+1, K) = [W; b] laid out row by row: with a
column of ones appended to X, one matrix product gives every score, and one gives dW and db.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Layout, Params, PassResult, notes_draws, probabilities
from .losses import LOSSES, make_loss


class LinearWorkspace:
    """Repeated passes of the linear model over one dataset, allocation-free.

    Class-major (K, N) buffers throughout (see losses.py); the views in ``grads``, ``parts``
    show them in the notes' shapes.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, K: int, loss: str, delta: float = 1.0) -> None:
        N, D = X.shape
        self.N, self.D, self.K = N, D, K
        self.y = y
        self.loss = make_loss(loss, y, K, delta)
        self.X1T = np.ones((D + 1, N))  # [X, 1].T
        self.X1T[:D] = X.T
        self.scoresT = np.zeros((K, N))
        self.dscoresT = np.zeros((K, N))
        self.grad = np.zeros((D + 1) * K)  # [dW; db] row by row, as theta
        self.grad_data = np.zeros((D + 1, K))  # [X.T @ dscores ; sum(dscores)]
        self.grad_reg = np.zeros((D + 1, K))  # [reg * W ; 0]
        g = self.grad.reshape(D + 1, K)
        self._grad2 = g
        self.grads = {"W": g[:D], "b": g[D]}
        self.grads_data = {"W": self.grad_data[:D], "b": self.grad_data[D]}
        self.grads_reg = {"W": self.grad_reg[:D], "b": self.grad_reg[D]}
        self.parts = {"scores": self.scoresT.T, **self.loss.parts, "dscores": self.dscoresT.T}

    def run(self, theta: np.ndarray, reg: float, accuracy: bool = True) -> PassResult:
        """Loss and gradient at theta ((D+1)*K,); the gradient lands in ``self.grad``."""
        D, K = self.D, self.K
        t = theta.reshape(D + 1, K)
        np.dot(t.T, self.X1T, out=self.scoresT)
        data_loss = self.loss(self.scoresT, self.dscoresT)
        W = t[:D]
        reg_loss = 0.5 * reg * np.vdot(W, W)
        # d(x.w + b)/dw = x and d(x.w + b)/db = 1: one product gives dW and db.
        np.dot(self.X1T, self.dscoresT.T, out=self.grad_data)
        # d(0.5*reg*w**2)/dw = reg*w; b is not regularized.
        np.multiply(t, reg, out=self.grad_reg)
        self.grad_reg[D] = 0.0
        np.add(self.grad_data, self.grad_reg, out=self._grad2)
        return PassResult(data_loss + float(reg_loss), data_loss, float(reg_loss),
                          self.accuracy() if accuracy else math.nan)

    def accuracy(self) -> float:
        """The share of points whose largest score is their class, at the last pass."""
        correct = np.count_nonzero(self.scoresT.argmax(axis=0) == self.y)
        return float(correct) / max(self.N, 1)  # no points yet: nothing is right


class LinearModel:
    """scores = X W + b; the loss is a plug-in (softmax or SVM), as in CS231n's linear_classifier.py."""

    name = "linear"
    output = "W"  # the parameter whose last dimension is the number of classes
    # Where each gradient comes from: dW[d, k] = sum_i X[i, d] * dscores[i, k] (+ reg*W), db[k] = sum_i dscores[i, k]
    sources = {"W": ("X", "dscores"), "b": (None, "dscores")}

    def __init__(self, loss: str = "softmax", delta: float = 1.0) -> None:
        self.loss, self.delta = loss, delta

    def layout(self, D: int, K: int) -> Layout:
        return Layout((("W", (D, K)), ("b", (K,))), regularized=("W",))

    def init(self, rng: np.random.RandomState, D: int, K: int, notes: bool = True) -> np.ndarray:
        """W = 0.01 * randn(D, K) from ``rng`` (see ``notes_draws``), b = 0; flat ((D+1)*K,)."""
        return np.concatenate([notes_draws(rng, D, K, notes).ravel(), np.zeros(K)])

    def workspace(self, X: np.ndarray, y: np.ndarray, K: int) -> LinearWorkspace:
        return LinearWorkspace(X, y, K, self.loss, self.delta)

    def scores(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Class-major scores (K, M) of the points X (M, D): a new array."""
        D = X.shape[1]
        t = theta.reshape(D + 1, -1)
        return t[:D].T @ X.T + t[D][:, None]

    def probabilities(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Class-major softmax probabilities (K, M) of the points X (M, D), whatever the loss."""
        return probabilities(self.scores(theta, X))

    def extended(self, params: Params, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[object, object]:
        """The loss written out plainly in the precision of ``params`` (the gradient check's long double)."""
        W, b = params["W"], params["b"]
        scores = X @ W + b
        data_loss, kinks = (LOSSES["svm"].extended(scores, y, self.delta) if self.loss == "svm"
                            else LOSSES["softmax"].extended(scores, y))
        return data_loss + 0.5 * reg * np.sum(W * W), kinks
