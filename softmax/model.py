"""The linear softmax classifier of the CS231n case study, in numpy.

Shapes used throughout: N examples, D input dimensions, K classes.
    X (N, D) float64, y (N,) int, W (D, K), b (K,)

The model is behind a small interface so that other models (SVM loss, a
2-layer net) can sit beside it later: parameters are a dict of named arrays
and ``loss_and_grads(params, X, y, reg) -> (loss, grads, parts)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class LossParts:
    """Every intermediate of one forward/backward pass, as the page shows them.

    scores (N, K)     X @ W + b
    probs (N, K)      softmax(scores), rows sum to 1
    dscores (N, K)    dL/dscores = (probs - onehot(y)) / N
    dW_data (D, K)    X.T @ dscores, the data part of dW
    dW_reg (D, K)     reg * W, the regularization part of dW
    dW (D, K)         dW_data + dW_reg
    db (K,)           dscores summed over the examples
    """

    scores: np.ndarray
    probs: np.ndarray
    data_loss: float
    reg_loss: float
    loss: float
    accuracy: float
    dscores: np.ndarray
    dW_data: np.ndarray
    dW_reg: np.ndarray
    dW: np.ndarray
    db: np.ndarray


def init_params(rng: np.random.RandomState, D: int, K: int) -> Params:
    """W = 0.01 * randn(D, K) drawn from ``rng``, b = 0, as in the case study."""
    return {"W": 0.01 * rng.randn(D, K), "b": np.zeros(K)}


class Workspace:
    """Preallocated buffers for repeated passes of the softmax loss over one dataset.

    The bias is folded into the weights: theta (D+1, K) holds W in its first D
    rows and b in its last, and X gets a column of ones, so one matrix product
    gives both dW and db. A pass allocates almost nothing, which is what lets
    the trainer run thousands of iterations per second. The arrays of the
    ``LossParts`` it returns are its own buffers, overwritten by the next pass:
    copy what must outlive it.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, K: int) -> None:
        N, D = X.shape
        self.N, self.D, self.K = N, D, K
        self.y = y
        # Class-major (K, N) buffers: reductions over the K classes then run
        # along the first axis, which numpy vectorizes over N (5-10x faster
        # than reducing rows of length K). LossParts shows them as (N, K) views.
        self.X1T = np.ones((D + 1, N))  # [X, 1].T
        self.X1T[:D] = X.T
        self.onehotT = np.zeros((K, N))
        self.onehotT[y, np.arange(N)] = 1.0
        self.scoresT = np.zeros((K, N))
        self.shiftedT = np.zeros((K, N))
        self.probsT = np.zeros((K, N))
        self.dscoresT = np.zeros((K, N))
        self.col_max = np.zeros((1, N))
        self.sum_exp = np.zeros((1, N))
        self.grad_data = np.zeros((D + 1, K))  # [X.T @ dscores ; sum(dscores)]
        self.grad_reg = np.zeros((D + 1, K))  # [reg * W ; 0]
        self.grad = np.zeros((D + 1, K))

    def run(self, theta: np.ndarray, reg: float) -> LossParts:
        """Loss and gradient at theta (D+1, K); the gradient is ``self.grad`` (D+1, K)."""
        D = self.D
        np.dot(theta.T, self.X1T, out=self.scoresT)
        # Subtracting each example's max score changes no probability but keeps
        # exp() <= 1: no overflow however large the scores grow.
        np.maximum.reduce(self.scoresT, axis=0, keepdims=True, out=self.col_max)
        np.subtract(self.scoresT, self.col_max, out=self.shiftedT)
        np.exp(self.shiftedT, out=self.probsT)
        np.add.reduce(self.probsT, axis=0, keepdims=True, out=self.sum_exp)
        self.probsT /= self.sum_exp
        # -log p_y = log(sum exp) - shifted_y: exact, and never log(0) even when p_y underflows.
        data_loss = (np.log(self.sum_exp).sum() - np.vdot(self.shiftedT, self.onehotT)) / self.N
        W = theta[:D]
        reg_loss = 0.5 * reg * np.vdot(W, W)

        # d(-log p_y)/dscore_k = p_k - [k == y], averaged over the N examples.
        np.subtract(self.probsT, self.onehotT, out=self.dscoresT)
        self.dscoresT *= 1.0 / self.N
        # d(x.w + b)/dw = x and d(x.w + b)/db = 1: one product gives dW and db.
        np.dot(self.X1T, self.dscoresT.T, out=self.grad_data)
        # d(0.5*reg*w**2)/dw = reg*w; b is not regularized.
        np.multiply(theta, reg, out=self.grad_reg)
        self.grad_reg[D] = 0.0
        np.add(self.grad_data, self.grad_reg, out=self.grad)
        return LossParts(
            scores=self.scoresT.T,
            probs=self.probsT.T,
            data_loss=float(data_loss),
            reg_loss=float(reg_loss),
            loss=float(data_loss + reg_loss),
            accuracy=float(np.count_nonzero(self.scoresT.argmax(axis=0) == self.y)) / self.N,
            dscores=self.dscoresT.T,
            dW_data=self.grad_data[:D],
            dW_reg=self.grad_reg[:D],
            dW=self.grad[:D],
            db=self.grad[D],
        )


def stack_params(params: Params) -> np.ndarray:
    """theta (D+1, K): W (D, K) with b (K,) as an extra last row."""
    return np.vstack([params["W"], params["b"][None, :]])


def loss_and_grads(
    params: Params, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, Params, LossParts]:
    """Softmax cross-entropy loss with L2 penalty 0.5*reg*sum(W**2) (b is not penalized).

    params: {"W": (D, K), "b": (K,)}. Returns (loss, {"W": dW (D, K), "b": db (K,)}, LossParts).
    """
    K = params["W"].shape[1]
    parts = Workspace(X, y, K).run(stack_params(params), reg)
    return parts.loss, {"W": parts.dW, "b": parts.db}, parts


def softmax_loss(
    W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """CS231n-shaped wrapper: (loss, dW (D, K), db (K,))."""
    loss, grads, _ = loss_and_grads({"W": W, "b": b}, X, y, reg)
    return loss, grads["W"], grads["b"]


def predict(params: Params, X: np.ndarray) -> np.ndarray:
    """Predicted class (N,) = argmax of the scores."""
    return np.argmax(X @ params["W"] + params["b"], axis=1)


def predict_proba(params: Params, X: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K), computed stably.

    Computed class-major, as in the Workspace: the result is the transpose of a
    contiguous (K, N) array, so ``.T`` gives fast reductions over the classes.
    """
    scores_t = params["W"].T @ X.T + params["b"][:, None]  # (K, N)
    e = np.exp(scores_t - scores_t.max(axis=0))
    e /= e.sum(axis=0)
    return e.T


def accuracy(params: Params, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of examples whose predicted class is their label."""
    return float(np.mean(predict(params, X) == y))
