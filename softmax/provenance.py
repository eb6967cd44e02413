"""Where one number of the gradient comes from, and what a small nudge of one weight does.

Every weight gradient of both models is a sum over the N examples of an input times a
gradient of an output, plus reg times the weight:

    dW[d, k]  = sum_i X[i, d]      * dscores[i, k] + reg * W[d, k]
    dW2[j, k] = sum_i hidden[i, j] * dscores[i, k] + reg * W2[j, k]
    dW1[d, j] = sum_i X[i, d]      * dhidden[i, j] + reg * W1[d, j]   (dhidden is 0 where the ReLU was off)

and a bias's gradient is the same sum with the input 1. A model names the two factors of each
of its parameters (``model.sources``); this module reads them off a snapshot -- the model's own
intermediates, nothing recomputed -- and ranks the terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .snapshot import Snapshot


@dataclass(frozen=True)
class Terms:
    """grads[name][index] taken apart: terms (N,) = inputs (N,) * outputs (N,), their sum, reg part, total.

    ``inputs`` is None for a bias (each term is the output gradient itself). ``blocked`` (N,) marks the
    examples whose ReLU was off for this hidden unit (their term is 0 because the gate blocked it), or None.
    ``order`` lists example indices by |term|, largest first.
    """

    name: str
    index: tuple[int, ...]
    input_name: str | None
    output_name: str
    input_column: int | None
    output_column: int
    inputs: np.ndarray | None
    outputs: np.ndarray
    terms: np.ndarray
    data_sum: float
    reg_part: float
    total: float
    blocked: np.ndarray | None
    order: np.ndarray

    def largest(self, n: int = 5) -> np.ndarray:
        return self.order[:n]

    def rest(self, n: int = 5) -> float:
        """The sum of the terms that are not among the ``n`` largest (what a table of those leaves out)."""
        return float(self.terms[self.order[n:]].sum())


def terms(snap: Snapshot, name: str, index: tuple[int, ...]) -> Terms:
    """The N terms whose sum is ``snap.grads_data[name][index]``, from the snapshot's own arrays."""
    input_name, output_name = snap.model.sources[name]
    index = tuple(int(i) for i in index)
    output_column = index[-1]
    outputs = snap.parts[output_name][:, output_column]
    if input_name is None:
        inputs, input_column, t = None, None, outputs.copy()
    else:
        input_column = index[0]
        source = snap.X if input_name == "X" else snap.parts[input_name]
        inputs = source[:, input_column]
        t = inputs * outputs
    blocked = None
    if output_name == "dhidden":  # the ReLU gate of hidden unit j: off where its activation was 0
        blocked = snap.parts["hidden"][:, output_column] <= 0
    return Terms(
        name=name, index=index, input_name=input_name, output_name=output_name, input_column=input_column,
        output_column=output_column, inputs=inputs, outputs=outputs, terms=t,
        data_sum=float(snap.grads_data[name][index]), reg_part=float(snap.grads_reg[name][index]),
        total=float(snap.grads[name][index]), blocked=blocked, order=np.argsort(-np.abs(t), kind="stable"),
    )


@dataclass(frozen=True)
class Nudge:
    """One weight moved by ±h: the loss on each side, and the gradient's prediction h * grad."""

    name: str
    index: tuple[int, ...]
    h: float
    loss: float
    loss_plus: float
    loss_minus: float
    gradient: float

    @property
    def change(self) -> float:
        """How much the loss moved when the weight moved by +h."""
        return self.loss_plus - self.loss

    @property
    def predicted(self) -> float:
        """What the gradient says it moves by: h * dL/dw."""
        return self.h * self.gradient

    @property
    def numerical(self) -> float:
        """The centered difference (L(w+h) - L(w-h)) / 2h: the slope measured, to set beside the gradient."""
        return (self.loss_plus - self.loss_minus) / (2 * self.h)


def nudge(snap: Snapshot, name: str, index: tuple[int, ...], h: float = 1e-3) -> Nudge:
    """Move params[name][index] by +h and -h (on copies) and measure the training loss each time."""
    index = tuple(int(i) for i in index)
    ws = snap.model.workspace(snap.X, snap.y, snap.K)
    theta = np.array(snap.theta)
    flat = snap.layout.slices()[name].start + int(np.ravel_multi_index(index, snap.params[name].shape))
    losses = []
    for delta in (h, -h):
        theta[flat] = snap.theta[flat] + delta
        losses.append(ws.run(theta, snap.reg).loss)
    return Nudge(name, index, h, snap.loss, losses[0], losses[1], float(snap.grads[name][index]))
