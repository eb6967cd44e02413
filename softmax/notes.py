"""The CS231n case study's two loops, as the notes print them: the one source of their text.

``LINEAR`` and ``NET`` are the notes' code verbatim (Python 3's ``print()`` and ``range``
are the only edits, and ``print`` keeps the notes' format). Three things read them:

- ``run_notes`` executes them as they are: the verbatim oracle the tests compare the
  trainer with, and the baseline the benchmark times;
- ``softmax.export`` turns them into a standalone script with stated, checked edits;
- the Explain tab shows them line by line.

The notes draw from the global ``np.random``; ``run_notes`` hands the code a namespace whose
``np.random`` is a given ``RandomState``, so the code runs unchanged on the project's one
random stream and the global state is never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

LINEAR = """\
# initialize parameters randomly
W = 0.01 * np.random.randn(D,K)
b = np.zeros((1,K))

# some hyperparameters
step_size = 1e-0
reg = 1e-3 # regularization strength

# gradient descent loop
num_examples = X.shape[0]
for i in range(200):

  # evaluate class scores, [N x K]
  scores = np.dot(X, W) + b

  # compute the class probabilities
  exp_scores = np.exp(scores)
  probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True) # [N x K]

  # compute the loss: average cross-entropy loss and regularization
  corect_logprobs = -np.log(probs[range(num_examples),y])
  data_loss = np.sum(corect_logprobs)/num_examples
  reg_loss = 0.5*reg*np.sum(W*W)
  loss = data_loss + reg_loss
  if i % 10 == 0:
    print("iteration %d: loss %f" % (i, loss))

  # compute the gradient on scores
  dscores = probs
  dscores[range(num_examples),y] -= 1
  dscores /= num_examples

  # backpropate the gradient to the parameters (W,b)
  dW = np.dot(X.T, dscores)
  db = np.sum(dscores, axis=0, keepdims=True)

  dW += reg*W # regularization gradient

  # perform a parameter update
  W += -step_size * dW
  b += -step_size * db
"""

LINEAR_ACCURACY = """\
# evaluate training set accuracy
scores = np.dot(X, W) + b
predicted_class = np.argmax(scores, axis=1)
print('training accuracy: %.2f' % (np.mean(predicted_class == y)))
"""

NET = """\
# initialize parameters randomly
h = 100 # size of hidden layer
W = 0.01 * np.random.randn(D,h)
b = np.zeros((1,h))
W2 = 0.01 * np.random.randn(h,K)
b2 = np.zeros((1,K))

# some hyperparameters
step_size = 1e-0
reg = 1e-3 # regularization strength

# gradient descent loop
num_examples = X.shape[0]
for i in range(10000):

  # evaluate class scores, [N x K]
  hidden_layer = np.maximum(0, np.dot(X, W) + b) # note, ReLU activation
  scores = np.dot(hidden_layer, W2) + b2

  # compute the class probabilities
  exp_scores = np.exp(scores)
  probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True) # [N x K]

  # compute the loss: average cross-entropy loss and regularization
  corect_logprobs = -np.log(probs[range(num_examples),y])
  data_loss = np.sum(corect_logprobs)/num_examples
  reg_loss = 0.5*reg*np.sum(W*W) + 0.5*reg*np.sum(W2*W2)
  loss = data_loss + reg_loss
  if i % 1000 == 0:
    print("iteration %d: loss %f" % (i, loss))

  # compute the gradient on scores
  dscores = probs
  dscores[range(num_examples),y] -= 1
  dscores /= num_examples

  # backpropate the gradient to the parameters
  # first backprop into parameters W2 and b2
  dW2 = np.dot(hidden_layer.T, dscores)
  db2 = np.sum(dscores, axis=0, keepdims=True)
  # next backprop into hidden layer
  dhidden = np.dot(dscores, W2.T)
  # backprop the ReLU non-linearity
  dhidden[hidden_layer <= 0] = 0
  # finally into W,b
  dW = np.dot(X.T, dhidden)
  db = np.sum(dhidden, axis=0, keepdims=True)

  # add regularization gradient contribution
  dW2 += reg * W2
  dW += reg * W

  # perform a parameter update
  W += -step_size * dW
  b += -step_size * db
  W2 += -step_size * dW2
  b2 += -step_size * db2
