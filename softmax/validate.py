"""Input checks at the public boundary: one clear ValueError that names the argument.

The arithmetic below the boundary trusts its arrays (that is what keeps it fast);
everything a user, a file or a caller hands in passes through here first.
"""

from __future__ import annotations

import numpy as np


def data(X, y, K: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """X (N, D) finite float64 and y (N,) integer labels in 0..K-1; returns them as contiguous arrays.

    K None: any non-negative labels (K is taken as max(y) + 1 by the caller).
    """
    X = features(X)
    return X, labels(y, len(X), K)


def features(X) -> np.ndarray:
    """X (N, D): N >= 1 examples of D >= 1 finite numbers; returned as contiguous float64."""
    X = np.asarray(X)
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"X must be an array of numbers, got dtype {X.dtype}")
    if np.iscomplexobj(X):
        raise ValueError("X must be real, got complex numbers")
    if X.ndim != 2:
        raise ValueError(f"X must have shape (N, D), got shape {X.shape}")
    N, D = X.shape
    if N < 1 or D < 1:
        raise ValueError(f"X must have at least one example and one dimension, got shape {X.shape}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"X must be finite, got {X[tuple(bad)]} at X[{bad[0]}, {bad[1]}]")
    return X


def labels(y, N: int, K: int | None = None) -> np.ndarray:
    """y (N,): whole-number class labels in 0..K-1; returned as contiguous int64."""
    y = np.asarray(y)
    if y.shape != (N,):
        raise ValueError(f"y must have shape ({N},) to match X's {N} rows, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if y.dtype == object or not np.issubdtype(y.dtype, np.number) or np.iscomplexobj(y):
            raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
        if not (np.isfinite(y).all() and (y == np.round(y)).all()):
            raise ValueError("y must hold whole-number class labels")
    if N and y.min() < 0:
        raise ValueError(f"y must hold labels 0..K-1, got {int(y.min())}")
    if K is not None and N and y.max() >= K:
        raise ValueError(f"y must hold labels 0..{K - 1} (K = {K}), got {int(y.max())}")
    return np.ascontiguousarray(y, dtype=np.int64)


def param(name: str, a, shape: tuple[int, ...]) -> np.ndarray:
    """A finite float64 parameter of exactly ``shape``, named in the error; a bias (K,) may come as
    the notes' (1, K) row."""
    if a is None:
        raise ValueError(f"{name} is missing: it must be an array of shape {shape}")
    a = np.asarray(a)
    if len(shape) == 1 and a.shape == (1, shape[0]):
        a = a[0]
    if a.dtype == object or not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise ValueError(f"{name} must be an array of real numbers, got dtype {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {a.shape}")
    a = np.asarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite")
    return a


def reg(value) -> float:
    """A finite, non-negative regularization strength."""
    try:
        r = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"reg must be a number, got {value!r}") from None
    if not (np.isfinite(r) and r >= 0):
        raise ValueError(f"reg must be finite and >= 0, got {value!r}")
    return r
