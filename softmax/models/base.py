"""What every model shares: parameters by name in one flat vector, and the result of a pass.

A model's parameters live in one flat float64 vector ``theta``; ``Layout`` names its
pieces (``W`` (D, K), ``b`` (K,), or ``W1``, ``b1``, ``W2``, ``b2``) as views into it. An
optimizer then updates every parameter with one vectorized operation, a snapshot copies
one array, and a view asks for any parameter by name and shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class Layout:
    """Names, shapes and places of the parameters inside the flat vector, in order.

    ``regularized`` names the weights the L2 penalty 0.5*reg*sum(w**2) applies to (not the biases).
    """

    shapes: tuple[tuple[str, tuple[int, ...]], ...]
    regularized: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.shapes)

    @property
    def size(self) -> int:
        return sum(int(np.prod(shape)) for _, shape in self.shapes)

    def slices(self) -> dict[str, slice]:
        out, start = {}, 0
        for name, shape in self.shapes:
            n = int(np.prod(shape))
            out[name] = slice(start, start + n)
            start += n
        return out

    def views(self, flat: np.ndarray) -> Params:
        """Each parameter as a view (its shape) into ``flat`` (size,): writing one writes the other."""
        shapes = dict(self.shapes)
        return {name: flat[s].reshape(shapes[name]) for name, s in self.slices().items()}

    def flatten(self, params: Params) -> np.ndarray:
        """One new flat vector (size,) from parameters given by name."""
        return np.concatenate([np.asarray(params[name], dtype=np.float64).ravel() for name in self.names])

    def reg_mask(self) -> np.ndarray:
        """(size,) 1.0 where the L2 penalty applies, 0.0 elsewhere."""
        mask = np.zeros(self.size)
        for name, s in self.slices().items():
            if name in self.regularized:
                mask[s] = 1.0
        return mask


class PassResult(NamedTuple):
    """The numbers of one forward/backward pass; its arrays stay on the workspace."""

    loss: float
    data_loss: float
    reg_loss: float
    accuracy: float


class Workspace(Protocol):
    """Preallocated buffers for repeated passes over one dataset (X (N, D), y (N,)).

    After ``run(theta, reg)`` its named views hold that pass's values, overwritten by the next:
    ``grad`` (size,) the gradient of the loss; ``grads``, ``grads_data``, ``grads_reg`` the gradient
    and its data and regularization parts by parameter name; ``parts`` the intermediates a page
    shows (``scores`` and ``dscores`` (N, K), ``probs`` or ``margins``, a net's ``hidden``...).
    """

    grad: np.ndarray
    grads: Params
    grads_data: Params
    grads_reg: Params
    parts: dict[str, np.ndarray]

    def run(self, theta: np.ndarray, reg: float, accuracy: bool = True) -> PassResult:
        """Loss and gradient at theta; with ``accuracy=False`` the result's accuracy is nan (not counted),
        and ``accuracy()`` counts it from this pass's scores until the next pass."""

    def accuracy(self) -> float: ...


class Model(Protocol):
    """A classifier with parameters by name: the linear model or the 2-layer net.

    ``output`` names the parameter whose last dimension is the number of classes K.
    """

    name: str
    output: str

    def layout(self, D: int, K: int) -> Layout: ...

    def init(self, rng: np.random.RandomState, D: int, K: int, notes: bool) -> np.ndarray: ...

    def workspace(self, X: np.ndarray, y: np.ndarray, K: int) -> Workspace: ...

    def scores(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray: ...

    def extended(self, params: Params, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[object, object]: ...


def notes_draws(rng: np.random.RandomState, D: int, K: int, notes: bool) -> np.ndarray:
    """The linear classifier's W = 0.01 * randn(D, K), drawn as the CS231n notes' page draws it.

    The notes' published run is reproduced by drawing that line four times from the stream
    after the data and keeping the last (as if its initialization had run four times);
    ``notes=False`` draws it once, right after the data.
    """
    for _ in range(3 if notes else 0):
        rng.randn(D, K)
    return 0.01 * rng.randn(D, K)


def probabilities(scores_t: np.ndarray) -> np.ndarray:
    """Softmax of class-major scores (K, M) in place, stably; returns it (K, M)."""
    scores_t -= scores_t.max(axis=0)
    np.exp(scores_t, out=scores_t)
    scores_t /= scores_t.sum(axis=0)
    return scores_t


def top_class(scores_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the class of the largest score (M,) intp, its softmax probability (M,) float64) of
    class-major scores (K, M), consuming them: what the decision regions colour their cells by.

    The same as ``probabilities(scores_t)``'s argmax and max, in about half the time: the top probability
    is 1 / sum_k exp(s_k - max), so no division of all K rows, and the class is found by comparing each row
    with the max (a tie goes to the lower class, as ``argmax`` gives it; argmax along the class axis of a
    few rows is numpy's slow path). A column with a nan or an infinite score gets class 0 or the first at
    +inf, and probability nan, without a warning."""
    top = scores_t.max(axis=0)
    k_top = np.zeros(scores_t.shape[1], np.intp)
    for k in reversed(range(len(scores_t))):  # downwards, so that the lowest of tied classes is written last
        np.copyto(k_top, k, where=scores_t[k] == top)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: that column's probability is nan
        scores_t -= top
        np.exp(scores_t, out=scores_t)
        total = scores_t.sum(axis=0)
    return k_top, np.divide(1.0, total, out=total)
