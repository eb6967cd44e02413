"""Where each number of the gradient comes from, read off a snapshot, for any model and loss.

Everything here is arithmetic on the snapshot's own intermediates (``parts``: scores, probs
or margins, dscores, a net's hidden and dhidden) and its gradients (``grads``, ``grads_data``,
``grads_reg``, ``next_params``); nothing recomputes the forward pass. What is rebuilt here
(sums of per-example terms, one example's row of ``dhidden`` before the ReLU gate) is set
beside the model's own value, which is the point: the two agree.

Shapes: N examples, D inputs, K classes, H hidden units. Parameters by name: the linear
model's W (D, K), b (K,); the net's W1 (D, H), b1 (H,), W2 (H, K), b2 (K,).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import notes
from .config import OWN, Config, format_value
from .models import make_model
from .run import make_data
from .snapshot import Snapshot

CHUNK = 256  # examples per block when summing per-example terms (bounds the memory of an (n, H, K) block)
CANCEL = 0.05  # |data + reg| below this fraction of the larger part: the two cancel (an optimum)
CHECK_WORK = 2_400_000  # entries x examples x classes a gradient check on the page may evaluate (~2 s here)


# -- one example ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    """Training example i, its row of every intermediate, and where its dscores row comes from.

    x (D,), scores (K,), dscores (K,) = residual / N (the snapshot's own row), onehot (K,);
    ``residual`` (K,) is N * dscores as the loss builds it: p - onehot (softmax) or
    [margin > 0] - (number of violated margins) * onehot (SVM). ``loss`` is L_i.
    Softmax: ``probs`` (K,). SVM: ``margins`` (K,) (s_j - s_y + 1, 0 at the true class) and
    ``active`` (K,) bool, ``violated`` their count. ``softmax_probs`` and ``softmax_residual``
    (K,) are the softmax's p and p - onehot of these same scores (the SVM's comparison).
    Net: ``hidden`` (H,) and ``dhidden`` (H,) (after the ReLU gate), ``dhidden_pre`` (H,)
    = dscores_i @ W2.T before it, ``on`` (H,) bool where the ReLU passes (hidden > 0).
    """

    index: int
    label: int
    N: int
    x: np.ndarray
    scores: np.ndarray
    onehot: np.ndarray
    residual: np.ndarray
    dscores: np.ndarray
    loss: float
    loss_name: str
    softmax_probs: np.ndarray
    softmax_residual: np.ndarray
    probs: np.ndarray | None = None
    margins: np.ndarray | None = None
    active: np.ndarray | None = None
    violated: int = 0
    hidden: np.ndarray | None = None
    dhidden_pre: np.ndarray | None = None
    dhidden: np.ndarray | None = None
    on: np.ndarray | None = None


def _softmax_row(scores: np.ndarray) -> np.ndarray:
    """softmax of one row of scores (K,), stably (the row max subtracted first)."""
    e = np.exp(scores - scores.max())
    return e / e.sum()


def example(snap: Snapshot, i: int) -> Example:
    """Example i of the snapshot, with its row of every intermediate."""
    N = len(snap.y)
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < N:
        raise ValueError(f"example index must be a whole number between 0 and {N - 1}, got {i!r}")
    i = int(i)
    parts = snap.parts
    label = int(snap.y[i])
    scores = parts["scores"][i]
    K = len(scores)
    onehot = np.zeros(K)
    onehot[label] = 1.0
    p = _softmax_row(scores)
    extra: dict = {}
    if "probs" in parts:
        probs = parts["probs"][i]
        top = scores.max()
        # -log p_y from the scores (log-sum-exp): exact even where p_y underflows to 0
        loss = float(top + np.log(np.sum(np.exp(scores - top))) - scores[label])
        residual, name = probs - onehot, "softmax"
        extra["probs"] = probs
    else:
        margins, active = parts["margins"][i], parts["active"][i] > 0
        violated = int(np.count_nonzero(active))
        loss = float(np.sum(margins[active]))
        residual, name = active - violated * onehot, "svm"
        extra.update(margins=margins, active=active, violated=violated)
    if "hidden" in parts:
        hidden, W2 = parts["hidden"][i], snap.params["W2"]
        extra.update(hidden=hidden, dhidden=parts["dhidden"][i], dhidden_pre=W2 @ parts["dscores"][i],
                     on=hidden > 0)
    return Example(index=i, label=label, N=N, x=snap.X[i], scores=scores, onehot=onehot, residual=residual,
                   dscores=parts["dscores"][i], loss=loss, loss_name=name, softmax_probs=p,
                   softmax_residual=p - onehot, **extra)


# -- the gradient as sums over examples -------------------------------------------------------
@dataclass(frozen=True)
class Layer:
    """One layer's backward pass as sums over the examples, beside the model's values.

    The layer computes out = inp @ weight + bias; its weights' gradient is
    d(weight) = inp.T @ up (``inp`` (N, A), ``up`` (N, B) the gradient arriving at ``out``),
    i.e. the sum over examples of outer(inp_i, up_i); d(bias) = the sum of the rows of ``up``.

    ``share_weight`` (A, B) = outer(inp_i, up_i) and ``share_bias`` (B,) = up_i: example i's
    terms. ``sum_weight`` (A, B) and ``sum_bias`` (B,): all N terms added, here; ``data_weight``,
    ``data_bias``: the model's own data part; ``reg_weight`` (A, B) = reg * weight (the model's);
    ``grad_weight``, ``grad_bias``: the model's whole gradient (what the page shows and checks).
    ``largest_difference`` and ``bias_difference``: the largest |sum - model| of the weights and of the
    bias (the order of float additions: ~1e-17).
    """

    weight: str
    bias: str
    inp: str
    up: str
    shape: tuple[int, int, int]  # (A, N, B): the product is (A x N) . (N x B) = A x B
    share_weight: np.ndarray
    share_bias: np.ndarray
    sum_weight: np.ndarray
    sum_bias: np.ndarray
    data_weight: np.ndarray
    data_bias: np.ndarray
    reg_weight: np.ndarray
    grad_weight: np.ndarray
    grad_bias: np.ndarray
    largest_difference: float
    bias_difference: float


def sum_of_outer(inp: np.ndarray, up: np.ndarray) -> np.ndarray:
    """sum_i outer(inp_i, up_i) (A, B) of inp (N, A) and up (N, B), added example by example
    (in blocks of CHUNK: the terms are formed, then added), not as one matrix product."""
    total = np.zeros((inp.shape[1], up.shape[1]))
    for start in range(0, len(inp), CHUNK):
        block = inp[start : start + CHUNK, :, None] * up[start : start + CHUNK, None, :]
        total += block.sum(axis=0)
    return total


def _layer(snap: Snapshot, i: int, weight: str, bias: str, inp_name: str, up_name: str) -> Layer:
    inp = snap.X if inp_name == "X" else snap.parts[inp_name]
    up = snap.parts[up_name]
    sum_w, sum_b = sum_of_outer(inp, up), up.sum(axis=0)
    data_w, data_b = snap.grads_data[weight], snap.grads_data[bias]
    diff_w, diff_b = float(np.max(np.abs(sum_w - data_w))), float(np.max(np.abs(sum_b - data_b)))
    return Layer(weight=weight, bias=bias, inp=inp_name, up=up_name, shape=(inp.shape[1], len(inp), up.shape[1]),
                 share_weight=np.outer(inp[i], up[i]), share_bias=up[i], sum_weight=sum_w, sum_bias=sum_b,
                 data_weight=data_w, data_bias=data_b, reg_weight=snap.grads_reg[weight],
                 grad_weight=snap.grads[weight], grad_bias=snap.grads[bias], largest_difference=diff_w,
                 bias_difference=diff_b)


def layers(snap: Snapshot, i: int) -> list[Layer]:
    """The backward pass, from the scores back to the input, one Layer per weight matrix:
    the linear model's (W, b) with X as the input; the net's (W2, b2) with the hidden layer as the
    input, then (W1, b1) with X as the input and dhidden (after the ReLU gate) arriving."""
    if "hidden" in snap.parts:
        return [_layer(snap, i, "W2", "b2", "hidden", "dscores"), _layer(snap, i, "W1", "b1", "X", "dhidden")]
    return [_layer(snap, i, "W", "b", "X", "dscores")]


@dataclass(frozen=True)
class Gate:
    """The ReLU's backward step, dhidden[hidden <= 0] = 0, for example i and for all N.

    ``before`` (H,) = dscores_i @ W2.T, ``after`` (H,) the snapshot's dhidden_i; ``on`` (H,)
    where hidden_i > 0. ``on_count`` for example i; ``on_fraction`` over all N x H entries;
    ``blocked`` the sum of |before| the gate stopped for example i.
    """

    before: np.ndarray
    after: np.ndarray
    on: np.ndarray
    on_count: int
    H: int
    on_fraction: float
    blocked: float


def relu_gate(snap: Snapshot, i: int) -> Gate:
    e = example(snap, i)
    if e.hidden is None:
        raise ValueError("only the 2-layer net has a ReLU gate")
    hidden = snap.parts["hidden"]
    return Gate(before=e.dhidden_pre, after=e.dhidden, on=e.on, on_count=int(np.count_nonzero(e.on)), H=len(e.on),
                on_fraction=float(np.count_nonzero(hidden > 0)) / hidden.size,
                blocked=float(np.sum(np.abs(e.dhidden_pre[~e.on]))))


@dataclass(frozen=True)
class Balance:
    """A regularized weight's gradient as its two parts: ``data`` = |d(name)'s data part|,
    ``reg`` = |reg * name|, ``total`` = |their sum| (Frobenius norms). ``cancel``: the sum is
    below CANCEL of the larger part, i.e. the data's pull and the penalty's pull balance."""

    name: str
    data: float
    reg: float
    total: float
    cancel: bool


def balances(snap: Snapshot) -> list[Balance]:
    out = []
    for name in snap.layout.regularized:
        data = float(np.linalg.norm(snap.grads_data[name]))
        reg = float(np.linalg.norm(snap.grads_reg[name]))
        total = float(np.linalg.norm(snap.grads[name]))
        out.append(Balance(name, data, reg, total, reg > 0 and total < CANCEL * max(data, reg)))
    return out


# -- the notes' loop, line by line ------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _initial(config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, theta) of the config's run at iteration 0: the seed's data, then the weights drawn after it."""
    rng = np.random.RandomState(config.seed)
    X, y = make_data(config, rng)
    model = make_model(config.model, config.loss, config.hidden)
    return X, y, model.init(rng, X.shape[1], config.classes, config.init == "notes")


