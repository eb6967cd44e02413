"""The explainer's numbers against an independent oracle: the CS231n notes' loops transcribed here.

Every number ``softmax.explain`` hands the Explain tab (an example's row of scores, probs or
margins, dscores; each layer's per-example term and the sum of all of them; reg*W; each line of
the notes' loop beside its value, "next W" and "next b" included) is compared with this file's
own transcription of the notes' code, run from iteration 0 on the same data and initial
weights -- never with ``softmax.explain`` or the trainer's intermediates. The SVM has a naive
per-example loop (CS231n's ``svm_loss_naive``); momentum its textbook formula.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from softmax.config import Config
from softmax.data import make_dataset
from softmax.explain import balances, example, initial_params, layers, notes_lines, relu_gate, sum_of_outer
from softmax.presets import PRESETS
from softmax.runner import Trainer

# The notes' two loops as the CS231n notes print them (Python 3's print and range): what the tab must show.
NOTES_LINEAR = """\
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
# evaluate training set accuracy
scores = np.dot(X, W) + b
predicted_class = np.argmax(scores, axis=1)
print('training accuracy: %.2f' % (np.mean(predicted_class == y)))"""

NOTES_NET = """\
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
# evaluate training set accuracy
hidden_layer = np.maximum(0, np.dot(X, W) + b)
scores = np.dot(hidden_layer, W2) + b2
predicted_class = np.argmax(scores, axis=1)
print('training accuracy: %.2f' % (np.mean(predicted_class == y)))"""


# -- the oracle: the notes' loop bodies, transcribed ---------------------------------------------
def linear_pass(W, b, X, y, reg, step_size):
    """One pass of the notes' linear loop body at W (D, K), b (1, K); every intermediate by its name."""
    num_examples = X.shape[0]
    o = {"W": W, "b": b}
    o["scores"] = scores = np.dot(X, W) + b
    o["exp_scores"] = exp_scores = np.exp(scores)
    o["probs"] = probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    o["corect_logprobs"] = corect_logprobs = -np.log(probs[range(num_examples), y])
    o["data_loss"] = data_loss = np.sum(corect_logprobs) / num_examples
    o["reg_loss"] = reg_loss = 0.5 * reg * np.sum(W * W)
    o["loss"] = data_loss + reg_loss
    dscores = probs.copy()
    dscores[range(num_examples), y] -= 1
    o["minus_one"] = dscores.copy()
    dscores /= num_examples
    o["dscores"] = dscores
    o["dW_data"] = dW = np.dot(X.T, dscores)
    o["db"] = db = np.sum(dscores, axis=0, keepdims=True)
    o["reg_W"] = reg * W
    o["dW"] = dW = dW + reg * W
    o["W_next"] = W + -step_size * dW
    o["b_next"] = b + -step_size * db
    o["predicted_class"] = np.argmax(scores, axis=1)
    return o


def net_pass(W, b, W2, b2, X, y, reg, step_size):
    """One pass of the notes' net loop body (W, b: the first layer); every intermediate by its name."""
    num_examples = X.shape[0]
    o = {"W": W, "b": b, "W2": W2, "b2": b2}
    o["hidden_layer"] = hidden_layer = np.maximum(0, np.dot(X, W) + b)
    o["scores"] = scores = np.dot(hidden_layer, W2) + b2
    o["exp_scores"] = exp_scores = np.exp(scores)
    o["probs"] = probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    o["corect_logprobs"] = corect_logprobs = -np.log(probs[range(num_examples), y])
    o["data_loss"] = data_loss = np.sum(corect_logprobs) / num_examples
    o["reg_loss"] = reg_loss = 0.5 * reg * np.sum(W * W) + 0.5 * reg * np.sum(W2 * W2)
    o["loss"] = data_loss + reg_loss
    dscores = probs.copy()
    dscores[range(num_examples), y] -= 1
    o["minus_one"] = dscores.copy()
    dscores /= num_examples
    o["dscores"] = dscores
    o["dW2_data"] = dW2 = np.dot(hidden_layer.T, dscores)
    o["db2"] = db2 = np.sum(dscores, axis=0, keepdims=True)
    o["dhidden_pre"] = dhidden = np.dot(dscores, W2.T)
    dhidden = dhidden.copy()
    dhidden[hidden_layer <= 0] = 0
    o["dhidden"] = dhidden
    o["dW_data"] = dW = np.dot(X.T, dhidden)
    o["db"] = db = np.sum(dhidden, axis=0, keepdims=True)
    o["dW2"] = dW2 = dW2 + reg * W2
    o["dW"] = dW = dW + reg * W
    o["W_next"], o["b_next"] = W + -step_size * dW, b + -step_size * db
    o["W2_next"], o["b2_next"] = W2 + -step_size * dW2, b2 + -step_size * db2
    o["predicted_class"] = np.argmax(scores, axis=1)
    return o


