"""Numerical gradient checks as in the CS231n notes: centered differences and the relative error.

For every entry w of every parameter, the numerical derivative is the centered difference

    (f(w + h) - f(w - h)) / 2h,   h = 1e-5,

with the loss f written out plainly by the model (``model.extended``) and evaluated in
``np.longdouble``. It is compared with the analytic gradient handed in -- the one the page
shows -- by the relative error |a - n| / max(|a|, |n|).

A check has a resolution. The difference quotient carries the loss's rounding error
divided by h, and a truncation error of about h²·f'''/6; once a gradient has converged
to ~1e-17, the analytic value is rounding noise and the numerical one is too, and their
relative error is 1 for a perfectly correct gradient. So each entry gets a resolution r:
the rounding noise (from the float format, the size of the loss and scores, and h) plus the
truncation error estimated from a second difference at 2h, times a safety factor. Then

- an entry where both values are within r of zero is "below the check's resolution": it is
  listed as such and left out of the verdict;
- the relative error is taken against max(|a|, |n|, r / 1e-7), so a difference the check
  cannot resolve never reads above 1e-7 (CS231n's own ``rel_error`` floors its denominator
  for the same reason), while any real error larger than r reads as large as it is;
- an entry whose centered difference straddles a kink (a hinge margin or a ReLU that
  switches between w - 2h and w + 2h) is not a derivative there: listed, not judged.

The analytic gradient's own rounding (float64, ~1e-16 of the sum of its terms) is two or
more orders below the numerical noise and is covered by the safety factor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .models import Model, Params

H = 1e-5
GOOD = 1e-7  # CS231n: a correct gradient of a smooth loss checks to 1e-7 or less
SAFETY = 16.0  # how far the resolution sits above the estimated noise
ENTRY_BUDGET = 800  # loss evaluations are ~4 an entry; past this many entries a sample is checked

# Status of an entry
CHECKED, BELOW, KINK, SKIPPED = 0, 1, 2, 3
STATUS_TEXT = {
    CHECKED: "checked",
    BELOW: "both ≈ 0 — below the check's resolution",
    KINK: "at a kink — a centered difference there is not the derivative",
    SKIPPED: "not in the sample",
}

# CS231n's reading of a relative error, from worst to best.
VERDICTS = (
    (1e-2, "wrong: above 1e-2 the gradient is probably wrong"),
    (1e-4, "uncomfortable: between 1e-4 and 1e-2 something is probably off"),
    (GOOD, "too large: a correct gradient checks to 1e-7 or less here"),
    (0.0, "good: 1e-7 or less is what a correct gradient gives"),
)


def verdict(rel_error: float) -> str:
    """The CS231n notes' reading of a relative error (NaN: never good)."""
    if not math.isfinite(rel_error):
        return "not a number: the gradient or the loss is not finite here, so nothing can be checked"
    for threshold, text in VERDICTS:
        if rel_error > threshold:
            return text
    return VERDICTS[-1][1]


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: np.ndarray | float = 0.0) -> np.ndarray:
    """|a - n| / max(|a|, |n|, floor) elementwise; 0 where all three are 0; NaN where a or n is not finite."""
    a, n = np.asarray(analytic, float), np.asarray(numeric, float)
    with np.errstate(invalid="ignore", over="ignore"):
        scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
        diff = np.abs(a - n)
        out = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    out[~(np.isfinite(a) & np.isfinite(n))] = np.nan
    return out


