"""The 2-layer ReLU network of the CS231n case study's second half.

    hidden = max(0, X W1 + b1)        (N, H)
    scores = hidden W2 + b2           (N, K)

Shapes: X (N, D), W1 (D, H), b1 (H,), W2 (H, K), b2 (K,). Backward, as the notes write it:
dW2 = hidden.T @ dscores, db2 = sum(dscores); dhidden = dscores @ W2.T, zero where the ReLU
was off (hidden <= 0); dW1 = X.T @ dhidden, db1 = sum(dhidden); plus reg*W1 and reg*W2.

The flat parameter vector is W1, b1, W2, b2 in that order, which is theta1 (D+1, H) =
[W1; b1] followed by theta2 (H+1, K) = [W2; b2]: each layer is one matrix product with a
column of ones appended to its input, forward and backward.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Layout, Params, PassResult, probabilities
from .losses import LOSSES, make_loss

# Products with a side this thin (D+1 = 3 inputs, K = 3 classes: the case study's shapes) are faster as
# one matrix-vector product per row than as one matrix product: OpenBLAS's dgemm on a (3, 300) by
# (300, 101) product takes ~20-25 us, three dgemv ~13 us (bench: ``python -m softmax bench``).
THIN = 3


class TwoLayerWorkspace:
    """Repeated passes of the net over one dataset; class-major (H or K, N) buffers, as in linear.py."""

    def __init__(self, X: np.ndarray, y: np.ndarray, K: int, H: int, loss: str) -> None:
        N, D = X.shape
        self.N, self.D, self.H, self.K = N, D, H, K
        self.y = y
        self.loss = make_loss(loss, y, K)
        self.X1T = np.ones((D + 1, N))
        self.X1T[:D] = X.T
        self.hidden1T = np.ones((H + 1, N))  # [hidden, 1].T; X W1 + b1 lands here first, then the ReLU
        self.hiddenT = self.hidden1T[:H]
        self.on = np.zeros((H, N), dtype=bool)  # where the ReLU passes (hidden > 0)
        self.scoresT = np.zeros((K, N))
        self.dscoresT = np.zeros((K, N))
        self.dhiddenT = np.zeros((H, N))
        self.d2T = np.zeros((K, H + 1))  # dtheta2 transposed: the row-by-row products land here
        self.s1 = (D + 1) * H
        size = self.s1 + (H + 1) * K
        self.grad, self.grad_data, self.grad_reg = np.zeros(size), np.zeros(size), np.zeros(size)
        self.reg_mask = np.zeros(size)
        self.reg_mask[: D * H] = 1.0
        self.reg_mask[self.s1 : self.s1 + H * K] = 1.0
        self._reg, self._reg_scale = 0.0, np.zeros(size)  # reg * reg_mask for the last reg
        self._theta: np.ndarray | None = None  # the theta whose views are cached (see _views)
        self._data = self._split(self.grad_data)  # the data gradient's theta1 and theta2: the products land here
        self.grads = self._named(self.grad)
        self.grads_data = self._named(self.grad_data)
        self.grads_reg = self._named(self.grad_reg)
        # the row-by-row products' (output row, input row) pairs, made once (views)
        d1, _ = self._data
        self._scores_rows = list(self.scoresT)
        self._d2_rows = list(zip(self.d2T, self.dscoresT, strict=True))
        self._d1_rows = list(zip(d1, self.X1T, strict=True))
        self._on01 = self.on.view(np.uint8)  # the gate as 0 and 1: numpy multiplies it in faster than a bool
        self.parts = {"hidden": self.hiddenT.T, "scores": self.scoresT.T, **self.loss.parts,
                      "dscores": self.dscoresT.T, "dhidden": self.dhiddenT.T}

    def _split(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """theta1 (D+1, H) and theta2 (H+1, K) views of a flat vector."""
        return flat[: self.s1].reshape(self.D + 1, self.H), flat[self.s1 :].reshape(self.H + 1, self.K)

    def _named(self, flat: np.ndarray) -> Params:
        t1, t2 = self._split(flat)
        return {"W1": t1[: self.D], "b1": t1[self.D], "W2": t2[: self.H], "b2": t2[self.H]}

    def _views(self, theta: np.ndarray) -> tuple[np.ndarray, ...]:
        """theta1, theta2, W1, W2 and theta2's columns: views, kept while the same theta comes back (a run
        updates its theta in place). A flat theta's slices reshape to views whatever its stride."""
        if theta is not self._theta:
            t1, t2 = self._split(theta)
            self._theta = theta
            self._theta_views = (t1, t2, t1[: self.D], t2[: self.H], [t2[:, k] for k in range(self.K)])
        return self._theta_views

    def run(self, theta: np.ndarray, reg: float, accuracy: bool = True) -> PassResult:
        t1, t2, W1, W2, columns = self._views(theta)
        d1, d2 = self._data
        X1T, hidden1T, hiddenT, scoresT, dscoresT, dhiddenT = (
            self.X1T, self.hidden1T, self.hiddenT, self.scoresT, self.dscoresT, self.dhiddenT)
        # forward: the ReLU layer, then the class scores
        np.matmul(t1.T, X1T, out=hiddenT)
        np.maximum(hiddenT, 0.0, out=hiddenT)
        if self.K <= THIN:
            for row, column in zip(self._scores_rows, columns, strict=True):
                np.dot(column, hidden1T, out=row)
        else:
            np.dot(t2.T, hidden1T, out=scoresT)
        data_loss = self.loss(scoresT, dscoresT)
        reg_loss = 0.5 * reg * (np.vdot(W1, W1) + np.vdot(W2, W2))
        # backward: into W2 and b2 as into the linear model's W and b, with hidden as the input
        if self.K <= THIN:
            for row, dscores in self._d2_rows:
                np.dot(hidden1T, dscores, out=row)
            np.copyto(d2, self.d2T.T)
        else:
            np.dot(hidden1T, dscoresT.T, out=d2)
        # into the hidden layer, through the ReLU: it passes the gradient where it was on, blocks it where off
        # (times 1 or 0, as a product: a gradient of inf or nan where the unit is off stays nan)
        np.matmul(W2, dscoresT, out=dhiddenT)
        np.greater(hiddenT, 0.0, out=self.on)  # hidden = max(pre, 0) > 0 exactly where pre > 0 (nan: off)
        np.multiply(dhiddenT, self._on01, out=dhiddenT)
        # into W1 and b1, with X as the input
        if self.D + 1 <= THIN:
            for row, x in self._d1_rows:
                np.dot(dhiddenT, x, out=row)
        else:
            np.dot(X1T, dhiddenT.T, out=d1)
        if reg != self._reg:
            self._reg = reg
            np.multiply(self.reg_mask, reg, out=self._reg_scale)
        np.multiply(theta, self._reg_scale, out=self.grad_reg)  # reg * w on the weights, 0 on the biases
        np.add(self.grad_data, self.grad_reg, out=self.grad)
        return PassResult(data_loss + float(reg_loss), data_loss, float(reg_loss),
                          self.accuracy() if accuracy else math.nan)

    def accuracy(self) -> float:
        """The share of points whose largest score is their class, at the last pass."""
        correct = np.count_nonzero(self.scoresT.argmax(axis=0) == self.y)
        return float(correct) / max(self.N, 1)  # no points yet: nothing is right


