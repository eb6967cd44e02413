"""Seeded 2-D toy datasets: X (N, 2) float64 and y (N,) int64, N = points_per_class * K.

Every generator draws only from the ``rng`` it is given (never the global
``np.random`` state), so a seed reproduces a dataset exactly. They take a
legacy ``np.random.RandomState`` because the CS231n spiral, followed by the
initial weights on the same stream, is what reproduces the notes' numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

Rng = np.random.RandomState


class DatasetInfo(NamedTuple):
    make: Callable[[int, int, float, Rng], tuple[np.ndarray, np.ndarray]]
    title: str
    description: str


def _labels(n: int, k: int) -> np.ndarray:
    return np.repeat(np.arange(k), n)


def spiral(n: int, k: int, noise: float, rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    """The CS231n case-study spiral: K arms, radius 0..1, angle j*4..(j+1)*4 plus noise."""
    X = np.zeros((n * k, 2))
    for j in range(k):
        ix = slice(n * j, n * (j + 1))
        r = np.linspace(0.0, 1, n)
        t = np.linspace(j * 4, (j + 1) * 4, n) + rng.randn(n) * noise
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
    return X, _labels(n, k)


def blobs(n: int, k: int, noise: float, rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    """K gaussian blobs with centres evenly spaced on the unit circle, std = noise."""
    angle = 2 * np.pi * np.arange(k) / k
    centres = np.c_[np.cos(angle), np.sin(angle)]
    return np.repeat(centres, n, axis=0) + noise * rng.randn(n * k, 2), _labels(n, k)


def circles(n: int, k: int, noise: float, rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    """K concentric rings of radius (j+1)/K; radial noise scaled to the ring spacing."""
    y = _labels(n, k)
    radius = (y + 1) / k + (noise / k) * rng.randn(n * k)
    t = rng.uniform(0, 2 * np.pi, n * k)
    return np.c_[radius * np.cos(t), radius * np.sin(t)], y


def xor(n: int, k: int, noise: float, rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    """A checkerboard on [-1, 1]^2 with max(K, 2) cells a side, cell (i, j) of class (i+j) % K.

    K = 2 is the XOR problem. Points are uniform inside their cell, jittered by noise/2.
    """
    side = max(k, 2)
    cell = 2.0 / side
    i, j = np.divmod(np.arange(side * side), side)
    cell_class = (i + j) % k
    X = np.empty((n * k, 2))
    for c in range(k):
        cells = np.flatnonzero(cell_class == c)
        pick = cells[rng.randint(len(cells), size=n)]
        corner = np.c_[i[pick], j[pick]] * cell - 1.0
        X[c * n : (c + 1) * n] = corner + cell * rng.uniform(size=(n, 2))
    X += (noise / 2) * rng.randn(n * k, 2)
    return X, _labels(n, k)


DATASETS: dict[str, DatasetInfo] = {
    "spiral": DatasetInfo(spiral, "Spiral", "The CS231n case study: K arms winding out from the centre."),
    "blobs": DatasetInfo(blobs, "Blobs", "K round clusters: a linear classifier separates them easily."),
    "circles": DatasetInfo(circles, "Circles", "K rings inside each other: no straight line separates them."),
    "xor": DatasetInfo(xor, "XOR / checkerboard", "Classes alternate on a grid: linear regions cannot follow it."),
}


def make_dataset(
    name: str, points_per_class: int, classes: int, noise: float, rng: Rng
) -> tuple[np.ndarray, np.ndarray]:
    """X (N, 2) float64 and y (N,) int64 from the named generator, drawing from ``rng``."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    X, y = DATASETS[name].make(points_per_class, classes, noise, rng)
    return np.ascontiguousarray(X, dtype=np.float64), y.astype(np.int64)
