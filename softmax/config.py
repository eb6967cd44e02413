"""All settings of a run in one frozen dataclass: defaults, ranges, help, URL round trip.

The page's controls, the query string, the command line and validation all
read the field table below, so a setting is defined exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .data import DATASETS


def _setting(default: Any, label: str, help: str, lo: float | None = None, hi: float | None = None,
             log: bool = False, choices: tuple | None = None, zero_ok: bool = False) -> Any:
    meta = dict(label=label, help=help, lo=lo, hi=hi, log=log, choices=choices, zero_ok=zero_ok)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Config:
    """One run: the data, the initial weights (from the seed) and the training settings."""

    dataset: str = _setting("spiral", "Dataset", "Which 2-D point cloud to classify.",
                            choices=tuple(DATASETS))
    points_per_class: int = _setting(100, "Points per class", "Training points drawn for each class.",
                                     lo=5, hi=10_000)
    classes: int = _setting(3, "Classes", "Number of classes K (one weight column per class).", lo=2, hi=10)
    noise: float = _setting(0.2, "Noise", "How much the points scatter around their ideal shape.",
                            lo=0.0, hi=1.0)
    seed: int = _setting(0, "Seed", "Random seed for the data and the initial weights: same seed, same run.",
                         lo=0, hi=2**31 - 1)
    step_size: float = _setting(1.0, "Step size", "How far each update moves W and b against the gradient.",
                                lo=1e-4, hi=1e6, log=True)
    reg: float = _setting(1e-3, "Regularization", "Strength of the 0.5*reg*sum(W**2) penalty; 0 turns it off.",
                          lo=1e-5, hi=10.0, log=True, zero_ok=True)
    iterations: int = _setting(200, "Iterations", "Training stops by itself after this many iterations.",
                               lo=1, hi=100_000)
    speed: float = _setting(50.0, "Iterations per second", "How fast training runs, so you can watch it.",
                            lo=1.0, hi=10_000.0, log=True)
    refresh: int = _setting(5, "Chart refreshes per second", "How often the charts redraw while training runs.",
                            lo=1, hi=10)

    def __post_init__(self) -> None:
        problems = [p for f in fields(self) if (p := _problem(f, getattr(self, f.name)))]
        if problems:
            raise ValueError("; ".join(problems))

    # -- the query string ---------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """Every setting as a string, for the URL."""
        return {f.name: _format(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_query(cls, query: Mapping[str, Any], base: Config | None = None) -> tuple[Config, list[str]]:
        """Settings from a query string, starting at ``base`` (the defaults).

        Never raises: a malformed value is replaced by the base value, an
        out-of-range one clamped, and each replacement is described in the
        returned notices. Unknown keys are ignored.
        """
        values = {f.name: getattr(base or cls(), f.name) for f in fields(cls)}
        notices = []
        for f in fields(cls):
            if f.name not in query:
                continue
            raw = query[f.name]
            if isinstance(raw, (list, tuple)):
                raw = raw[-1] if raw else ""
            value, notice = _coerce(f, str(raw), values[f.name])
            values[f.name] = value
            if notice:
                notices.append(notice)
        return cls(**values), notices

    def with_changes(self, **changes: Any) -> Config:
        """A copy with some settings changed (validated)."""
        return replace(self, **changes)


def setting_info(name: str) -> dict[str, Any]:
    """The metadata of one setting: label, help, lo, hi, log, choices, zero_ok, default."""
    for f in fields(Config):
        if f.name == name:
            return {**f.metadata, "default": f.default, "type": f.type}
    raise KeyError(name)


SETTINGS: tuple[str, ...] = tuple(f.name for f in fields(Config))


def _kind(f) -> str:
    return {"int": "int", "float": "float"}.get(f.type, "str")


def _problem(f, value: Any) -> str | None:
    m, kind = f.metadata, _kind(f)
    if m["choices"] is not None:
        return None if value in m["choices"] else f"{f.name} must be one of {', '.join(m['choices'])}"
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{f.name} must be a whole number, got {value!r}"
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"{f.name} must be a number, got {value!r}"
    if not math.isfinite(value):
        return f"{f.name} must be a finite number, got {value!r}"
    if m["zero_ok"] and value == 0:
        return None
    if not m["lo"] <= value <= m["hi"]:
        zero = "0 or " if m["zero_ok"] else ""
        return f"{f.name} must be {zero}between {_format(m['lo'])} and {_format(m['hi'])}, got {_format(value)}"
    return None


def _coerce(f, raw: str, fallback: Any) -> tuple[Any, str | None]:
    """Parse one query value; returns (value, notice or None)."""
    m, kind, text = f.metadata, _kind(f), raw.strip()
    if m["choices"] is not None:
        if text in m["choices"]:
            return text, None
        return fallback, f"{m['label']}: unknown value {raw[:40]!r}, using {fallback}"
    try:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError
    except ValueError:
        return fallback, f"{m['label']}: {raw[:40]!r} is not a number, using {_format(fallback)}"
    if kind == "int":
        if number != int(number):
            number = round(number)
        number = int(number)
    if m["zero_ok"] and number == 0:
        return number, None
    clamped = min(max(number, m["lo"]), m["hi"])
    if kind == "int":
        clamped = int(clamped)
    if clamped != number:
        return clamped, f"{m['label']}: {raw[:40]} is out of range, using {_format(clamped)}"
    return clamped, None


def _format(value: Any) -> str:
    """Short, exact text for a setting (floats round-trip through float())."""
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else repr(value).removesuffix(".0")
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
