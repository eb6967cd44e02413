"""The CS231n case study's two loops, as the notes print them: the one source of their text.

``LINEAR`` and ``NET`` are the notes' code verbatim (Python 3's ``print()`` and ``range``
are the only edits, and ``print`` keeps the notes' format). Three things read them:

- ``run_notes`` executes them as they are: the verbatim oracle of the tests, the benchmark's baseline;
- ``script`` and ``program`` (below) edit them, stated and checked, into the exported script and
  into the lines the Explain tab shows for any model, loss, optimizer and batch size.

The notes draw from the global ``np.random``; ``run_notes`` hands the code a namespace whose
``np.random`` is a given ``RandomState``: the code runs unchanged on the project's one random stream.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
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


# -- The loops for every model, loss, optimizer and batch size -----------------------------------
#
# The notes run one thing: full-batch gradient descent on the softmax loss. Every other run the
# app can make is the notes' text with stated edits, each a ``replace_line`` that raises if the
# line it names is not there exactly once. Two kinds:
#
# - what the run computes differently (``program``): the SVM loss in place of the softmax, a
#   minibatch, momentum or Adam. The Explain tab shows these lines;
# - what a standalone script needs to print what ``python -m softmax train`` prints (``script``):
#   the one random stream (``rng``, not the global ``np.random``), this run's settings, a softmax
#   that cannot overflow, and the trainer's stop when the loss blows up.
#
# Edited lines carry a comment above them that starts with EDIT, saying why.

EDIT = "# [edit] "
# The notes' names of each model's parameters, in update order (the net's first layer is W, b).
NOTES_PARAMS = {"linear": ("W", "b"), "two-layer": ("W", "b", "W2", "b2")}
MOMENTUM, BETA1, BETA2, EPSILON = 0.9, 0.9, 0.999, 1e-8  # optim.py's defaults (the tests compare the two)


@dataclass(frozen=True)
class Edit:
    """The one line of the notes' code whose stripped text is ``old`` becomes the lines of ``new``
    (at its indent), with ``why`` above them as an EDIT comment (none when ``why`` is empty)."""

    old: str
    new: str
    why: str = ""


@dataclass(frozen=True)
class ScriptSettings:
    """What a standalone script fixes that the notes leave to the page: the numbers of one run."""

    step_size: float
    reg: float
    iterations: int
    print_every: int
    hidden: int
    notes_init: bool  # the notes' stream: W drawn four times first (see ``models.base.notes_draws``)
    blowup: float  # a loss this many times the first one means the run diverged (``run.BLOWUP_FACTOR``)
    diverged: str  # the message for that, with %d for the iteration (``cli.diverged_line``)
    infinite: str  # the message for a step that makes the loss infinite, with %d


def apply_edits(text: str, edits: list[Edit]) -> str:
    """``text`` with every edit made by ``replace_line`` (which raises if its line is missing or repeated).

    The EDIT comment goes above the new lines, or below the old line when the edit only adds lines after it.
    """
    for edit in edits:
        new = edit.new
        if edit.why:
            comment = EDIT + edit.why
            kept = new.startswith(edit.old + "\n")
            new = f"{edit.old}\n{comment}{new[len(edit.old):]}" if kept else f"{comment}\n{new}"
        text = replace_line(text, edit.old, new)
    return text


def _lines(*parts: str) -> str:
    return "\n".join(parts)


def _edits(model: str, loss: str, optimizer: str, batch_size: int, batch_seed: list[int],
           script: ScriptSettings | None) -> list[Edit]:
    """The edits that make the notes' ``model`` loop compute this run (and, with ``script``, print
    what the command line prints). Each notes line is edited at most once. ``batch_seed`` seeds
    the minibatches' own ``RandomState``."""
    if model not in LOOPS:
        raise ValueError(f"model must be one of {', '.join(LOOPS)}, got {model!r}")
    if loss not in ("softmax", "svm") or optimizer not in ("sgd", "momentum", "adam") or batch_size < 0:
        raise ValueError(f"no such run: loss {loss!r}, optimizer {optimizer!r}, batch size {batch_size!r}")
    net = model == "two-layer"
    params = NOTES_PARAMS[model]
    svm, batch, stable = loss == "svm", batch_size > 0, script is not None
    rows, labels = ("batch_size", "y[idx]") if batch else ("num_examples", "y")
    edits: list[Edit] = []

    # -- the initialization: the one random stream, and the optimizer's state
    if script is not None:
        first = "W = 0.01 * np.random.randn(D,h)" if net else "W = 0.01 * np.random.randn(D,K)"
        if net and script.notes_init:
            edits.append(Edit(first, _lines("for _ in range(4):", "  rng.randn(D,K)",
                                            first.replace("np.random", "rng")),
                              "the notes' page draws the linear classifier's W = 0.01 * np.random.randn(D,K) four "
                              "times from its one random stream before the net's weights: so does this script"))
        elif script.notes_init:
            edits.append(Edit(first, _lines("for _ in range(3):", "  rng.randn(D,K)",
                                            first.replace("np.random", "rng")),
                              "the notes' page draws this W four times from its one random stream (the data's); "
                              "its published run uses the fourth draw: so does this script"))
        else:
            edits.append(Edit(first, first.replace("np.random", "rng"),
                              "drawn from the data's random stream, right after the data"))
        if net:
            second = "W2 = 0.01 * np.random.randn(h,K)"
            edits.append(Edit(second, second.replace("np.random", "rng")))
    last_bias = "b2 = np.zeros((1,K))" if net else "b = np.zeros((1,K))"
    zeros = ", ".join(f"np.zeros_like({p})" for p in params)
    if optimizer == "momentum":
        edits.append(Edit(last_bias, _lines(last_bias, f"mu = {MOMENTUM!r} # momentum",
                                            f"{', '.join('v' + p for p in params)} = {zeros} # velocities start at 0"),
                          "momentum (the notes take plain gradient steps): each parameter keeps a velocity"))
    elif optimizer == "adam":
        edits.append(Edit(last_bias, _lines(
            last_bias, f"beta1, beta2, eps = {BETA1!r}, {BETA2!r}, {EPSILON!r}",
            f"{', '.join('m' + p for p in params)} = {zeros} # running average of the gradient",
            f"{', '.join('v' + p for p in params)} = {zeros} # running average of its square",
            "t = 0 # updates so far"),
            "Adam (the notes take plain gradient steps): running averages of each gradient and its square"))
    if batch:
        line = "num_examples = X.shape[0]"
        edits.append(Edit(line, _lines(line, f"batch_size = {batch_size} # points per update",
                                       f"batch_rng = np.random.RandomState({batch_seed!r})"),
                          "minibatches (the notes use every point in every update), drawn from a random stream "
                          "of their own"))

    # -- the loop's forward pass: the loss, and (script) a softmax that cannot overflow
    if script is not None:
        edits.append(Edit(f"for i in range({script.iterations}):", f"for i in range({script.iterations} + 1):",
                          "one pass more than there are updates: the last one computes the final weights' loss, "
                          "to stop there if it blew up, as the app's trainer does"))
        edits.append(Edit(f"if i % {script.print_every} == 0:", f"if i % {script.print_every} == 0 and "
                          f"i < {script.iterations}:"))
    probs_lines = _probs(svm, stable, "num_examples", "y")
    if svm:
        edits += [
            Edit("# compute the class probabilities", "# compute the margins, [N x K]",
                 "the multiclass SVM loss (the notes use the softmax): the margins s_j - s_y + 1 of the classes "
                 "j != y, and only the positive ones count"),
            Edit("exp_scores = np.exp(scores)", probs_lines[0]),
            Edit("probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True) # [N x K]",
                 _lines(*probs_lines[1:])),
            Edit("# compute the loss: average cross-entropy loss and regularization",
                 "# compute the loss: average hinge loss and regularization"),
            Edit("corect_logprobs = -np.log(probs[range(num_examples),y])",
                 f"{EDIT}no log-probabilities: the hinge loss is the sum of the positive margins"),
            Edit("data_loss = np.sum(corect_logprobs)/num_examples", "data_loss = np.sum(margins)/num_examples"),
        ]
    elif stable:
        edits += [
            Edit("exp_scores = np.exp(scores)", _lines(*probs_lines[:2]),
                 "the row's largest score subtracted first: the same probabilities, and exp() cannot overflow "
                 "however large the scores grow"),
            Edit("corect_logprobs = -np.log(probs[range(num_examples),y])",
                 "corect_logprobs = np.log(np.sum(exp_scores, axis=1)) - shifted[range(num_examples),y]",
                 "-log(probs[i, y_i]) written out: finite even where a probability underflows to 0"),
        ]
    if script is not None:
        undo = ", ".join(params) + " = " + ", ".join(p + "_prev" for p in params)
        edits.append(Edit("loss = data_loss + reg_loss", _lines(
            "loss = data_loss + reg_loss", "if not np.isfinite(loss):", f"  {undo} # undo that step",
            f'  print("{script.infinite}" % (i - 1))', "  break"),
            "a step that makes the loss infinite is undone, and the run stops (the app's trainer does the same)"))

    # -- before the backward pass: the trainer's stop, and (minibatch) the batch's own forward pass
    before: list[str] = []
    if script is not None:
        before += [f"{EDIT}a loss {script.blowup:g} times the first one means the steps overshoot: stop, as the "
                   "app's trainer does", "if i == 0:", "  initial_loss = loss",
                   f"elif loss > {script.blowup!r} * initial_loss:", f'  print("{script.diverged}" % i)', "  break",
                   f"if i == {script.iterations}:", "  break # the final weights' loss is computed: no update", ""]
    if batch:
        forward = (["hidden_layer = np.maximum(0, np.dot(X[idx], W) + b) # note, ReLU activation",
                    "scores = np.dot(hidden_layer, W2) + b2"] if net else ["scores = np.dot(X[idx], W) + b"])
        before += [f"{EDIT}the update's gradient comes from batch_size points drawn at random (with replacement): "
                   "their scores first", "idx = batch_rng.randint(num_examples, size=batch_size)", *forward,
                   *_probs(svm, stable, rows, labels), ""]
    if before:
        edits.append(Edit("# compute the gradient on scores", _lines(*before, "# compute the gradient on scores")))

    # -- the backward pass
    if svm:
        edits += [Edit("dscores = probs", "dscores = (margins > 0).astype(float) # +1 at every violated margin"),
                  Edit("dscores[range(num_examples),y] -= 1",
                       f"dscores[range({rows}),{labels}] -= np.sum(margins > 0, axis=1) # minus their count at y")]
    elif batch:
        edits.append(Edit("dscores[range(num_examples),y] -= 1", f"dscores[range({rows}),{labels}] -= 1",
                          "the minibatch's rows and labels"))
    if batch:
        edits.append(Edit("dscores /= num_examples", "dscores /= batch_size", "the mean over the minibatch"))
        into = "dhidden" if net else "dscores"
        edits.append(Edit(f"dW = np.dot(X.T, {into})", f"dW = np.dot(X[idx].T, {into})", "the minibatch's points"))

    # -- the update
    if script is not None:
        keep = ", ".join(p + "_prev" for p in params) + " = " + ", ".join(p + ".copy()" for p in params)
        edits.append(Edit("# perform a parameter update", _lines(f"{keep} # to undo a step whose loss is infinite",
                                                                "# perform a parameter update")))
    if optimizer == "momentum":
        for k, p in enumerate(params):
            edits.append(Edit(f"{p} += -step_size * d{p}",
                              _lines(f"v{p} = mu * v{p} - step_size * d{p}", f"{p} += v{p}"),
                              "" if k else "momentum: the velocity keeps 0.9 of itself and takes the step; "
                              "the parameter moves by the velocity"))
    elif optimizer == "adam":
        for k, p in enumerate(params):
            edits.append(Edit(f"{p} += -step_size * d{p}", _lines(
                *(["t += 1"] if k == 0 else []),
                f"m{p} = beta1 * m{p} + (1 - beta1) * d{p}",
                f"v{p} = beta2 * v{p} + (1 - beta2) * (d{p} * d{p})",
                f"{p} += -step_size * (m{p} / (1 - beta1**t)) / (np.sqrt(v{p} / (1 - beta2**t)) + eps)"),
                "" if k else "Adam: each entry steps by the averaged gradient over the root of its averaged "
                "square, both corrected for starting at 0"))
    return edits