def initial_params(snap: Snapshot) -> dict[str, np.ndarray] | None:
    """The weights the run started from (what the notes' initialization lines drew), by name;
    None when the snapshot's data is not the seed's (points given by a user)."""
    if snap.config.dataset == OWN:  # a user's points: no seed's data to compare with
        return None
    X, y, theta = _initial(snap.config)
    if X.shape != snap.X.shape or not (np.array_equal(X, snap.X) and np.array_equal(y, snap.y)):
        return None
    return snap.layout.views(theta)


@dataclass(frozen=True)
class Line:
    """One line of the notes' code (verbatim, or an edit for this run's loss or optimizer),
    what it computes now, and whether it is an edit of the notes' text."""

    code: str
    value: str
    edited: bool


def _g(v: float) -> str:
    # + 0.0 turns -0.0 into 0: the ReLU's gate multiplies a negative dhidden entry by 0 (-0.0), where the
    # notes' dhidden[hidden_layer <= 0] = 0 writes 0
    return f"{v + 0.0:.4g}"


def _labelled(labels: list[str], values: np.ndarray, shape: tuple[int, ...], most: int = 9) -> str:
    """``label = value · …`` for every entry; past ``most`` entries the first few, "…" and the
    last, after the array's shape."""
    pairs = [f"{label} = {_g(float(v))}" for label, v in zip(labels, np.ravel(values), strict=True)]
    if len(pairs) <= most:
        return " · ".join(pairs)
    return f"shape {shape}: " + " · ".join([*pairs[: most - 1], "…", pairs[-1]])