def notes_stream(config: Config):
    """The notes' page's one random stream: the data, then W = 0.01*randn(D,K) four times (the linear run
    keeps the fourth), then the net's W and W2 -- drawn here, not by the package's Run."""
    rng = np.random.RandomState(config.seed)
    X, y = make_dataset(config.dataset, config.points_per_class, config.classes, config.noise, rng)
    D, K = X.shape[1], config.classes
    draws = [0.01 * rng.randn(D, K) for _ in range(4)]
    if config.model == "linear":
        return X, y, {"W": draws[3], "b": np.zeros((1, K))}
    h = config.hidden
    W = 0.01 * rng.randn(D, h)
    W2 = 0.01 * rng.randn(h, K)
    return X, y, {"W": W, "b": np.zeros((1, h)), "W2": W2, "b2": np.zeros((1, K))}


def oracle(config: Config, iterations: int) -> dict:
    """The notes' loop run from iteration 0 for ``iterations`` updates; the pass at that iteration."""
    X, y, p = notes_stream(config)
    for _ in range(iterations + 1):
        if config.model == "linear":
            o = linear_pass(p["W"], p["b"], X, y, config.reg, config.step_size)
            p = {"W": o["W_next"], "b": o["b_next"]}
        else:
            o = net_pass(p["W"], p["b"], p["W2"], p["b2"], X, y, config.reg, config.step_size)
            p = {n: o[n + "_next"] for n in ("W", "b", "W2", "b2")}
    o["X"], o["y"], o["accuracy"] = X, y, np.mean(o["predicted_class"] == y)
    return o


# -- reading the tab's texts ------------------------------------------------------------------------
NUMBER = r"(-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|-?inf|nan)"
ENTRY = re.compile(r"([A-Za-z_*0-9]+)\[(\d+)(?:,(\d+))?\] = " + NUMBER)


def labelled(text: str) -> dict[tuple, float]:
    """The labelled entries of a value text: {("W", 0, 1): 0.01234, ...}."""
    return {(m[1], int(m[2]), None if m[3] is None else int(m[3])): float(m[4]) for m in ENTRY.finditer(text)}


def assert_entries(text: str, name: str, expected: np.ndarray, row: int | None = None, at_least: int = 1):
    """Every entry of ``name`` the text shows agrees with ``expected`` to its 4 significant digits;
    (N, K) arrays are shown by one row, ``row``."""
    shown = {key: v for key, v in labelled(text).items() if key[0] == name}
    assert len(shown) >= at_least, (name, text)
    for (_, r, c), value in shown.items():
        if row is not None:
            assert r == row, text
            want = expected[r, c] if expected.ndim == 2 else expected[r]
        else:
            want = expected[r, c] if c is not None else expected[r]
        assert value == pytest.approx(float(want), rel=6e-4, abs=1e-15), (name, r, c, text)


# -- the linear model ---------------------------------------------------------------------------------
LINEAR = Config(reg=0.05)
T = 37  # an iteration in the middle of the run, not a print iteration


@pytest.fixture(scope="module")
def linear():
    return Trainer(LINEAR).step(T), oracle(LINEAR, T)