def _probs(svm: bool, stable: bool, rows: str, labels: str) -> list[str]:
    """The lines that turn ``scores`` into ``probs`` (softmax) or ``margins`` (SVM) for ``rows`` examples."""
    if svm:
        return [f"correct_class_scores = scores[range({rows}),{labels}].reshape(-1, 1)",
                "margins = np.maximum(0, scores - correct_class_scores + 1) # [N x K]",
                f"margins[range({rows}),{labels}] = 0 # the true class is not a margin"]
    if stable:
        return ["shifted = scores - np.max(scores, axis=1, keepdims=True)", "exp_scores = np.exp(shifted)",
                "probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True) # [N x K]"]
    return ["exp_scores = np.exp(scores)", "probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True) # [N x K]"]


def program(model: str, loss: str = "softmax", optimizer: str = "sgd", batch_size: int = 0,
            batch_seed: list[int] | None = None) -> str:
    """The notes' loop and accuracy lines for ``model``, edited to compute what a run with this loss,
    optimizer and batch size computes: the text the Explain tab shows line by line. The notes'
    own run (softmax, gradient descent, every point) is the notes' text unchanged."""
    loop, accuracy = LOOPS[model]
    return apply_edits(loop, _edits(model, loss, optimizer, batch_size, batch_seed or [0], None)) + "\n" + accuracy


