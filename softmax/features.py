"""Input features: what the model sees of a point (x1, x2), by name.

TensorFlow Playground's set. With x1² and x2² a linear classifier can draw a circle: the
model stays linear in its inputs, the inputs bend. The model's input dimension D is 2 plus
the number of features switched on; W's rows are named by feature.

Points a user brings in their own units (a CSV) are standardized first (``Transform``), so
the model sees values near the unit square whatever the units, and the page shows the points
in the units they came in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# name in links and settings -> (label on the page, the feature of points (N, 2) -> (N,))
FEATURES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "x1sq": ("x₁²", lambda p: p[:, 0] * p[:, 0]),
    "x2sq": ("x₂²", lambda p: p[:, 1] * p[:, 1]),
    "x1x2": ("x₁·x₂", lambda p: p[:, 0] * p[:, 1]),
    "sinx1": ("sin x₁", lambda p: np.sin(p[:, 0])),
    "sinx2": ("sin x₂", lambda p: np.sin(p[:, 1])),
}
BASE = ("x₁", "x₂")
# The same features as numpy code on the inputs X, as an exported script writes them
# (tests/test_export.py checks that the script and the trainer agree to the last bit).
CODE = {
    "x1sq": "X[:, 0] * X[:, 0]",
    "x2sq": "X[:, 1] * X[:, 1]",
    "x1x2": "X[:, 0] * X[:, 1]",
    "sinx1": "np.sin(X[:, 0])",
    "sinx2": "np.sin(X[:, 1])",
}


def parse(text: str) -> tuple[tuple[str, ...], list[str]]:
    """Feature names from a comma list ("x1sq,x2sq"): (known names in table order, unknown ones)."""
    asked = [part.strip() for part in text.split(",") if part.strip()]
    return tuple(name for name in FEATURES if name in asked), [a for a in asked if a not in FEATURES]


def labels(names: Sequence[str]) -> list[str]:
    """What each of the model's D inputs is called: x₁, x₂, then the features switched on."""
    return [*BASE, *(FEATURES[name][0] for name in names)]


@dataclass(frozen=True)
class Transform:
    """Points (N, 2) in their own units -> the model's inputs (N, D): standardize, then add features.

    ``center`` and ``scale`` (2,) standardize; (0, 1) leaves generated data as it is.
    """

    features: tuple[str, ...] = ()
    center: tuple[float, float] = (0.0, 0.0)
    scale: tuple[float, float] = (1.0, 1.0)

    @property
    def D(self) -> int:
        return 2 + len(self.features)

    @property
    def identity(self) -> bool:
        return not self.features and self.center == (0.0, 0.0) and self.scale == (1.0, 1.0)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """The model's inputs (N, D) for points (N, 2); the points themselves when nothing applies."""
        if self.identity:
            return points
        p = (points - np.asarray(self.center)) / np.asarray(self.scale)
        if not self.features:
            return np.ascontiguousarray(p)
        return np.ascontiguousarray(np.column_stack([p, *(FEATURES[name][1](p) for name in self.features)]))


def standardizing(points: np.ndarray, features: tuple[str, ...] = ()) -> Transform:
    """A transform that standardizes points far from the unit square (mean 0, std 1 per axis);
    points already within [-3, 3] are left in their units."""
    if len(points) == 0 or np.max(np.abs(points)) <= 3.0:
        return Transform(features)
    center = points.mean(axis=0)
    scale = points.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return Transform(features, (float(center[0]), float(center[1])), (float(scale[0]), float(scale[1])))