@dataclass(frozen=True)
class GradCheck:
    """Analytic vs numerical gradient, entry by entry, for every parameter (by name, its shape).

    ``numeric``, ``resolution`` and ``rel_error`` are NaN where an entry was not evaluated;
    ``status`` says what each entry is (CHECKED, BELOW, KINK, SKIPPED).
    """

    analytic: Mapping[str, np.ndarray]
    numeric: Mapping[str, np.ndarray]
    resolution: Mapping[str, np.ndarray]
    rel_error: Mapping[str, np.ndarray]
    status: Mapping[str, np.ndarray]
    h: float

    def count(self, status: int) -> int:
        return int(sum(np.count_nonzero(s == status) for s in self.status.values()))

    @property
    def finite(self) -> bool:
        evaluated = [(self.analytic[k], self.numeric[k], self.status[k] != SKIPPED) for k in self.analytic]
        return all(np.isfinite(a[m]).all() and np.isfinite(n[m]).all() for a, n, m in evaluated)

    @property
    def max_rel_error(self) -> float:
        """The largest relative error over the judged entries (NaN if anything is not finite;
        0 if no entry could be judged)."""
        if not self.finite:
            return math.nan
        judged = [e[s == CHECKED] for e, s in zip(self.rel_error.values(), self.status.values(), strict=True)]
        return max((float(e.max()) for e in judged if e.size), default=0.0)

    @property
    def passed(self) -> bool:
        """The gradient agrees everywhere the check can tell (and somewhere it can)."""
        return self.finite and self.max_rel_error <= GOOD and self.count(CHECKED) + self.count(BELOW) > 0

    @property
    def verdict(self) -> str:
        if self.finite and self.count(CHECKED) == 0:
            if self.count(BELOW):
                return ("good: every entry agrees within the check's resolution — both values are ≈ 0 (the gradient "
                        "has converged)")
            return "nothing checked: every centered difference straddles a kink here; take a step and check again"
        return verdict(self.max_rel_error)

    def wrong_entries(self, above: float = GOOD) -> list[tuple[str, tuple[int, ...]]]:
        """The judged entries whose relative error is above ``above`` (or not finite), by parameter name and
        index, worst first: what a wrong gradient gets wrong."""
        found = []
        for name, err in self.rel_error.items():
            judged = self.status[name] == CHECKED
            bad = judged & ~(err <= above)  # NaN counts as wrong
            for ix in zip(*np.nonzero(bad), strict=True):
                e = float(err[ix])
                found.append((math.inf if e != e else e, name, tuple(int(i) for i in ix)))
        found.sort(key=lambda t: -t[0])
        return [(name, ix) for _, name, ix in found]

    @property
    def smallest_resolution(self) -> float:
        values = [r[np.isfinite(r)] for r in self.resolution.values()]
        return min((float(v.min()) for v in values if v.size), default=math.nan)

    @property
    def largest_resolution(self) -> float:
        values = [r[np.isfinite(r)] for r in self.resolution.values()]
        return max((float(v.max()) for v in values if v.size), default=math.nan)


