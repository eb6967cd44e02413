"""All settings of a run in one frozen dataclass: defaults, ranges, help, groups, URL round trip.

The page's controls, the query string, the command line, the trainer and validation all
read the field table below, so a setting is defined exactly once. Settings come in groups:

    data       the points: dataset, points per class, classes, noise, seed
    model      what is trained: model, loss, hidden units, how the weights are drawn
    training   how it is trained: optimizer, step size, regularization, batch size
    run        how the page runs it: iteration cap, speed, chart refreshes

Changing a data or model setting starts the run again (new data or new weights); a
training setting applies from the next iteration and is kept in the run's log, so the run
can be replayed exactly; a run setting changes nothing the model computes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .data import DATASETS
from .features import FEATURES

GROUPS = ("data", "model", "training", "run")


def _setting(default: Any, group: str, label: str, help: str, lo: float | None = None, hi: float | None = None,
             log: bool = False, choices: Mapping[str, str] | None = None, zero_ok: bool = False,
             zero_means: str | None = None, applies: Callable[[Any], bool] | None = None,
             options: Mapping[str, str] | None = None) -> Any:
    """One row of the table. ``choices`` maps each allowed value to its title; ``options`` does the
    same for a setting that holds several of them (a comma list, in table order); ``zero_ok``
    allows 0 below ``lo`` (``zero_means`` says what it means); ``applies(config)`` says whether
    the setting matters for that config (hidden units only for the net)."""
    meta = dict(group=group, label=label, help=help, lo=lo, hi=hi, log=log, choices=choices, zero_ok=zero_ok,
                zero_means=zero_means, applies=applies or (lambda c: True), options=options)
    return field(default=default, metadata=meta)


OWN = "own"  # the dataset of a user's own points (hand-made, a CSV, a link)


def _is_net(config: Config) -> bool:
    return config.model == "two-layer"


def _generated(config: Config) -> bool:
    return config.dataset != OWN


@dataclass(frozen=True)
class Config:
    """One run: the data, the model and its initial weights (from the seed), and how it trains."""

    # -- data ------------------------------------------------------------------------------
    dataset: str = _setting("spiral", "data", "Dataset",
                            "Which 2-D point cloud to classify, or your own points (click on the plane to add "
                            "them, or load a CSV).",
                            choices={**{name: info.title for name, info in DATASETS.items()}, OWN: "Your own points"})
    points_per_class: int = _setting(100, "data", "Points per class", "Training points drawn for each class.",
                                     lo=5, hi=10_000, applies=_generated)
    classes: int = _setting(3, "data", "Classes", "Number of classes K (one weight column per class).", lo=2, hi=10)
    noise: float = _setting(0.2, "data", "Noise", "How much the points scatter around their ideal shape.",
                            lo=0.0, hi=1.0, applies=_generated)
    seed: int = _setting(0, "data", "Seed", "Random seed for the data and the initial weights: same seed, same run.",
                         lo=0, hi=2**31 - 1)
    test_share: float = _setting(0.0, "data", "Held-out test share",
                                 "A share of the points kept out of training, to test the model on points it never "
                                 "saw (chosen by a random stream of its own: the other points and the weights stay "
                                 "the same). 0: train on all of them.", lo=0.0, hi=0.5)
    # -- model -----------------------------------------------------------------------------
    model: str = _setting("linear", "model", "Model",
                          "Linear: scores = X·W + b (the notes' first half). 2-layer net: a hidden layer of "
                          "ReLU units between X and the scores (the notes' second half).",
                          choices={"linear": "Linear classifier", "two-layer": "2-layer ReLU net"})
    loss: str = _setting("softmax", "model", "Loss",
                         "Softmax: cross-entropy of the class probabilities. SVM: the multiclass hinge loss, "
                         "which only counts margins the true class has not won by 1.",
                         choices={"softmax": "Softmax (cross-entropy)", "svm": "Multiclass SVM (hinge)"})
    hidden: int = _setting(100, "model", "Hidden units", "Width H of the net's hidden layer (the notes use 100).",
                           lo=1, hi=200, applies=_is_net)
    features: str = _setting("", "model", "Input features",
                             "Extra inputs computed from each point (x₁, x₂): with x₁² and x₂² a linear model can "
                             "draw a circle. Each one adds a row to W.",
                             options={name: label for name, (label, _) in FEATURES.items()})
    init: str = _setting("notes", "model", "Initial weights",
                         "How the seed's random stream gives the weights. As in the notes: W = 0.01·randn(D, K) "
                         "drawn four times after the data (the notes' published run uses the fourth draw). "
                         "First draw: drawn once, right after the data.",
                         choices={"notes": "As in the CS231n notes", "plain": "First draw after the data"})
    # -- training --------------------------------------------------------------------------
    optimizer: str = _setting("sgd", "training", "Optimizer",
                              "How a gradient becomes an update. Gradient descent: w -= step·dw (the notes' "
                              "loop). Momentum: a velocity v = 0.9·v - step·dw carries over. Adam: per-weight "
                              "steps from running averages of dw and dw².",
                              choices={"sgd": "Gradient descent", "momentum": "Momentum (0.9)", "adam": "Adam"})
    step_size: float = _setting(1.0, "training", "Step size", "How far each update moves the weights against "
                                "the gradient.", lo=1e-4, hi=1e6, log=True)
    reg: float = _setting(1e-3, "training", "Regularization",
                          "Strength of the 0.5·reg·ΣW² penalty that prefers small weights; 0 turns it off.",
                          lo=1e-5, hi=10.0, log=True, zero_ok=True, zero_means="off")
    batch_size: int = _setting(0, "training", "Batch size",
                               "Points per update, drawn at random each iteration (with replacement, from a "
                               "random stream of their own). 0: all of them, full-batch gradient descent as "
                               "in the notes.", lo=1, hi=10_000, zero_ok=True, zero_means="all points")
    # -- run -------------------------------------------------------------------------------
    iterations: int = _setting(200, "run", "Iterations", "Training stops by itself after this many iterations.",
                               lo=1, hi=100_000)
    speed: float = _setting(50.0, "run", "Iterations per second", "How fast training runs, so you can watch it.",
                            lo=1.0, hi=10_000.0, log=True)
    refresh: int = _setting(5, "run", "Chart refreshes per second", "How often the charts redraw while training "
                            "runs.", lo=1, hi=10)

    def __post_init__(self) -> None:
        problems = [p for f in fields(self) if (p := _problem(f, getattr(self, f.name)))]
        if problems:
            raise ValueError("; ".join(problems))

    # -- what a change means ---------------------------------------------------------------
    def restarts(self, other: Config) -> bool:
        """True when going from self to ``other`` needs new data or new initial weights
        (a data or model setting that matters for ``other`` changed)."""
        return any(getattr(self, f.name) != getattr(other, f.name) for f in fields(self)
                   if f.metadata["group"] in ("data", "model") and f.metadata["applies"](other))

    def training_changes(self, other: Config) -> dict[str, Any]:
        """The training settings that differ in ``other``, by name: what the run's log records."""
        return {f.name: getattr(other, f.name) for f in fields(self)
                if f.metadata["group"] == "training" and getattr(self, f.name) != getattr(other, f.name)}

    # -- the query string ------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """Every setting that matters for this config, as a string, for the URL."""
        return {f.name: _format(getattr(self, f.name)) for f in fields(self) if f.metadata["applies"](self)}

    @classmethod
    def from_query(cls, query: Mapping[str, Any], base: Config | None = None) -> tuple[Config, list[str]]:
        """Settings from a query string, starting at ``base`` (the defaults).

        Never raises: a malformed value is replaced by the base value, an out-of-range
        one clamped, a fractional whole number rounded, and each replacement is described
        in the returned notices. Unknown keys are ignored.
        """
        values = {f.name: getattr(base or cls(), f.name) for f in fields(cls)}
        notices = []
        for f in fields(cls):
            if f.name not in query:
                continue
            raw = query[f.name]
            if isinstance(raw, (list, tuple)):
                raw = raw[-1] if raw else ""
            value, notice = coerce(f.name, raw, values[f.name])
            values[f.name] = value
            if notice:
                notices.append(notice)
        return cls(**values), notices

    def with_changes(self, **changes: Any) -> Config:
        """A copy with some settings changed (validated)."""
        return replace(self, **changes)