def entries(name: str, a: np.ndarray, most: int = 9) -> str:
    """Every entry of a matrix or vector labelled by its index: ``W[0,0] = 0.01234 · W[0,1] = …``."""
    a = np.asarray(a)
    return _labelled([f"{name}[{','.join(map(str, ix))}]" for ix in np.ndindex(a.shape)], a, a.shape, most)


def row(name: str, values: np.ndarray, i: int, N: int) -> str:
    """Row i of an (N, K) array, given as values (K,): ``row 150 of (300, 3): name[150,0] = …``."""
    values = np.asarray(values)
    text = _labelled([f"{name}[{i},{k}]" for k in range(len(values))], values, (N, len(values)))
    return text if text.startswith("shape") else f"shape ({N}, {len(values)}): {text}"


def _as_row(a: np.ndarray) -> np.ndarray:
    """A parameter in the notes' shape: a bias (K,) as (1, K)."""
    a = np.asarray(a)
    return a if a.ndim == 2 else a.reshape(1, -1)


def notes_lines(snap: Snapshot, i: int) -> list[Line]:
    """The notes' loop for this run's model (``notes.program``: the notes' text, edited for an SVM
    loss or another optimizer), every line beside what it computes at this snapshot (example i's
    row where a line makes an (N, ...) array). Names as in the notes: the net's W1, b1 are W, b;
    biases have the notes' shape (1, K)."""
    cfg = snap.config
    e = example(snap, i)
    net = cfg.model == "two-layer"
    ours = {v: k for k, v in notes.NOTES_NAMES[cfg.model].items()}  # the notes' name -> the project's
    text = notes.program(cfg.model, cfg.loss, cfg.optimizer, 0)
    start = initial_params(snap)
    parts, N, t = snap.parts, snap.N, snap.iteration
    every = 1000 if net else 10

    def init(p: str) -> str:
        if p not in ours:  # a line of the other model's loop
            return ""
        if start is None:
            return "drawn at iteration 0 (not shown: this run's points were given, not drawn from the seed)"
        return "at iteration 0: " + entries(p, _as_row(start[ours[p]]))

    def grad(p: str, part) -> str:
        if p not in ours:
            return ""
        return entries("d" + p, _as_row(part[ours[p]]))

    def nxt(p: str) -> str:
        where = "" if cfg.batch_size == 0 else f" (a step on a minibatch of {cfg.batch_size} points)"
        return f"next{where}: " + entries(p, _as_row(snap.next_params[ours[p]]))

    with np.errstate(over="ignore"):  # a large score's exp is inf: which is what that line's note is about
        exp_row = np.exp(e.scores)
    values: dict[str, str] = {
        "h = 100 # size of hidden layer": f"this run: h = {cfg.hidden}",
        "W = 0.01 * np.random.randn(D,K)": init("W"),
        "W = 0.01 * np.random.randn(D,h)": init("W"),
        "b = np.zeros((1,K))": init("b"),
        "b = np.zeros((1,h))": init("b"),
        "W2 = 0.01 * np.random.randn(h,K)": init("W2"),
        "b2 = np.zeros((1,K))": init("b2"),
        "step_size = 1e-0": f"this run: step_size = {format_value(cfg.step_size)}",
        "reg = 1e-3 # regularization strength": f"this run: reg = {format_value(cfg.reg)}",
        "num_examples = X.shape[0]": f"{N}",
        f"for i in range({10000 if net else 200}):": f"this run: range({cfg.iterations}); now i = {t}",
        "scores = np.dot(X, W) + b": row("scores", e.scores, i, N),
        "scores = np.dot(hidden_layer, W2) + b2": row("scores", e.scores, i, N),
        "exp_scores = np.exp(scores)": row("exp_scores", exp_row, i, N)
        + " (the app subtracts the row's largest score first: the same probs, and exp cannot overflow)",
        "corect_logprobs = -np.log(probs[range(num_examples),y])": f"shape ({N},): corect_logprobs[{i}] = {_g(e.loss)}",
        "data_loss = np.sum(corect_logprobs)/num_examples": f"{snap.data_loss:.6f}",
        "data_loss = np.sum(margins)/num_examples": f"{snap.data_loss:.6f}",
        "reg_loss = 0.5*reg*np.sum(W*W)": f"{snap.reg_loss:.6g}",
        "reg_loss = 0.5*reg*np.sum(W*W) + 0.5*reg*np.sum(W2*W2)": f"{snap.reg_loss:.6g}",
        "loss = data_loss + reg_loss": f"{snap.loss:.6f}",
        f"if i % {every} == 0:": f"{t} % {every} = {t % every}: " + ("it prints" if t % every == 0 else "no print now"),
        'print("iteration %d: loss %f" % (i, loss))': ("iteration %d: loss %f" % (t, snap.loss)) if t % every == 0
        else "",
        "dscores /= num_examples": row("dscores", e.dscores, i, N) + f" (divided by N = {N})",
        "dW = np.dot(X.T, dscores)": grad("W", snap.grads_data),
        "db = np.sum(dscores, axis=0, keepdims=True)": grad("b", snap.grads_data),
        "dW += reg*W # regularization gradient": grad("W", snap.grads) + " (reg*W added: "
        + entries("reg*W", snap.grads_reg[ours["W"]]) + ")" if not net else "",
        "predicted_class = np.argmax(scores, axis=1)":
            f"shape ({N},): predicted_class[{i}] = {int(np.argmax(e.scores))} (true class {e.label})",
        "print('training accuracy: %.2f' % (np.mean(predicted_class == y)))":
            "now: training accuracy: %.2f (the notes print it after the loop)" % snap.accuracy,
    }
    if net:
        values.update({
            "hidden_layer = np.maximum(0, np.dot(X, W) + b) # note, ReLU activation":
                row("hidden_layer", e.hidden, i, N) + f" ({int(np.count_nonzero(e.on))} of {len(e.on)} units on)",
            "dW2 = np.dot(hidden_layer.T, dscores)": grad("W2", snap.grads_data),
            "db2 = np.sum(dscores, axis=0, keepdims=True)": grad("b2", snap.grads_data),
            "dhidden = np.dot(dscores, W2.T)": row("dhidden", e.dhidden_pre, i, N),
            "dhidden[hidden_layer <= 0] = 0": row("dhidden", e.dhidden, i, N)
            + f" ({int(np.count_nonzero(~e.on))} of {len(e.on)} units off for example {i}: their entries set to 0)",
            "dW = np.dot(X.T, dhidden)": grad("W", snap.grads_data),
            "db = np.sum(dhidden, axis=0, keepdims=True)": grad("b", snap.grads_data),
            "dW2 += reg * W2": grad("W2", snap.grads) + " (reg * W2 added)",
            "dW += reg * W": grad("W", snap.grads) + " (reg * W added)",
        })
    if "probs" in parts:
        values.update({
            "probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True) # [N x K]": row("probs", e.probs, i, N),
            "dscores = probs": row("dscores", e.probs, i, N) + " (the probs, before the next two lines)",
            "dscores[range(num_examples),y] -= 1": row("dscores", e.residual, i, N)
            + f" (1 taken off at the true class {e.label})",
        })
    else:  # the SVM's lines (notes.program's edits)
        margins = np.maximum(parts["margins"][i], 0.0)
        before_zero = margins.copy()
        before_zero[e.label] = 1.0  # s_y - s_y + 1 at the true class, zeroed by the next line
        values.update({
            "correct_class_scores = scores[range(num_examples),y].reshape(-1, 1)":
                f"shape ({N}, 1): correct_class_scores[{i},0] = scores[{i},{e.label}] = {_g(e.scores[e.label])}",
            "margins = np.maximum(0, scores - correct_class_scores + 1) # [N x K]": row("margins", before_zero, i, N),
            "margins[range(num_examples),y] = 0 # the true class is not a margin": row("margins", margins, i, N),
            "dscores = (margins > 0).astype(float) # +1 at every violated margin":
                row("dscores", e.active.astype(float), i, N),
            "dscores[range(num_examples),y] -= np.sum(margins > 0, axis=1) # minus their count at y":
                row("dscores", e.residual, i, N) + f" ({e.violated} violated: taken off at the true class {e.label})",
        })
    for p in notes.NOTES_PARAMS[cfg.model]:  # the update lines of every optimizer
        moved = _as_row(snap.next_params[ours[p]] - snap.params[ours[p]])
        values[f"{p} += -step_size * d{p}"] = nxt(p)
        values[f"v{p} = mu * v{p} - step_size * d{p}"] = "next: " + entries("v" + p, moved) + f" (= next {p} − {p})"
        values[f"{p} += v{p}"] = nxt(p)
        values[f"{p} += -step_size * (m{p} / (1 - beta1**t)) / (np.sqrt(v{p} / (1 - beta2**t)) + eps)"] = nxt(p)
    after_loop = {  # the accuracy lines recompute what the loop's lines named the same way computed
        "scores = np.dot(X, W) + b": row("scores", e.scores, i, N) + " (at the current weights)",
        "scores = np.dot(hidden_layer, W2) + b2": row("scores", e.scores, i, N) + " (at the current weights)",
        "hidden_layer = np.maximum(0, np.dot(X, W) + b)": row("hidden_layer", e.hidden, i, N) if net else "",
    }
    out, in_accuracy = [], False
    for line, edited in notes.edited_lines(text, cfg.model):
        code = line.strip()
        if not code:
            continue
        in_accuracy = in_accuracy or code == "# evaluate training set accuracy"
        value = after_loop.get(code) if in_accuracy and code in after_loop else values.get(code, "")
        out.append(Line(line.rstrip(), value, edited))
    return out


def check_budget(snap: Snapshot) -> int:
    """How many entries the page's gradient check evaluates: all of a small model's (up to gradcheck's
    own budget), a sample of a large one's. Each entry costs about N*K in extended precision: the
    case study's net (603 entries, N = 300, K = 3) is checked whole in about a second; 10 classes,
    200 hidden units and 1000 points would take 20 s whole, so it gets a sample of 240."""
    from .gradcheck import ENTRY_BUDGET

    return max(64, min(ENTRY_BUDGET, CHECK_WORK // (snap.N * snap.K)))
