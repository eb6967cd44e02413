"""Where each number of the gradient comes from, read off a snapshot.

Everything here is arithmetic on the model's own intermediates (scores, probs,
dscores, dW_data, dW_reg, db of the snapshot); nothing recomputes the forward pass.
Shapes: N examples, D inputs, K classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .snapshot import Snapshot


@dataclass(frozen=True)
class Example:
    """One training example i and its share of the gradient.

    x (D,), scores (K,), probs (K,), onehot (K,), residual (K,) = probs - onehot, dscores (K,) = residual / N,
    contribution (D, K) = outer(x, dscores): example i's term of dW = X.T @ dscores.
    """

    index: int
    label: int
    x: np.ndarray
    scores: np.ndarray
    probs: np.ndarray
    onehot: np.ndarray
    residual: np.ndarray
    loss: float
    dscores: np.ndarray
    contribution: np.ndarray


def example(snap: Snapshot, i: int) -> Example:
    """Example i of the snapshot, with its row of every intermediate."""
    N = len(snap.y)
    if not 0 <= i < N:
        raise ValueError(f"example index must be between 0 and {N - 1}, got {i}")
    label = int(snap.y[i])
    scores = snap.parts["scores"][i]
    onehot = np.zeros(len(scores))
    onehot[label] = 1.0
    # -log p_y from the scores (log-sum-exp), exact even where p_y underflows to 0
    top = scores.max()
    loss = float(top + np.log(np.sum(np.exp(scores - top))) - scores[label])
    return Example(
        index=i, label=label, x=snap.X[i], scores=scores, probs=snap.parts["probs"][i], onehot=onehot,
        residual=snap.parts["probs"][i] - onehot, loss=loss,
        dscores=snap.parts["dscores"][i], contribution=np.outer(snap.X[i], snap.parts["dscores"][i]),
    )


def contributions(snap: Snapshot) -> np.ndarray:
    """(N, D, K): example i's term outer(x_i, dscores_i) of dW's data part."""
    return snap.X[:, :, None] * snap.parts["dscores"][:, None, :]


@dataclass(frozen=True)
class GradientSums:
    """dW and db rebuilt from their parts, beside the model's own values.

    sum_contributions (D, K) = sum_i outer(x_i, dscores_i), next to dW_data = X.T @ dscores;
    sum_dscores (K,) = sum_i dscores_i, next to db; dW_reg (D, K) = reg * W; dW = dW_data + dW_reg.
    """

    sum_contributions: np.ndarray
    dW_data: np.ndarray
    dW_reg: np.ndarray
    dW: np.ndarray
    sum_dscores: np.ndarray
    db: np.ndarray
    reg_times_W: np.ndarray


def gradient_sums(snap: Snapshot) -> GradientSums:
    # math.fsum-like accuracy is not needed: both sides sum the same N terms in float64
    return GradientSums(
        sum_contributions=contributions(snap).sum(axis=0),
        dW_data=snap.grads_data["W"],
        dW_reg=snap.grads_reg["W"],
        dW=snap.grads["W"],
        sum_dscores=snap.parts["dscores"].sum(axis=0),
        db=snap.grads["b"],
        reg_times_W=snap.reg * snap.params["W"],
    )


def _row(a: np.ndarray, digits: int = 4) -> str:
    return "[" + ", ".join(f"{v:.{digits}g}" for v in np.ravel(a)) + "]"


def seed_lines(snap: Snapshot, i: int = 0) -> list[tuple[str, str]]:
    """The CS231n loop, line by line, each beside what it computes at this snapshot (example i's row)."""
    e = example(snap, i)
    N, K = snap.parts["probs"].shape
    nxt_W, nxt_b = snap.next_params["W"], snap.next_params["b"]
    return [
        ("scores = np.dot(X, W) + b", f"({N}, {K}); row {i}: {_row(e.scores)}"),
        ("exp_scores = np.exp(scores)", "this app uses exp(scores - row max): the same probs, never an overflow"),
        ("probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)", f"({N}, {K}); row {i}: {_row(e.probs)}"),
        ("corect_logprobs = -np.log(probs[range(num_examples),y])", f"({N},); entry {i}: {e.loss:.6f}"),
        ("data_loss = np.sum(corect_logprobs)/num_examples", f"{snap.data_loss:.6f}"),
        ("reg_loss = 0.5*reg*np.sum(W*W)", f"{snap.reg_loss:.6g}"),
        ("loss = data_loss + reg_loss", f"{snap.loss:.6f}"),
        ("dscores = probs", f"row {i}: {_row(e.probs)}"),
        ("dscores[range(num_examples),y] -= 1", f"row {i}: {_row(e.residual)} (1 taken off class {e.label})"),
        ("dscores /= num_examples", f"row {i}: {_row(e.dscores)} (divided by N = {N})"),
        ("dW = np.dot(X.T, dscores)", _row(snap.grads_data["W"])),
        ("db = np.sum(dscores, axis=0, keepdims=True)", _row(snap.grads["b"])),
        ("dW += reg*W", f"{_row(snap.grads['W'])} (added reg*W = {_row(snap.grads_reg['W'])})"),
        ("W += -step_size * dW", f"next W = {_row(nxt_W)}"),
        ("b += -step_size * db", f"next b = {_row(nxt_b)}"),
    ]