"""

NET_ACCURACY = """\
# evaluate training set accuracy
hidden_layer = np.maximum(0, np.dot(X, W) + b)
scores = np.dot(hidden_layer, W2) + b2
predicted_class = np.argmax(scores, axis=1)
print('training accuracy: %.2f' % (np.mean(predicted_class == y)))
"""

LOOPS = {"linear": (LINEAR, LINEAR_ACCURACY), "two-layer": (NET, NET_ACCURACY)}
# The notes name the net's first layer W and b; this project calls them W1 and b1.
NOTES_NAMES = {"linear": {"W": "W", "b": "b"}, "two-layer": {"W1": "W", "b1": "b", "W2": "W2", "b2": "b2"}}


def replace_line(text: str, old: str, new: str) -> str:
    """``text`` with the one line whose stripped form is ``old`` replaced by ``new`` (same indent).

    Raises if there is not exactly one such line: an edit to the notes must say what it changes.
    """
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if line.strip() == old]
    if len(hits) != 1:
        raise ValueError(f"expected one line {old!r} in the notes' code, found {len(hits)}")
    i = hits[0]
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    lines[i : i + 1] = [indent + part if part else part for part in new.split("\n")]
    return "\n".join(lines)


def with_settings(text: str, *, step_size: float, reg: float, iterations: int, print_every: int,
                  hidden: int | None = None) -> str:
    """The notes' code with its hyperparameters, iteration count and print interval set."""
    loops = {LINEAR: (200, 10), NET: (10000, 1000)}
    default_iterations, default_every = loops.get(text, (None, None))
    if default_iterations is None:
        raise ValueError("not one of the notes' loops")
    original = text
    text = replace_line(text, "step_size = 1e-0", f"step_size = {step_size!r}")
    text = replace_line(text, "reg = 1e-3 # regularization strength", f"reg = {reg!r} # regularization strength")
    text = replace_line(text, f"for i in range({default_iterations}):", f"for i in range({iterations}):")
    text = replace_line(text, f"if i % {default_every} == 0:", f"if i % {print_every} == 0:")
    if hidden is not None and original is NET:
        text = replace_line(text, "h = 100 # size of hidden layer", f"h = {hidden} # size of hidden layer")
    return text


def run_notes(model: str, X: np.ndarray, y: np.ndarray, rng: np.random.RandomState, *, K: int | None = None,
              step_size: float = 1.0, reg: float = 1e-3, iterations: int | None = None,
              print_every: int | None = None, hidden: int = 100,
              log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Execute the notes' loop and accuracy lines for ``model`` ("linear" or "two-layer") as printed.

    ``rng`` plays the global ``np.random`` (the notes' initialization draws from it). Returns the
    code's variables at the end (W, b, ...; loss is the last iteration's). ``log`` receives each
    printed line.
    """
    loop, accuracy = LOOPS[model]
    default_iterations, default_every = (200, 10) if model == "linear" else (10000, 1000)
    code = with_settings(loop, step_size=step_size, reg=reg, iterations=iterations or default_iterations,
                         print_every=print_every or default_every, hidden=hidden if model == "two-layer" else None)
    printed: list[str] = []

    def _print(*args: Any) -> None:
        line = " ".join(str(a) for a in args)
        printed.append(line)
        if log is not None:
            log(line)

    notes_np = SimpleNamespace(**{name: getattr(np, name) for name in dir(np) if not name.startswith("__")})
    notes_np.random = rng
    scope: dict[str, Any] = {"np": notes_np, "X": X, "y": y, "D": X.shape[1], "K": K or int(y.max()) + 1,
                             "print": _print}
    exec(compile(code + accuracy, f"<CS231n notes: {model}>", "exec"), scope)  # noqa: S102 -- our own text
    scope["printed"] = printed
    return scope
