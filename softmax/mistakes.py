"""What if the code were wrong? The classic mistakes in the notes' loop, run in a sandbox.

Each mistake is one edit to the notes' own loop text (softmax/notes.py), executed on copies
of the weights: the real model code is never touched. A mistake gives the gradient it would
compute at a snapshot's weights (so the gradient check can judge it) and a short run beside
the correct one (so the loss curve shows what it does). A mistake that cannot even run -- X
where X.T belongs multiplies (N, D) by (N, K) -- is reported with numpy's own words and the
shapes, not a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from .notes import LINEAR, NET, replace_line
from .snapshot import Snapshot


@dataclass(frozen=True)
class Mistake:
    title: str
    why: str
    edits: tuple[tuple[str, str], ...]  # (line of the notes, what it becomes)


# The correct code subtracts each row's max before exp (softmax.models.losses); the notes' text does not.
STABLE = ("exp_scores = np.exp(scores)", "exp_scores = np.exp(scores - np.max(scores, axis=1, keepdims=True))")

MISTAKES: dict[str, Mistake] = {
    "no-mean": Mistake(
        "Forget the /N", "Every dscores row is N times too large, so dW and db are the sum over the examples "
        "instead of the mean: N times too large, and a step size that worked now overshoots.",
        (("dscores /= num_examples", ""),)),
    "no-minus-one": Mistake(
        "Forget the −1 at the true class", "dscores becomes p/N: every score is pushed down, the true class's too, "
        "and nothing ever pulls the right answer up.",
        (("dscores[range(num_examples),y] -= 1", ""),)),
    "no-reg": Mistake(
        "Drop reg*W", "The loss still includes ½·reg·ΣW², but the gradient forgets its part: the check sees "
        "exactly reg·W of difference.",
        (("dW += reg*W # regularization gradient", ""), ("dW += reg * W", ""), ("dW2 += reg * W2", ""))),
    "x-not-transposed": Mistake(
        "X where X.T belongs", "dW[d, k] sums X[i, d]·dscores[i, k] over the examples i: X.T lines the examples "
        "up. np.dot(X, dscores) multiplies (N, D) by (N, K), which numpy refuses.",
        (("dW = np.dot(X.T, dscores)", "dW = np.dot(X, dscores)"), ("dW = np.dot(X.T, dhidden)",
                                                                   "dW = np.dot(X, dhidden)"))),
    "no-max-shift": Mistake(
        "Forget the row-max shift", "exp() of a score above ~709 is infinite in float64, and inf/inf is NaN: "
        "with large scores (a large step size) the loss and the gradient turn to NaN. Subtracting each row's "
        "max first changes no probability and keeps every exp() at most 1.",
        ()),
    "sign-flip": Mistake(
        "A sign flip in the update", "W += step·dW climbs the loss instead of descending it: the loss grows "
        "every iteration.",
        (("W += -step_size * dW", "W += step_size * dW"), ("W2 += -step_size * dW2", "W2 += step_size * dW2"))),
}

# The names the notes use for this project's parameters.
_NOTES_NAMES = {"linear": {"W": "W", "b": "b"}, "two-layer": {"W1": "W", "b1": "b", "W2": "W2", "b2": "b2"}}


class ShapeMistake(ValueError):
    """The mistaken code does not run: numpy's message and the shapes involved."""


def loop_text(model: str, mistake: str | None, iterations: int, step_size: float, reg: float) -> str:
    """The notes' loop for ``model`` from given weights (no initialization lines), with the row-max shift
    the real code has, and with ``mistake``'s edits (None: correct)."""
    text = LINEAR if model == "linear" else NET
    text = text[text.index("# gradient descent loop"):]  # the weights come from the caller
    text = replace_line(text, "for i in range(200):" if model == "linear" else "for i in range(10000):",
                        f"for i in range({iterations}):")
    text = text.replace("  if i % 10 == 0:\n", "  if False:\n").replace("  if i % 1000 == 0:\n", "  if False:\n")
    if mistake != "no-max-shift":
        text = replace_line(text, *STABLE)
    edits = MISTAKES[mistake].edits if mistake else ()
    for old, new in edits:
        if any(line.strip() == old for line in text.split("\n")):
            text = replace_line(text, old, new or "pass")
    return f"step_size = {step_size!r}\nreg = {reg!r}\nlosses = []\n" + text.replace(
        "  loss = data_loss + reg_loss\n", "  loss = data_loss + reg_loss\n  losses.append(loss)\n")


def _execute(model: str, text: str, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]) -> dict[str, Any]:
    names = _NOTES_NAMES[model]
    scope: dict[str, Any] = {"np": SimpleNamespace(**{n: getattr(np, n) for n in dir(np) if not n.startswith("__")}),
                             "X": np.asarray(X), "y": np.asarray(y)}
    for ours, theirs in names.items():
        value = np.array(params[ours], dtype=float)
        scope[theirs] = value[None, :] if value.ndim == 1 else value  # the notes keep biases as (1, K) rows
    try:
        with np.errstate(all="ignore"):
            exec(compile(text, "<the notes' loop, with a mistake>", "exec"), scope)  # noqa: S102 -- our own text
    except ValueError as exc:  # e.g. matmul: shapes (300,2) and (300,3) not aligned
        raise ShapeMistake(f"{exc} — X is {np.shape(X)}, dscores is ({len(y)}, K)") from None
    return scope


def mistaken_gradient(snap: Snapshot, mistake: str | None) -> dict[str, np.ndarray]:
    """The gradient the notes' loop would compute at the snapshot's weights with ``mistake`` made (None:
    the correct one), by this project's parameter names."""
    model = snap.model.name
    scope = _execute(model, loop_text(model, mistake, 1, 0.0, snap.reg), snap.X, snap.y, dict(snap.params))
    grads = {ours: np.array(scope["d" + theirs]) for ours, theirs in _NOTES_NAMES[model].items()}
    return {name: (g[0] if g.ndim == 2 and snap.params[name].ndim == 1 else g) for name, g in grads.items()}


def mistaken_run(snap: Snapshot, mistake: str | None, iterations: int = 100) -> np.ndarray:
    """Losses (iterations,) of a short run from the snapshot's weights with ``mistake`` made (None: correct)."""
    model = snap.model.name
    text = loop_text(model, mistake, iterations, snap.step_size, snap.reg)
    return np.array(_execute(model, text, snap.X, snap.y, dict(snap.params))["losses"], dtype=float)
