"""Update rules, with CS231n's ``update(w, dw, state) -> (w, state)`` shape (its optim.py).

``state`` holds the settings (``learning_rate``; ``momentum``; Adam's ``beta1``, ``beta2``,
``epsilon``) and whatever the rule carries from step to step (``velocity``; Adam's ``m``,
``v`` and ``t``). ``w`` (any shape) is updated in place and returned, as the trainer updates
every parameter of a model at once through its flat vector.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

State = dict[str, Any]
Update = Callable[[np.ndarray, np.ndarray, State], tuple[np.ndarray, State]]


def sgd(w: np.ndarray, dw: np.ndarray, state: State) -> tuple[np.ndarray, State]:
    """Gradient descent, the notes' ``W += -step_size * dW``: w -= learning_rate * dw."""
    step = state.get("scratch")
    if step is None:  # (setdefault would build a new array on every call)
        step = state["scratch"] = np.zeros_like(w)
    np.multiply(dw, state["learning_rate"], out=step)
    w -= step
    return w, state


def momentum(w: np.ndarray, dw: np.ndarray, state: State) -> tuple[np.ndarray, State]:
    """Momentum: v = momentum * v - learning_rate * dw; w += v (v starts at 0)."""
    if "velocity" not in state:
        state["velocity"] = np.zeros_like(w)
    v = state["velocity"]
    v *= state.setdefault("momentum", 0.9)
    v -= state["learning_rate"] * dw
    w += v
    return w, state


def adam(w: np.ndarray, dw: np.ndarray, state: State) -> tuple[np.ndarray, State]:
    """Adam: running averages m of dw and v of dw², bias-corrected from t = 1; w -= lr * m̂ / (√v̂ + ε)."""
    beta1 = state.setdefault("beta1", 0.9)
    beta2 = state.setdefault("beta2", 0.999)
    eps = state.setdefault("epsilon", 1e-8)
    if "m" not in state:
        state["m"], state["v"] = np.zeros_like(w), np.zeros_like(w)
    m, v = state["m"], state["v"]
    state["t"] = t = state.get("t", 0) + 1
    m *= beta1
    m += (1 - beta1) * dw
    v *= beta2
    v += (1 - beta2) * (dw * dw)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    w -= state["learning_rate"] * m_hat / (np.sqrt(v_hat) + eps)
    return w, state


OPTIMIZERS: dict[str, Update] = {"sgd": sgd, "momentum": momentum, "adam": adam}