SETTINGS: tuple[str, ...] = tuple(f.name for f in fields(Config))
_FIELDS = {f.name: f for f in fields(Config)}


def setting_info(name: str) -> dict[str, Any]:
    """The metadata of one setting: group, label, help, lo, hi, log, choices, zero_ok, zero_means,
    applies, default, type ("int", "float" or "str")."""
    f = _FIELDS[name]
    return {**f.metadata, "default": f.default, "type": f.type}


def in_group(group: str) -> tuple[str, ...]:
    """The settings of one group, in table order."""
    return tuple(name for name in SETTINGS if _FIELDS[name].metadata["group"] == group)


def _kind(f) -> str:
    return {"int": "int", "float": "float"}.get(f.type, "str")


def _problem(f, value: Any) -> str | None:
    m, kind = f.metadata, _kind(f)
    if m["options"] is not None:
        parts = value.split(",") if isinstance(value, str) and value else []
        canonical = [name for name in m["options"] if name in parts]
        if not isinstance(value, str) or parts != canonical:
            return f"{f.name} must be a comma list of {', '.join(m['options'])} in that order, got {_cut(value)}"
        return None
    if m["choices"] is not None:
        return None if isinstance(value, str) and value in m["choices"] else \
            f"{f.name} must be one of {', '.join(m['choices'])}, got {_cut(value)}"
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{f.name} must be a whole number, got {_cut(value)}"
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"{f.name} must be a number, got {_cut(value)}"
    if not math.isfinite(value):
        return f"{f.name} must be a finite number, got {value!r}"
    if m["zero_ok"] and value == 0:
        return None
    if not m["lo"] <= value <= m["hi"]:
        zero = "0 or " if m["zero_ok"] else ""
        return f"{f.name} must be {zero}between {_format(m['lo'])} and {_format(m['hi'])}, got {_format(value)}"
    return None


