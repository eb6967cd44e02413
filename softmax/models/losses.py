"""Losses on class scores: softmax cross-entropy and the multiclass SVM (hinge).

A loss turns the scores of N examples into the data loss and dL/dscores. Both work
class-major, on (K, N) arrays, in buffers they own: a reduction over the K classes
then runs along the first axis, which numpy vectorizes over N (5-10x faster than
reducing rows of length K), and a pass allocates almost nothing. ``parts`` shows
the buffers as (N, K) views, the shape the notes use.

Each loss also has ``extended(scores, y)``: the same loss written out plainly in
whatever precision its input has (the gradient check evaluates it in long double),
with the pattern of its kinks (which hinge terms are active) for that check.
"""

from __future__ import annotations

import numpy as np


class SoftmaxLoss:
    """Cross-entropy of softmax probabilities: L_i = -log p_{i,y_i}, p_i = softmax(s_i).

    dL_i/ds_ik = p_ik - [k = y_i], and the mean over N divides by N: dscores = (probs - onehot) / N.
    """

    name = "softmax"
    smooth = True  # no kinks: a correct gradient checks to 1e-7 everywhere

    def __init__(self, y: np.ndarray, K: int) -> None:
        N = len(y)
        self.N, self.K = N, K
        self.onehotT = np.zeros((K, N))
        self.onehotT[y, np.arange(N)] = 1.0
        self.shiftedT = np.zeros((K, N))
        self.probsT = np.zeros((K, N))
        self.col_max = np.zeros((1, N))
        self.sum_exp = np.zeros((1, N))
        self.log_sum_exp = np.zeros((1, N))
        self.parts = {"probs": self.probsT.T}

    def __call__(self, scoresT: np.ndarray, dscoresT: np.ndarray) -> float:
        """Data loss of scores (K, N); writes dL/dscores (K, N) into ``dscoresT``."""
        # Subtracting each example's max score changes no probability but keeps
        # exp() <= 1: no overflow however large the scores grow.
        np.maximum.reduce(scoresT, axis=0, keepdims=True, out=self.col_max)
        np.subtract(scoresT, self.col_max, out=self.shiftedT)
        np.exp(self.shiftedT, out=self.probsT)
        np.add.reduce(self.probsT, axis=0, keepdims=True, out=self.sum_exp)
        self.probsT /= self.sum_exp
        # -log p_y = log(sum exp) - shifted_y: exact, and never log(0) even when p_y underflows.
        # (a hand-made dataset may be empty for a moment: then every sum is 0, and so is the loss)
        data_loss = (np.log(self.sum_exp, out=self.log_sum_exp).sum() - np.vdot(self.shiftedT, self.onehotT)) \
            / max(self.N, 1)
        # d(-log p_y)/ds_k = p_k - [k == y], averaged over the N examples.
        np.subtract(self.probsT, self.onehotT, out=dscoresT)
        dscoresT *= 1.0 / max(self.N, 1)
        return float(data_loss)

    @staticmethod
    def extended(scores: np.ndarray, y: np.ndarray) -> tuple[object, None]:
        """The mean of -log softmax(scores)[y] over the rows of scores (N, K), plainly, in scores' precision."""
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -log_probs[np.arange(len(y)), y].mean(), None


class SVMLoss:
    """CS231n's multiclass SVM: L_i = sum_{j != y_i} max(0, s_ij - s_{i,y_i} + delta).

    Each violated margin (> 0) adds +1 to dL_i/ds_ij and -1 to dL_i/ds_{i,y_i}; a margin of
    exactly zero counts as inactive (the notes' ``margins > 0``). Then the mean divides by N.
    """

    name = "svm"
    smooth = False  # hinge kinks: a centered difference across one is not the gradient

    def __init__(self, y: np.ndarray, K: int, delta: float = 1.0) -> None:
        N = len(y)
        self.N, self.K, self.delta = N, K, delta
        self.onehotT = np.zeros((K, N))
        self.onehotT[y, np.arange(N)] = 1.0
        self.others = 1.0 - self.onehotT  # j != y_i
        self.correct = np.zeros((1, N))
        self.marginsT = np.zeros((K, N))
        self.activeT = np.zeros((K, N))
        self.count = np.zeros((1, N))
        self.parts = {"margins": self.marginsT.T, "active": self.activeT.T}

    def __call__(self, scoresT: np.ndarray, dscoresT: np.ndarray) -> float:
        np.add.reduce(np.multiply(scoresT, self.onehotT, out=self.marginsT), axis=0, keepdims=True,
                      out=self.correct)
        # margins s_j - s_y + delta for j != y; the true class's own term is not a margin (0)
        np.subtract(scoresT, self.correct, out=self.marginsT)
        self.marginsT += self.delta
        self.marginsT *= self.others
        np.greater(self.marginsT, 0.0, out=self.activeT, casting="unsafe")
        data_loss = np.vdot(self.marginsT, self.activeT) / max(self.N, 1)  # sum of the positive margins
        # +1 at each violated margin, minus their count at the true class
        np.add.reduce(self.activeT, axis=0, keepdims=True, out=self.count)
        np.multiply(self.onehotT, self.count, out=dscoresT)
        np.subtract(self.activeT, dscoresT, out=dscoresT)
        dscoresT *= 1.0 / max(self.N, 1)
        return float(data_loss)

    @staticmethod
    def extended(scores: np.ndarray, y: np.ndarray, delta: float = 1.0) -> tuple[object, np.ndarray]:
        """The mean hinge loss of scores (N, K), plainly; and which margins are active (the kinks' pattern)."""
        N = len(y)
        margins = scores - scores[np.arange(N), y][:, None] + delta
        margins[np.arange(N), y] = 0
        active = margins > 0
        return np.where(active, margins, 0).sum() / N, active


LOSSES = {"softmax": SoftmaxLoss, "svm": SVMLoss}


def check_loss(name: str) -> None:
    """Raise ValueError unless ``name`` is one of LOSSES (a misspelt name must not train the softmax loss)."""
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {name!r}")


def make_loss(name: str, y: np.ndarray, K: int, delta: float = 1.0) -> SoftmaxLoss | SVMLoss:
    """The named loss's buffers for labels y (N,) and K classes (delta: the SVM's margin)."""
    check_loss(name)
    return SVMLoss(y, K, delta) if name == "svm" else SoftmaxLoss(y, K)
