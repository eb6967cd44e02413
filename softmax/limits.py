"""Limits for a shared classroom server, from environment variables with documented defaults.

Each variable has an accepted range (``VARIABLES``); the page's widgets, the Config's own ranges
and the server's capacity set it. An operator's typo fails closed: ``ServerLimits.from_env``
raises ``LimitError`` naming the variable, the range and the value given, and the server refuses
to start with that one line (app.py); it never falls back to defaults, which would silently
lift every other limit too.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from .config import Config

# While other addresses are training, one address's pages get at most this part of the refresh budget.
MAX_ADDRESS_FRACTION = 0.75


class LimitError(ValueError):
    """A SOFTMAX_* variable that is malformed or out of range; the message is one line for the operator."""


@dataclass(frozen=True)
class Variable:
    kind: type  # int or float
    lo: float
    hi: float
    what: str

    def parse(self, name: str, raw: str) -> int | float:
        text = raw.strip()
        whole = self.kind is int
        # ASCII digits only (Python's int() and float() also take other scripts' digits, "1_000", ...)
        pattern = r"\+?[0-9]+" if whole else r"\+?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
        value = self.kind(text) if re.fullmatch(pattern, text) else None
        if value is None or not self.lo <= value <= self.hi or not math.isfinite(value):  # (a huge int: no float)
            kind = "a whole number" if whole else "a number"
            raise LimitError(f"{name} must be {kind} from {self.lo:g} to {self.hi:g} ({self.what}), "
                             f"got {_shown(raw)}")
        return value


def _shown(raw: str, most: int = 40) -> str:
    """The operator's value, quoted and cut short (a variable can hold anything)."""
    return repr(raw[:most]) + ("..." if len(raw) > most else "")


# field name -> how its SOFTMAX_<NAME> variable is read. Ranges: what the page can show (a points
# slider needs room above its 5 points per class, the Config allows 2-10 classes, 1-100 000
# iterations and 1-10 000 iterations/s) and what one process can sensibly hold.
VARIABLES: dict[str, Variable] = {
    "max_running": Variable(int, 1, 1000, "runs training at once in this process"),
    "max_running_per_address": Variable(int, 1, 1000, "runs training at once from one client address"),
    "max_points": Variable(int, 20, 100_000, "points per run"),
    "max_classes": Variable(int, 2, 10, "classes per run"),
    "max_iterations": Variable(int, 1, 100_000, "iterations per run"),
    "max_speed": Variable(float, 1, 10_000, "iterations per second per run"),
    "max_run_seconds": Variable(float, 1, 86_400, "seconds a run trains before it pauses itself"),
    "refresh_budget": Variable(float, 1, 1000, "chart refreshes per second for the whole process"),
    "stream_budget": Variable(float, 1, 5000, "frames per second the live stream sends for the whole process"),
    "address_share": Variable(int, 1, 1000, "runs of one address counted when sharing the refresh budget"),
    "max_sessions": Variable(int, 1, 10_000, "open pages in this process"),
    "max_sessions_per_address": Variable(int, 1, 10_000, "open pages from one client address"),
    "max_parked": Variable(int, 0, 10_000, "disconnected pages whose run is kept for a reconnect"),
    "new_pages_per_minute": Variable(int, 1, 100_000, "pages one address may open a minute, after as many at once"),
    "train_share": Variable(float, 0.05, 16, "seconds of training per second, all of this process's runs together"),
    "max_memory_mb": Variable(int, 0, 1_000_000, "MiB of memory past which no new page is taken (0: none)"),
    "stream": Variable(int, 0, 1, "1: while a run trains, push its charts over the app's stream route; 0: reruns"),
    "stream_deltas": Variable(int, 0, 1, "1: stream frames after the first carry only what changed; 0: whole"),
}


def env_name(field_name: str) -> str:
    return f"SOFTMAX_{field_name.upper()}"