def _cut(value: Any, most: int = 40) -> str:
    """A value for a message, never longer than ``most`` characters: a 100 KB argument is not echoed."""
    text = repr(value)
    return text if len(text) <= most else text[: most - 1] + "…"


def coerce(name: str, raw: Any, fallback: Any) -> tuple[Any, str | None]:
    """Parse one setting's value from text (a query string, a widget); never raises.

    Returns (value, notice or None): unknown choices and non-numbers give ``fallback``,
    out-of-range numbers are clamped and fractional whole numbers rounded, each with a notice.
    """
    f = _FIELDS[name]
    m, kind = f.metadata, _kind(f)
    text = raw if isinstance(raw, str) else str(raw)
    text = text.strip()
    shown = _cut(text)
    if m["options"] is not None:
        asked = [part.strip() for part in text.split(",") if part.strip()]
        known = ",".join(name for name in m["options"] if name in asked)
        unknown = [a for a in asked if a not in m["options"]]
        return known, (f"{m['label']}: unknown {_cut(', '.join(unknown))}, left out" if unknown else None)
    if m["choices"] is not None:
        if text in m["choices"]:
            return text, None
        return fallback, f"{m['label']}: unknown value {shown}, using {m['choices'].get(fallback, fallback)}"
    try:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError
    except ValueError:
        return fallback, f"{m['label']}: {shown} is not a number, using {_format(fallback)}"
    notice = None
    if kind == "int" and number != int(number):
        number = round(number)
        notice = f"{m['label']}: {shown} is not a whole number, using {number}"
    if kind == "int":
        number = int(number)
    if m["zero_ok"] and number == 0:
        return number, notice
    clamped = min(max(number, m["lo"]), m["hi"])
    if kind == "int":
        clamped = int(clamped)
    else:
        clamped = float(clamped)
    if clamped != number:
        return clamped, f"{m['label']}: {shown} is out of range, using {_format(clamped)}"
    return clamped, notice


def _format(value: Any) -> str:
    """Short, exact text for a setting (floats round-trip through float())."""
    if isinstance(value, float):
        # repr ends in ".0" only for a whole number below 1e16 (from 1e16 on it is written 1e+16)
        return repr(value).removesuffix(".0")
    return str(value)


def slider_values(name: str, current: Any = None) -> list:
    """The values a slider offers for a log-scale setting: 1, 2, 5 per decade within its range,
    0 first where 0 is allowed, and ``current`` inserted if it is off that grid."""
    info = setting_info(name)
    lo, hi = info["lo"], info["hi"]
    values = [0.0] if info["zero_ok"] else []
    for exponent in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for mantissa in (1, 2, 5):
            v = float(f"{mantissa}e{exponent}")
            if lo <= v <= hi:
                values.append(v)
    if current is not None and current not in values:
        values = sorted([*values, float(current)])
    return values


def format_value(value: Any) -> str:
    """How a setting's value is written on the page: short, and exact for the grid values."""
    if isinstance(value, float):
        if value == 0:
            return "0"
        if 1e-3 <= abs(value) < 1e4:
            return f"{value:g}"
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
    return str(value)