def _sample(shapes: Mapping[str, tuple[int, ...]], budget: int, seed: int) -> dict[str, np.ndarray]:
    """Which entries to evaluate (a boolean mask per parameter): all of them within the budget,
    else every parameter gets a share, at least 8 entries, drawn at random (CS231n's sparse check)."""
    sizes = {name: int(np.prod(shape)) for name, shape in shapes.items()}
    total = sum(sizes.values())
    rng = np.random.RandomState(seed)
    masks = {}
    for name, shape in shapes.items():
        n = sizes[name] if total <= budget else min(sizes[name], max(8, budget * sizes[name] // total))
        mask = np.zeros(sizes[name], bool)
        mask[rng.choice(sizes[name], n, replace=False) if n < sizes[name] else slice(None)] = True
        masks[name] = mask.reshape(shape)
    return masks


def check_gradient(model: Model, params: Params, X: np.ndarray, y: np.ndarray, reg: float,
                   analytic: Params, h: float = H, budget: int = ENTRY_BUDGET, seed: int = 0) -> GradCheck:
    """Check ``analytic`` (the gradient to check, by parameter name) against centered differences.

    params and analytic: the model's parameters by name (``model.layout`` shapes); X (N, D), y (N,).
    Every entry is evaluated when there are at most ``budget`` of them, else a seeded sample.
    """
    names = [name for name in params]
    X_ld = np.asarray(X, dtype=np.longdouble)
    probe = {name: np.array(params[name], dtype=np.longdouble) for name in names}
    h_ld = np.longdouble(h)

    with np.errstate(all="ignore"):
        evaluate = (model.evaluator(probe, X_ld, y, reg) if hasattr(model, "evaluator")
                    else _Plain(model, probe, X_ld, y, reg))
        base, base_kinks = evaluate.base
        K = np.shape(params[model.output])[-1]
        theta = model.layout(np.shape(X)[1], K).flatten(params)
        scores = model.scores(theta, np.asarray(X, dtype=float))
    # The loss's rounding error: its terms are scores and log-sum-exps of about this size, summed
    # over N examples (numpy sums pairwise, so the error grows like log2 N).
    u = float(np.finfo(np.longdouble).eps)
    loss_error = u * (float(np.max(np.abs(scores))) + abs(float(base)) * math.log2(len(y) + 1) + 1.0)
    masks = _sample({n: np.shape(params[n]) for n in names}, budget, seed)

    numeric, resolution, rel, status = {}, {}, {}, {}
    for name in names:
        p, a = probe[name], np.asarray(analytic[name], dtype=float)
        num = np.full(p.shape, np.nan)
        res = np.full(p.shape, np.nan)
        st = np.full(p.shape, SKIPPED, dtype=np.int8)
        for ix in zip(*np.nonzero(masks[name]), strict=True):
            values, kinked = [], False
            for step in (h_ld, -h_ld, 2 * h_ld, -2 * h_ld):
                with np.errstate(all="ignore"):
                    value, kinks = evaluate.moved(name, ix, step)
                values.append(value)
                kinked |= kinks is not None and not np.array_equal(kinks, base_kinks)
            d1 = (values[0] - values[1]) / (2 * h_ld)
            d2 = (values[2] - values[3]) / (4 * h_ld)
            num[ix] = float(d1)
            # the truncation error of d1 is about (d2 - d1) / 3 (Richardson), its rounding noise loss_error / h
            res[ix] = SAFETY * (loss_error / h + abs(float(d2 - d1)) / 3)
            st[ix] = KINK if kinked else CHECKED
        below = (st == CHECKED) & (np.abs(a) <= res) & (np.abs(num) <= res)
        st[below] = BELOW
        numeric[name], resolution[name], status[name] = num, res, st
        rel[name] = relative_error(a, num, res / GOOD)
        rel[name][st == SKIPPED] = np.nan

    def frozen(d):
        return MappingProxyType({k: _ro(v) for k, v in d.items()})

    return GradCheck(analytic=frozen({n: np.asarray(analytic[n], dtype=float) for n in names}),
                     numeric=frozen(numeric), resolution=frozen(resolution), rel_error=frozen(rel),
                     status=frozen(status), h=h)


class _Plain:
    """The model's extended loss, evaluated whole with one entry moved (the linear model is cheap enough)."""

    def __init__(self, model: Model, params: Params, X: np.ndarray, y: np.ndarray, reg: float) -> None:
        self.model, self.params, self.X, self.y, self.reg = model, params, X, y, reg
        self.base = model.extended(params, X, y, reg)

    def moved(self, name: str, index: tuple[int, ...], delta) -> tuple[object, object]:
        p = self.params[name]
        old = p[index]
        p[index] = old + delta
        try:
            return self.model.extended(self.params, self.X, self.y, self.reg)
        finally:
            p[index] = old


def check_snapshot(snap, budget: int = ENTRY_BUDGET) -> GradCheck:
    """Check the gradient a snapshot shows (``snap.grads``) at its own weights, data and reg."""
    return check_gradient(snap.model, dict(snap.params), snap.X, snap.y, snap.reg, dict(snap.grads), budget=budget)


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a