def parse_origins(name: str, raw: str) -> tuple[str, ...]:
    """A space- or comma-separated list of origins (``https://course.example.edu``) or ``'self'``."""
    origins = []
    for part in re.split(r"[\s,]+", raw.strip()):
        if not part:
            continue
        if part == "'self'":
            origins.append(part)
            continue
        url = urlsplit(part)
        ok = (url.scheme in ("https", "http") and url.netloc and not url.path.strip("/") and not url.query
              and not url.fragment and "@" not in url.netloc and re.fullmatch(r"[A-Za-z0-9.*:\[\]-]+", url.netloc))
        if not ok:
            raise LimitError(f"{name} must list origins such as https://course.example.edu (or 'self'), "
                             f"separated by spaces, got {_shown(part)}")
        origins.append(f"{url.scheme}://{url.netloc.lower()}")
    return tuple(dict.fromkeys(origins))


@dataclass(frozen=True)
class ServerLimits:
    max_running: int = 64
    max_running_per_address: int = 40
    max_points: int = 5000
    max_classes: int = 10
    max_iterations: int = 100_000
    max_speed: float = 10_000.0
    max_run_seconds: float = 600.0
    refresh_budget: float = 60.0
    # The live stream's frames are cheap beside a fragment run (1.5-5 ms of CPU against 15-20 ms: most of
    # a rerun is Streamlit's own work), so they have a budget of their own: 50 students at 5 a second.
    stream_budget: float = 250.0
    address_share: int = 25
    max_sessions: int = 200
    max_sessions_per_address: int = 100
    max_parked: int = 64
    new_pages_per_minute: int = 60
    # Training threads hold Python's lock between numpy calls: past about half a core they starve the
    # event loop (health, pages, releases). Runs slow down together instead (softmax/runner.py).
    train_share: float = 0.5
    # A container's memory limit is a cliff (the OOM killer ends every session on it): set this below it
    # and a new student gets a clear "full" page, which a balancer retries elsewhere. 0: no limit.
    max_memory_mb: int = 0
    # 1: while a run trains, the page's charts and status line come over the app's own websocket route
    # (ui/stream.py, docs/stream.md) instead of fragment reruns; 0: fragment reruns only.
    stream: int = 1
    # 1: after a full first frame, a stream's frames carry only what changed in the figures (docs/stream.md);
    # 0: every frame whole (the benchmarks' baseline).
    stream_deltas: int = 1
    frame_ancestors: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerLimits:
        """Read the SOFTMAX_<FIELD> variables; the first malformed or out-of-range one is a LimitError."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for f in fields(cls):
            name = env_name(f.name)
            if name not in environ:
                continue
            if f.name == "frame_ancestors":
                values[f.name] = parse_origins(name, environ[name])
            else:
                values[f.name] = VARIABLES[f.name].parse(name, environ[name])
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
        """Refreshes per second for one session when every running session counts once."""
        return min(requested, max(0.5, self.refresh_budget / max(running, 1)))

    def address_budget(self, mine: int, others: Iterable[int] = (), budget: float | None = None) -> float:
        """Script runs a second for all the pages of one client address, ``mine`` of whose runs
        are training, while other addresses have ``others`` runs training; ``budget``: the process's
        (default: the refresh budget; the live stream's frames share ``stream_budget`` the same way).

        The budget is shared by address first: an address counts as ``min(its runs, address_share)``
        (at least 1), and while other addresses are training, one address gets at most
        MAX_ADDRESS_FRACTION of the budget. A classroom behind one NAT address that has the process
        to itself gets the whole budget, like separate students; a client with 80 tabs beside one
        student gets no more than 25 students would, and leaves the process room to answer the
        student at once (measured by bench/greedy_client.py: at its full 25/26 share the process
        ran at its one core and the student's runs waited ~1 s each).
        """
        budget = self.refresh_budget if budget is None else budget
        weight = min(max(mine, 1), self.address_share)
        theirs = [min(n, self.address_share) for n in others if n > 0]
        share = budget * weight / (weight + sum(theirs))
        return min(share, budget * MAX_ADDRESS_FRACTION) if theirs else share

    def session_rate(self, requested: float, address_budget: float, address_running: int) -> float:
        """Refreshes per second for one running page: its setting, or its part of its address's budget."""
        return min(requested, max(0.5, address_budget / max(address_running, 1)))

    def rate_is_stale(self, current: float, fair: float) -> bool:
        """True when a page polling at ``current`` should change rate: the fair rate now differs
        by more than a quarter (a page that started early must not keep its share as the class fills)."""
        return not 0.8 <= fair / current <= 1.25
