"""Models with parameters by name: the linear classifier and the 2-layer net, each with a softmax or SVM loss.

The CS231n-shaped functions below are the public, validated entry points; the
trainer uses the models' workspaces directly (its data is checked once, when the
run is built).
"""

from __future__ import annotations

import numpy as np

from .. import validate
from .base import Layout, Model, Params, PassResult, Workspace
from .linear import LinearModel
from .losses import LOSSES, SoftmaxLoss, SVMLoss, check_loss
from .two_layer import TwoLayerModel

MODELS = ("linear", "two-layer")


def make_model(name: str = "linear", loss: str = "softmax", hidden: int = 100) -> Model:
    """The model called ``name`` ("linear" or "two-layer") with the named loss ("softmax" or "svm")."""
    check_loss(loss)
    if name == "linear":
        return LinearModel(loss)
    if name == "two-layer":
        if isinstance(hidden, bool) or not (isinstance(hidden, (int, np.integer)) and hidden >= 1):
            raise ValueError(f"hidden must be a whole number >= 1, got {hidden!r}")
        return TwoLayerModel(int(hidden), loss)
    raise ValueError(f"model must be one of {', '.join(MODELS)}, got {name!r}")


def forward_backward(model: Model, params: Params, X, y, reg: float):
    """One validated pass: (PassResult, grads by name (copies), the workspace with every intermediate).

    X (N, D); y (N,) labels in 0..K-1, K the width of the model's output layer (``model.output``'s
    last dimension). The workspace's views are overwritten by its next pass.
    """
    reg = validate.reg(reg)
    X = validate.features(X)
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of arrays by name, got {type(params).__name__}")
    out = np.shape(params.get(model.output))
    if len(out) != 2:
        raise ValueError(f"{model.output} must be a matrix whose last dimension is the number of classes K, "
                         f"got shape {out}")
    K = out[1]
    y = validate.labels(y, len(X), K)
    layout = model.layout(X.shape[1], K)
    checked = {name: validate.param(name, params.get(name), shape) for name, shape in layout.shapes}
    ws = model.workspace(X, y, K)
    result = ws.run(layout.flatten(checked), reg)
    return result, {name: g.copy() for name, g in ws.grads.items()}, ws


def softmax_loss(W, b, X, y, reg: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Softmax cross-entropy with L2 penalty 0.5*reg*sum(W**2): (loss, dW (D, K), db (K,)).

    W (D, K), b (K,) or (1, K), X (N, D), y (N,) labels in 0..K-1.
    """
    result, grads, _ = forward_backward(LinearModel("softmax"), {"W": W, "b": b}, X, y, reg)
    return result.loss, grads["W"], grads["b"]


def svm_loss(W, b, X, y, reg: float, delta: float = 1.0) -> tuple[float, np.ndarray, np.ndarray]:
    """CS231n's multiclass SVM loss with L2 penalty 0.5*reg*sum(W**2): (loss, dW (D, K), db (K,)).

    L_i = sum_{j != y_i} max(0, s_ij - s_{i,y_i} + delta), averaged over the N examples; a margin
    of exactly zero is inactive. W (D, K), b (K,) or (1, K), X (N, D), y (N,) in 0..K-1.
    """
    try:
        delta = float(delta)
    except (TypeError, ValueError):
        raise ValueError(f"delta must be a number, got {delta!r}") from None
    if not (np.isfinite(delta) and delta >= 0):
        raise ValueError(f"delta must be finite and >= 0, got {delta!r}")
    result, grads, _ = forward_backward(LinearModel("svm", delta), {"W": W, "b": b}, X, y, reg)
    return result.loss, grads["W"], grads["b"]


def two_layer_loss(params: Params, X, y, reg: float) -> tuple[float, Params]:
    """The case study's 2-layer ReLU net with softmax cross-entropy and 0.5*reg*(sum W1**2 + sum W2**2).

    params: W1 (D, H), b1 (H,), W2 (H, K), b2 (K,). Returns (loss, grads with the same keys and shapes).
    """
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict with W1, b1, W2 and b2, got {type(params).__name__}")
    shape = np.shape(params.get("W1"))
    if len(shape) != 2 or shape[1] < 1:
        raise ValueError(f"W1 must have shape (D, H), got shape {shape}")
    result, grads, _ = forward_backward(TwoLayerModel(shape[1], "softmax"), params, X, y, reg)
    return result.loss, grads


__all__ = [
    "LOSSES", "MODELS", "Layout", "LinearModel", "Model", "Params", "PassResult", "SVMLoss", "SoftmaxLoss",
    "TwoLayerModel", "Workspace", "forward_backward", "make_model", "softmax_loss", "svm_loss", "two_layer_loss",
]
