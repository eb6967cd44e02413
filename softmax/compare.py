"""Comparing: the confusion matrix of a snapshot, and runs saved to overlay their loss curves.

Pure numpy. ``confusion`` counts (true class, predicted class) pairs; ``row_shares`` turns each row
into shares of that class's points. A ``SavedRun`` is the little a page keeps of a run to compare
it with others (its setup and its loss curve, at most ``SAVED_POINTS`` points), and ``labels`` names
saved runs by what differs in their setups ("step 10", "SVM").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from .config import Config, format_value, setting_info
from .snapshot import Snapshot, frozen, log_text

MAX_SAVED = 3  # runs a page keeps for comparison
SAVED_POINTS = 300  # points of a saved loss curve (about one per pixel column of the chart)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, K: int) -> np.ndarray:
    """(K, K) int64 counts: entry [i, j] is the number of points of true class i predicted as class j.

    y_true, y_pred (N,) whole numbers in 0..K-1. Rows sum to each class's number of points (a class
    with no points is a row of zeros); the whole matrix sums to N; its trace counts the right ones.
    """
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} and {len(y_pred)}")
    if len(y_true) and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= K):
        raise ValueError(f"labels must lie in 0..{K - 1}")
    return np.bincount(y_true * K + y_pred, minlength=K * K).reshape(K, K)


def row_shares(counts: np.ndarray) -> np.ndarray:
    """Each row of a confusion matrix as shares of its sum (K, K) float: row i is where class i's
    points went. A class with no points has no shares: its row is NaN."""
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), np.nan)


def predictions(snap: Snapshot, which: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(true labels, predicted labels) of the snapshot's training points (``which="train"``, from the
    model's own scores) or of its held-out test points ("test", the model's scores at these weights).
    The prediction is the class of the largest score, as the model's accuracy counts it."""
    if which == "train":
        return snap.y, np.asarray(snap.parts["scores"]).argmax(axis=1) if snap.N else np.zeros(0, np.int64)
    if which != "test":
        raise ValueError(f"which must be 'train' or 'test', got {which!r}")
    if not len(snap.y_test):
        return snap.y_test, np.zeros(0, np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        scores = snap.model.scores(snap.theta, snap.X_test)  # class-major (K, M)
    return snap.y_test, scores.argmax(axis=0)


def confusions(snap: Snapshot) -> dict[str, np.ndarray]:
    """The snapshot's confusion matrices by name: "train", and "test" when it has held-out points."""
    out = {"train": confusion(*predictions(snap, "train"), snap.K)}
    if len(snap.y_test):
        out["test"] = confusion(*predictions(snap, "test"), snap.K)
    return out


# -- saved runs -------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SavedRun:
    """What a page keeps of a run to compare it with others: its setup and its loss curve.

    ``config``: the settings the run started with; ``changes``: how many times a training setting
    changed mid-run; ``iteration`` (T,) int32 and ``loss`` (T,) float64: the total loss, thinned to
    at most SAVED_POINTS points (the first and the last kept); ``diverged``; ``key``: the same for
    the same run however far it went (setup, mid-run changes, points), so saving it again replaces it.
    """

    config: Config
    changes: int
    iteration: np.ndarray
    loss: np.ndarray
    diverged: bool
    key: str


def run_key(snap: Snapshot) -> str:
    """What identifies a run, not how far it went: its start settings, its logged changes, its points."""
    h = hashlib.sha1()
    h.update(repr(sorted(snap.start_config.to_query().items())).encode())
    h.update(log_text(snap.log).encode())
    for a in (snap.points, snap.y, snap.test_points, snap.y_test):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def save(snap: Snapshot) -> SavedRun:
    """A snapshot's run, as kept for comparison (up to the snapshot's iteration)."""
    h = snap.history
    n = len(h.iteration)
    keep = np.arange(n) if n <= SAVED_POINTS else np.unique(np.linspace(0, n - 1, SAVED_POINTS).round().astype(int))
    changes = sum(1 for c in snap.log if c.settings and c.iteration <= snap.iteration)
    return SavedRun(snap.start_config, changes, frozen(h.iteration[keep].astype(np.int32)),
                    frozen(h.loss[keep].astype(np.float64)), snap.diverged, run_key(snap))


def keep(saved: Sequence[SavedRun], new: SavedRun, most: int = MAX_SAVED) -> tuple[tuple[SavedRun, ...], str]:
    """The saved runs with ``new`` added, and what happened: "replaced" (the same run saved again: its
    longer curve takes the old one's place), "added", or "dropped the oldest" (``most`` were kept)."""
    saved = list(saved)
    for i, old in enumerate(saved):
        if old.key == new.key:
            saved[i] = new
            return tuple(saved), "replaced"
    saved.append(new)
    if len(saved) > most:
        return tuple(saved[-most:]), "dropped the oldest"
    return tuple(saved), "added"


# Short names of the settings that tell runs apart: a label is a few of these ("step 10", "SVM").
_SHORT = {"points_per_class": "points/class", "classes": "K", "noise": "noise", "seed": "seed",
          "test_share": "test share", "hidden": "H", "step_size": "step", "reg": "reg", "batch_size": "batch"}
_CHOICE = {"loss": {"softmax": "softmax", "svm": "SVM"},
           "model": {"linear": "linear", "two-layer": "2-layer net"},
           "optimizer": {"sgd": "gradient descent", "momentum": "momentum", "adam": "Adam"},
           "init": {"notes": "notes' init", "plain": "first-draw init"}}
_COMPARED = [f.name for f in fields(Config) if f.metadata["group"] in ("data", "model", "training")]


def setting_text(name: str, value) -> str:
    """One setting as a label names it: ``step 10``, ``SVM``, ``blobs``, ``features x₁²``."""
    if name in _CHOICE:
        return _CHOICE[name].get(value, str(value))
    if name == "dataset":
        return "own points" if value == "own" else str(value)
    if name == "features":
        options = setting_info("features")["options"]
        return "features " + (", ".join(options[f] for f in value.split(",")) if value else "none")
    if name == "batch_size" and value == 0:
        return "full batch"
    if name == "reg" and value == 0:
        return "no reg"
    if name == "test_share":
        return f"test share {value:.0%}"
    return f"{_SHORT.get(name, name)} {format_value(value)}"


def labels(setups: Sequence[tuple[Config, int]], keys: Sequence[str] | None = None) -> list[str]:
    """A short label for each of several setups ((start settings, mid-run changes) each): the settings
    in which they differ (those that matter for that setup), e.g. ``["step 0.1", "step 1", "step 10"]``
    or ``["SVM", "softmax"]``; "changed mid-run" where settings changed during the run. A setup that
    nothing tells apart from all the others gets "" (the caller names it by its place); runs with the
    same label otherwise (the same settings, other points) are numbered: "step 1 (#2)". ``keys``: which
    entries are one run (``SavedRun.key``: a run saved and the same run training on), which share a label."""
    keys = list(range(len(setups))) if keys is None else list(keys)
    configs = [c for c, _ in setups]
    varying = [n for n in _COMPARED if len({getattr(c, n) for c in configs}) > 1]
    out = []
    for config, changes in setups:
        parts = [setting_text(n, getattr(config, n)) for n in varying if setting_info(n)["applies"](config)]
        if changes:
            parts.append("changed mid-run")
        out.append(", ".join(parts))
    runs: dict[str, list] = {}  # label -> the runs (keys) that have it, in order
    for label, key in zip(out, keys, strict=True):
        if key not in runs.setdefault(label, []):
            runs[label].append(key)
    return [f"{label} (#{runs[label].index(key) + 1})" if label and len(runs[label]) > 1 else label
            for label, key in zip(out, keys, strict=True)]