class TwoLayerModel:
    """The case study's net: H ReLU units, then a linear layer to the K class scores."""

    name = "two-layer"
    output = "W2"  # the parameter whose last dimension is the number of classes
    # Where each gradient comes from: dW2[j, k] = sum_i hidden[i, j] * dscores[i, k], db2[k] = sum_i dscores[i, k],
    # dW1[d, j] = sum_i X[i, d] * dhidden[i, j] (dhidden already zero where the ReLU was off), db1[j] likewise.
    sources = {"W1": ("X", "dhidden"), "b1": (None, "dhidden"), "W2": ("hidden", "dscores"), "b2": (None, "dscores")}

    def __init__(self, hidden: int = 100, loss: str = "softmax") -> None:
        self.H, self.loss = hidden, loss

    def layout(self, D: int, K: int) -> Layout:
        H = self.H
        return Layout((("W1", (D, H)), ("b1", (H,)), ("W2", (H, K)), ("b2", (K,))), regularized=("W1", "W2"))

    def init(self, rng: np.random.RandomState, D: int, K: int, notes: bool = True) -> np.ndarray:
        """W1 = 0.01 * randn(D, H), then W2 = 0.01 * randn(H, K), biases 0; flat.

        ``notes``: first the linear classifier's four W draws, which come before the net's on the
        notes' one random stream (see ``base.notes_draws``).
        """
        H = self.H
        for _ in range(4 if notes else 0):
            rng.randn(D, K)
        W1 = 0.01 * rng.randn(D, H)
        W2 = 0.01 * rng.randn(H, K)
        return np.concatenate([W1.ravel(), np.zeros(H), W2.ravel(), np.zeros(K)])

    def workspace(self, X: np.ndarray, y: np.ndarray, K: int) -> TwoLayerWorkspace:
        return TwoLayerWorkspace(X, y, K, self.H, self.loss)

    def hidden(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """The hidden layer's activations (H, M) at the points X (M, D): a new array."""
        D = X.shape[1]
        t1 = theta[: (D + 1) * self.H].reshape(D + 1, self.H)
        return np.maximum(t1[:D].T @ X.T + t1[D][:, None], 0.0)

    def scores(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Class-major scores (K, M) of the points X (M, D): a new array."""
        D, H = X.shape[1], self.H
        t2 = theta[(D + 1) * H :].reshape(H + 1, -1)
        return t2[:H].T @ self.hidden(theta, X) + t2[H][:, None]

    def probabilities(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Class-major softmax probabilities (K, M) of the points X (M, D), whatever the loss."""
        return probabilities(self.scores(theta, X))

    def evaluator(self, params: Params, X: np.ndarray, y: np.ndarray, reg: float) -> ExtendedNet:
        """The loss of ``extended`` with one entry moved, in O(N*K) instead of a whole pass (the check's speed)."""
        return ExtendedNet(self, params, X, y, reg)

    def extended(self, params: Params, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[object, object]:
        """The loss written out plainly in the precision of ``params``, and the pattern of its kinks
        (which ReLUs are on, which hinge terms are active)."""
        pre = X @ params["W1"] + params["b1"]
        hidden = np.maximum(pre, 0)
        data_loss, active = LOSSES[self.loss].extended(hidden @ params["W2"] + params["b2"], y)
        W1, W2 = params["W1"], params["W2"]
        kinks = pre > 0 if active is None else np.concatenate([(pre > 0).ravel(), active.ravel()])
        return data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2)), kinks


class ExtendedNet:
    """The net's loss in the precision of its inputs, re-evaluated when one parameter entry moves.

    Moving W2[j, k] or b2[k] changes only column k of the scores; moving W1[d, j] or b1[j] only
    hidden unit j, and through it the scores by (new - old hidden_j) * W2[j, :]. So each moved
    loss costs O(N*K) instead of a pass through the whole net: what makes a check of all 603
    entries of the case study's net take a fraction of a second. The tests compare it with
    ``TwoLayerModel.extended``.
    """

    def __init__(self, model: TwoLayerModel, params: Params, X: np.ndarray, y: np.ndarray, reg: float) -> None:
        self.model, self.params, self.X, self.y, self.reg = model, params, X, y, reg
        self.pre = X @ params["W1"] + params["b1"]
        self.hidden = np.maximum(self.pre, 0)
        self.scores = self.hidden @ params["W2"] + params["b2"]
        W1, W2 = params["W1"], params["W2"]
        self.reg_loss = 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        self.base = self._loss(self.scores, self.reg_loss, self.pre > 0)

    def _loss(self, scores: np.ndarray, reg_loss, on: np.ndarray) -> tuple[object, object]:
        data_loss, active = LOSSES[self.model.loss].extended(scores, self.y)
        kinks = on if active is None else np.concatenate([on.ravel(), active.ravel()])
        return data_loss + reg_loss, kinks

    def moved(self, name: str, index: tuple[int, ...], delta) -> tuple[object, object]:
        """(loss, kinks) with params[name][index] moved by delta."""
        p, reg_loss = self.params, self.reg_loss
        if name in ("W1", "W2"):
            w = p[name][index]
            reg_loss = reg_loss + 0.5 * self.reg * ((w + delta) * (w + delta) - w * w)
        on = self.pre > 0
        if name in ("W2", "b2"):
            k = index[-1]
            column = self.hidden[:, index[0]] * delta if name == "W2" else delta
            scores = self.scores.copy()
            scores[:, k] += column
            return self._loss(scores, reg_loss, on)
        j = index[-1]
        pre_j = self.pre[:, j] + (self.X[:, index[0]] * delta if name == "W1" else delta)
        hidden_j = np.maximum(pre_j, 0)
        scores = self.scores + (hidden_j - self.hidden[:, j])[:, None] * p["W2"][j][None, :]
        on = on.copy()
        on[:, j] = pre_j > 0
        return self._loss(scores, reg_loss, on)
