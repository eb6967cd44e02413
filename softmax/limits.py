"""Limits for a shared classroom server, from environment variables with documented defaults.

    SOFTMAX_MAX_RUNNING      64     runs training at once in one server process
    SOFTMAX_MAX_POINTS       5000   training points per run (points per class x classes)
    SOFTMAX_MAX_CLASSES      10     classes per run
    SOFTMAX_MAX_ITERATIONS   100000 iterations per run
    SOFTMAX_MAX_SPEED        10000  iterations per second per run
    SOFTMAX_MAX_RUN_SECONDS  600    seconds a run may train before it pauses itself
    SOFTMAX_REFRESH_BUDGET   60     chart refreshes per second for the whole server (one process delivers
                                    50-55 at one core, measured by bench/classroom.py), shared by the
                                    sessions that are training: each gets min(its setting, budget / running),
                                    and a page changes rate when the share moves by more than a quarter
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from .config import Config


@dataclass(frozen=True)
class ServerLimits:
    max_running: int = 64
    max_points: int = 5000
    max_classes: int = 10
    max_iterations: int = 100_000
    max_speed: float = 10_000.0
    max_run_seconds: float = 600.0
    refresh_budget: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerLimits:
        """Read SOFTMAX_<FIELD> variables; a malformed or non-positive one is a ValueError naming it."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name = f"SOFTMAX_{f.name.upper()}"
            if name not in environ:
                continue
            kind = int if f.type == "int" else float
            try:
                value = kind(environ[name])
            except ValueError:
                whole = "whole " if kind is int else ""
                raise ValueError(f"{name} must be a {whole}number, got {environ[name]!r}") from None
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive, got {environ[name]!r}")
            values[f.name] = value
        return cls(**values)

    def upper(self, name: str, classes: int = 2) -> float | None:
        """The largest value this server allows for a setting (None: no limit of its own).
        Points per class depend on the number of classes; with the default, the fewest."""
        return {
            "points_per_class": max(5, self.max_points // classes),
            "classes": self.max_classes,
            "iterations": self.max_iterations,
            "speed": self.max_speed,
        }.get(name)

    def apply(self, config: Config) -> tuple[Config, list[str]]:
        """Clamp a config to this server's limits; each change is described in a notice."""
        notices = []
        for name in ("classes", "points_per_class", "iterations", "speed"):
            cap = self.upper(name, config.classes)
            value = getattr(config, name)
            if value > cap:
                cap = type(value)(cap)
                notices.append(f"this server allows at most {cap:g} for {name.replace('_', ' ')}; using {cap:g}")
                config = config.with_changes(**{name: cap})
        return config, notices

    def refresh_rate(self, requested: float, running: int) -> float:
        """Refreshes per second for one session: its own setting, backed off when many sessions train."""
        return min(requested, max(0.5, self.refresh_budget / max(running, 1)))

    def rate_is_stale(self, current: float, requested: float, running: int) -> bool:
        """True when a page polling at ``current`` should change rate: the fair rate now differs
        by more than a quarter (a page that started early must not keep its share as the class fills)."""
        return not 0.8 <= self.refresh_rate(requested, running) / current <= 1.25