def test_the_run_is_the_notes_run(linear):
    snap, o = linear
    np.testing.assert_allclose(snap.params["W"], o["W"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(snap.params["b"], o["b"][0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("i", [0, 123, 150, 299])
def test_an_examples_row(linear, i):
    snap, o = linear
    e = example(snap, i)
    assert e.label == o["y"][i] and e.N == 300
    np.testing.assert_allclose(e.x, o["X"][i], rtol=0, atol=0)
    np.testing.assert_allclose(e.scores, o["scores"][i], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(e.probs, o["probs"][i], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(e.residual, o["minus_one"][i], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(e.dscores, o["dscores"][i], rtol=1e-12, atol=1e-17)
    np.testing.assert_array_equal(e.onehot, np.eye(3)[o["y"][i]])
    assert e.loss == pytest.approx(o["corect_logprobs"][i], rel=1e-12)


def test_the_layer_sums_are_the_notes_gradient(linear):
    snap, o = linear
    (layer,) = layers(snap, 150)
    assert (layer.weight, layer.bias, layer.inp, layer.up, layer.shape) == ("W", "b", "X", "dscores", (2, 300, 3))
    np.testing.assert_allclose(layer.share_weight, np.outer(o["X"][150], o["dscores"][150]), rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(layer.share_bias, o["dscores"][150], rtol=1e-12, atol=1e-18)
    for mine, theirs in ((layer.sum_weight, o["dW_data"]), (layer.data_weight, o["dW_data"]),
                         (layer.sum_bias, o["db"][0]), (layer.data_bias, o["db"][0]),
                         (layer.reg_weight, o["reg_W"]), (layer.grad_weight, o["dW"]), (layer.grad_bias, o["db"][0])):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-14)
    assert layer.largest_difference < 1e-15 and layer.bias_difference < 1e-15


def test_sum_of_outer_adds_the_terms():
    rng = np.random.RandomState(3)
    a, u = rng.randn(700, 4), rng.randn(700, 5)
    expected = sum(np.outer(a[i], u[i]) for i in range(700))
    np.testing.assert_allclose(sum_of_outer(a, u), expected, rtol=1e-12, atol=1e-12)


def values_by_line(lines) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        out.setdefault(line.code.strip(), line.value)  # the loop's line first; the accuracy block repeats scores
    return out


def test_the_notes_linear_loop_line_by_line(linear):
    snap, o = linear
    i = 150
    lines = notes_lines(snap, i)
    assert [line.code for line in lines] == NOTES_LINEAR.split("\n")  # verbatim: every line, the init and print too
    assert not any(line.edited for line in lines)
    v = values_by_line(lines)
    X, y, W0 = notes_stream(LINEAR)
    assert_entries(v["W = 0.01 * np.random.randn(D,K)"], "W", W0["W"], at_least=6)
    assert_entries(v["b = np.zeros((1,K))"], "b", np.zeros((1, 3)), at_least=3)
    assert v["step_size = 1e-0"].endswith("step_size = 1")
    assert v["reg = 1e-3 # regularization strength"].endswith("reg = 0.05")
    assert v["num_examples = X.shape[0]"] == "300"
    assert f"now i = {T}" in v["for i in range(200):"]
    assert_entries(v["scores = np.dot(X, W) + b"], "scores", o["scores"], row=i, at_least=3)
    assert_entries(v["exp_scores = np.exp(scores)"], "exp_scores", o["exp_scores"], row=i, at_least=3)
    assert_entries(v["probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True) # [N x K]"], "probs",
                   o["probs"], row=i, at_least=3)
    assert_entries(v["corect_logprobs = -np.log(probs[range(num_examples),y])"], "corect_logprobs",
                   o["corect_logprobs"], row=i)
    assert float(v["data_loss = np.sum(corect_logprobs)/num_examples"]) == pytest.approx(o["data_loss"], abs=1e-6)
    assert float(v["reg_loss = 0.5*reg*np.sum(W*W)"]) == pytest.approx(o["reg_loss"], rel=1e-5)
    assert float(v["loss = data_loss + reg_loss"]) == pytest.approx(o["loss"], abs=1e-6)
    assert v["if i % 10 == 0:"].startswith(f"{T} % 10 = {T % 10}")
    assert v['print("iteration %d: loss %f" % (i, loss))'] == ""  # 37 is not a print iteration
    assert_entries(v["dscores = probs"], "dscores", o["probs"], row=i, at_least=3)
    assert_entries(v["dscores[range(num_examples),y] -= 1"], "dscores", o["minus_one"], row=i, at_least=3)
    assert_entries(v["dscores /= num_examples"], "dscores", o["dscores"], row=i, at_least=3)
    assert_entries(v["dW = np.dot(X.T, dscores)"], "dW", o["dW_data"], at_least=6)
    assert_entries(v["db = np.sum(dscores, axis=0, keepdims=True)"], "db", o["db"], at_least=3)
    assert_entries(v["dW += reg*W # regularization gradient"], "dW", o["dW"], at_least=6)
    assert_entries(v["dW += reg*W # regularization gradient"], "reg*W", o["reg_W"], at_least=6)
    assert_entries(v["W += -step_size * dW"], "W", o["W_next"], at_least=6)  # the optimizer's real next step
    assert_entries(v["b += -step_size * db"], "b", o["b_next"], at_least=3)
    assert_entries(v["predicted_class = np.argmax(scores, axis=1)"], "predicted_class", o["predicted_class"], row=i)
    assert v["print('training accuracy: %.2f' % (np.mean(predicted_class == y)))"].startswith(
        "now: training accuracy: %.2f" % o["accuracy"])


def test_a_print_iteration_prints_the_notes_line():
    snap, o = Trainer(Config()).step(30), oracle(Config(), 30)
    v = values_by_line(notes_lines(snap, 0))
    assert v['print("iteration %d: loss %f" % (i, loss))'] == "iteration 30: loss %f" % o["loss"] == \
        "iteration 30: loss 0.822336"  # the notes' own published line


# -- the 2-layer net ------------------------------------------------------------------------------------
NET = Config(model="two-layer", hidden=100, iterations=10_000)
TN = 25


@pytest.fixture(scope="module")
def net():
    return Trainer(NET).step(TN), oracle(NET, TN)


def test_the_net_is_the_notes_net(net):
    snap, o = net
    for ours, theirs in (("W1", "W"), ("W2", "W2")):
        np.testing.assert_allclose(snap.params[ours], o[theirs], rtol=0, atol=1e-12)


def test_the_nets_example_row_and_gate(net):
    snap, o = net
    i = 150
    e = example(snap, i)
    np.testing.assert_allclose(e.hidden, o["hidden_layer"][i], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(e.scores, o["scores"][i], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(e.dscores, o["dscores"][i], rtol=1e-10, atol=1e-17)
    np.testing.assert_allclose(e.dhidden_pre, o["dhidden_pre"][i], rtol=1e-10, atol=1e-17)
    np.testing.assert_allclose(e.dhidden, o["dhidden"][i], rtol=1e-10, atol=1e-17)
    gate = relu_gate(snap, i)
    assert gate.on_count == np.count_nonzero(o["hidden_layer"][i] > 0) and gate.H == 100
    assert gate.on_fraction == pytest.approx(np.mean(o["hidden_layer"] > 0))
    assert gate.blocked == pytest.approx(np.sum(np.abs(o["dhidden_pre"][i][o["hidden_layer"][i] <= 0])), rel=1e-10)


def test_the_nets_layers_are_the_notes_backward_pass(net):
    snap, o = net
    i = 150
    second, first = layers(snap, i)
    assert (second.weight, second.inp, second.up, second.shape) == ("W2", "hidden", "dscores", (100, 300, 3))
    assert (first.weight, first.inp, first.up, first.shape) == ("W1", "X", "dhidden", (2, 300, 100))
    np.testing.assert_allclose(second.share_weight, np.outer(o["hidden_layer"][i], o["dscores"][i]), rtol=1e-10,
                               atol=1e-18)
    np.testing.assert_allclose(first.share_weight, np.outer(o["X"][i], o["dhidden"][i]), rtol=1e-10, atol=1e-18)
    for mine, theirs in ((second.sum_weight, o["dW2_data"]), (second.sum_bias, o["db2"][0]),
                         (second.grad_weight, o["dW2"]), (second.reg_weight, NET.reg * o["W2"]),
                         (first.sum_weight, o["dW_data"]), (first.sum_bias, o["db"][0]),
                         (first.grad_weight, o["dW"]), (first.reg_weight, NET.reg * o["W"])):
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-15)


def test_the_notes_net_loop_line_by_line(net):
    snap, o = net
    i = 150
    lines = notes_lines(snap, i)
    assert [line.code for line in lines] == NOTES_NET.split("\n")
    v = values_by_line(lines)
    assert_entries(v["hidden_layer = np.maximum(0, np.dot(X, W) + b) # note, ReLU activation"], "hidden_layer",
                   o["hidden_layer"], row=i, at_least=8)
    assert_entries(v["scores = np.dot(hidden_layer, W2) + b2"], "scores", o["scores"], row=i, at_least=3)
    assert float(v["reg_loss = 0.5*reg*np.sum(W*W) + 0.5*reg*np.sum(W2*W2)"]) == pytest.approx(o["reg_loss"], rel=1e-5)
    assert float(v["loss = data_loss + reg_loss"]) == pytest.approx(o["loss"], abs=1e-6)
    assert_entries(v["dscores /= num_examples"], "dscores", o["dscores"], row=i, at_least=3)
    assert_entries(v["dW2 = np.dot(hidden_layer.T, dscores)"], "dW2", o["dW2_data"], at_least=8)
    assert_entries(v["db2 = np.sum(dscores, axis=0, keepdims=True)"], "db2", o["db2"], at_least=3)
    assert_entries(v["dhidden = np.dot(dscores, W2.T)"], "dhidden", o["dhidden_pre"], row=i, at_least=8)
    assert_entries(v["dhidden[hidden_layer <= 0] = 0"], "dhidden", o["dhidden"], row=i, at_least=8)
    assert_entries(v["dW = np.dot(X.T, dhidden)"], "dW", o["dW_data"], at_least=8)
    assert_entries(v["db = np.sum(dhidden, axis=0, keepdims=True)"], "db", o["db"], at_least=8)
    assert_entries(v["dW2 += reg * W2"], "dW2", o["dW2"], at_least=8)
    assert_entries(v["dW += reg * W"], "dW", o["dW"], at_least=8)
    for name in ("W", "b", "W2", "b2"):
        assert_entries(v[f"{name} += -step_size * d{name}"], name, o[name + "_next"], at_least=3)
    X, y, start = notes_stream(NET)
    assert_entries(v["W = 0.01 * np.random.randn(D,h)"], "W", start["W"], at_least=8)
    assert_entries(v["W2 = 0.01 * np.random.randn(h,K)"], "W2", start["W2"], at_least=8)


# -- the SVM ----------------------------------------------------------------------------------------------
def svm_naive(W, b, X, y, reg):
    """CS231n's svm_loss_naive with a bias, one example and one class at a time: (loss, dscores (N, K), margins)."""
    N, K = X.shape[0], W.shape[1]
    loss, dscores, margins = 0.0, np.zeros((N, K)), np.zeros((N, K))
    for i in range(N):
        s = X[i].dot(W) + b
        for j in range(K):
            if j == y[i]:
                continue
            margins[i, j] = s[j] - s[y[i]] + 1
            if margins[i, j] > 0:
                loss += margins[i, j]
                dscores[i, j] += 1
                dscores[i, y[i]] -= 1
    return loss / N + 0.5 * reg * np.sum(W * W), dscores / N, margins


@pytest.mark.parametrize("model", ["linear", "two-layer"])
def test_the_svm_row_against_a_naive_loop(model):
    config = Config(loss="svm", model=model, hidden=30)
    snap = Trainer(config).step(12)
    inputs = snap.parts["hidden"] if model == "two-layer" else snap.X  # the net's last layer is linear in hidden
    W, b = (snap.params["W2"], snap.params["b2"]) if model == "two-layer" else (snap.params["W"], snap.params["b"])
    _, dscores, margins = svm_naive(W, b, inputs, snap.y, 0.0)
    for i in (0, 57, 150, 299):
        e = example(snap, i)
        np.testing.assert_allclose(e.dscores, dscores[i], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(e.residual, dscores[i] * 300, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(e.margins, margins[i], rtol=1e-10, atol=1e-12)
        assert e.violated == np.count_nonzero(margins[i] > 0)
        assert e.loss == pytest.approx(np.sum(np.maximum(margins[i], 0)), rel=1e-12)
        p = np.exp(e.scores - e.scores.max())
        np.testing.assert_allclose(e.softmax_residual, p / p.sum() - np.eye(3)[snap.y[i]], rtol=1e-12, atol=1e-15)


def test_the_svm_loop_lines_are_the_edited_ones():
    snap = Trainer(Config(loss="svm")).step(5)
    lines = notes_lines(snap, 150)
    edited = [line.code.strip() for line in lines if line.edited]
    assert "data_loss = np.sum(margins)/num_examples" in edited
    assert not any("exp_scores" in line.code for line in lines)
    v = values_by_line(lines)
    _, dscores, margins = svm_naive(snap.params["W"], snap.params["b"], snap.X, snap.y, 0.0)
    assert_entries(v["margins[range(num_examples),y] = 0 # the true class is not a margin"], "margins",
                   np.maximum(margins, 0), row=150, at_least=3)
    assert_entries(v["dscores /= num_examples"], "dscores", dscores, row=150, at_least=3)


# -- momentum: the next step is the optimizer's ---------------------------------------------------------------
def test_momentum_next_w_is_the_textbook_step():
    config = Config(optimizer="momentum", step_size=0.5)
    X, y, p = notes_stream(config)
    v = {n: np.zeros_like(a) for n, a in p.items()}
    for _ in range(9):  # v = 0.9 v - lr dW; W += v (CS231n's sgd_momentum)
        o = linear_pass(p["W"], p["b"], X, y, config.reg, 0.0)
        grads = {"W": o["dW"], "b": o["db"]}
        for n in p:
            v[n] = 0.9 * v[n] - 0.5 * grads[n]
            p[n] = p[n] + v[n]
    o = linear_pass(p["W"], p["b"], X, y, config.reg, 0.0)
    expected_v = 0.9 * v["W"] - 0.5 * o["dW"]
    snap = Trainer(config).step(9)
    values = values_by_line(notes_lines(snap, 0))
    assert_entries(values["W += vW"], "W", p["W"] + expected_v, at_least=6)
    assert_entries(values["vW = mu * vW - step_size * dW"], "vW", expected_v, at_least=6)


# -- reg*W: when it cancels the data part ---------------------------------------------------------------------
def test_heavy_regularization_converges_to_where_the_parts_cancel():
    snap = Trainer(PRESETS["heavy-reg"].config).run_to_end()
    (b,) = balances(snap)
    assert b.cancel and b.total < 1e-6 * b.reg and b.data == pytest.approx(b.reg, rel=1e-6)
    (b,) = balances(Trainer(Config()).step(3))
    assert not b.cancel


def test_an_example_index_out_of_range_is_refused(linear):
    snap, _ = linear
    for bad in (300, -1, 2.5, True):
        with pytest.raises(ValueError, match="between 0 and 299"):
            example(snap, bad)


def test_initial_params_are_the_seeds_draw(linear):
    snap, _ = linear
    X, y, start = notes_stream(LINEAR)
    np.testing.assert_array_equal(initial_params(snap)["W"], start["W"])


def test_the_pages_check_covers_a_small_model_whole_and_samples_a_large_one():
    from softmax.explain import check_budget
    from softmax.gradcheck import ENTRY_BUDGET

    assert check_budget(Trainer(NET).snapshot) == ENTRY_BUDGET >= 603  # the case study's net: every entry
    big = Trainer(Config(model="two-layer", hidden=200, classes=10, dataset="blobs")).snapshot
    assert 64 <= check_budget(big) < 200 * 10 + 200 * 2