def script(model: str, loss: str, optimizer: str, batch_size: int, batch_seed: list[int],
           settings: ScriptSettings) -> str:
    """The notes' loop and accuracy lines, edited into the body of a standalone script that prints
    what ``python -m softmax train`` prints for this run (it expects X, y, D, K and ``rng``)."""
    loop, accuracy = LOOPS[model]
    s = settings
    text = with_settings(loop, step_size=s.step_size, reg=s.reg, iterations=s.iterations,
                         print_every=s.print_every, hidden=s.hidden if model == "two-layer" else None)
    return apply_edits(text, _edits(model, loss, optimizer, batch_size, batch_seed, s)) + "\n" + accuracy


def edited_lines(text: str, model: str) -> list[tuple[str, bool]]:
    """Each line of an edited loop (``program``'s text) and whether it differs from the notes' text
    (an edit, or an EDIT comment): lines of the notes' own text are matched in order."""
    loop, accuracy = LOOPS[model]
    original = (loop + "\n" + accuracy).split("\n")
    lines = text.split("\n")
    matcher = difflib.SequenceMatcher(a=original, b=lines, autojunk=False)
    same = [False] * len(lines)
    for block in matcher.get_matching_blocks():
        for j in range(block.b, block.b + block.size):
            same[j] = True
    return [(line, not kept) for line, kept in zip(lines, same, strict=True)]
