"""A standalone numpy script that re-runs a configuration, in the CS231n notes' own words."""

from __future__ import annotations

import inspect
import textwrap

from . import data
from .config import Config

_LOOP = '''
{notes}# initialize parameters randomly (from the same random stream, after the data)
W = 0.01 * rng.randn(D, K)
b = np.zeros((1, K))

# some hyperparameters
step_size = {step_size!r}
reg = {reg!r}  # regularization strength

# gradient descent loop
num_examples = X.shape[0]
for i in range({iterations}):
    # evaluate class scores, [N x K]
    scores = np.dot(X, W) + b

    # compute the class probabilities (the row max is subtracted first: same
    # probabilities, and exp() cannot overflow)
    exp_scores = np.exp(scores - np.max(scores, axis=1, keepdims=True))
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)  # [N x K]

    # compute the loss: average cross-entropy loss and regularization
    corect_logprobs = -np.log(probs[range(num_examples), y])
    data_loss = np.sum(corect_logprobs) / num_examples
    reg_loss = 0.5 * reg * np.sum(W * W)
    loss = data_loss + reg_loss
    if i % {print_every} == 0:
        print("iteration %d: loss %f" % (i, loss))

    # compute the gradient on scores
    dscores = probs
    dscores[range(num_examples), y] -= 1
    dscores /= num_examples

    # backpropagate the gradient to the parameters (W,b)
    dW = np.dot(X.T, dscores)
    db = np.sum(dscores, axis=0, keepdims=True)

    dW += reg * W  # regularization gradient

    # perform a parameter update
    W += -step_size * dW
    b += -step_size * db

# the loss and accuracy of the final weights
scores = np.dot(X, W) + b
shifted = scores - np.max(scores, axis=1, keepdims=True)
logprobs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
final_loss = -np.mean(logprobs[range(num_examples), y]) + 0.5 * reg * np.sum(W * W)
print("final loss %.15f" % final_loss)
print("training accuracy: %.2f" % np.mean(np.argmax(scores, axis=1) == y))
'''


def export_script(config: Config, print_every: int = 10) -> str:
    """Python source that needs only numpy and reproduces ``config``'s run (same data, same weights)."""
    if (config.model, config.loss, config.optimizer, config.batch_size) != ("linear", "softmax", "sgd", 0):
        raise ValueError("export covers the linear softmax classifier with full-batch gradient descent")
    make = data.DATASETS[config.dataset].make
    generator = inspect.getsource(make)
    labels = inspect.getsource(data._labels) if "_labels(" in generator else ""
    header = f'''"""The CS231n softmax classifier, exported from the softmax gradient app.

Settings: {", ".join(f"{k}={v}" for k, v in config.to_query().items() if k not in ("speed", "refresh"))}
Run it with: python this_file.py   (needs only numpy)
"""

import numpy as np

Rng = np.random.RandomState

'''
    body = f'''
# the data: {config.points_per_class} points per class, {config.classes} classes
rng = np.random.RandomState({config.seed})
X, y = {make.__name__}({config.points_per_class}, {config.classes}, {config.noise!r}, rng)
N, D = X.shape
K = {config.classes}
'''
    notes = ("# the CS231n notes' page draws W four times before its run, which uses the fourth\n"
             "for _ in range(3):\n    rng.randn(D, K)\n\n") if config.init == "notes" else ""
    loop = _LOOP.format(step_size=config.step_size, reg=config.reg, iterations=config.iterations, notes=notes,
                        print_every=print_every)
    return header + textwrap.dedent(labels) + ("\n\n" if labels else "") + textwrap.dedent(generator) + body + loop
