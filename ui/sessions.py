"""Each page session's run in the server process, and what one client may take of it.

A session's run sits in a ``Seat`` in ``st.session_state`` (kept by Streamlit for a reconnect). The
``Registry`` (one per process, thread-safe) knows every seat whose page is open and the client
address it came from, which gives:
- a cap on runs training at once per client address (on top of the process-wide cap), so one
  client cannot take every run slot;
- the refresh budget shared by address first (``ServerLimits.address_budget``);
- a cap on disconnected pages whose run is kept for a reconnect: past it, the run of the page that
  left first is set aside (its settings stay; it starts again from iteration 0 when it returns).

``release`` is Streamlit's session-release hook and runs on the server's event loop: it only
signals (``Trainer.suspend`` never waits) and does dictionary work.

``pace`` keeps a session's script runs to the rate the server gave it, whatever its client sends.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections import Counter, OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass

import numpy as np
import streamlit as st

from softmax.config import Config
from softmax.limits import ServerLimits
from softmax.runner import TooManyTrainers, Trainer

# st.context.ip_address is None for 127.0.0.1 and ::1 (and in AppTest): the server's own host, a
# proxy on it that sends no X-Forwarded-For, the benches. Per-address caps do not apply to it (the
# process-wide ones do): it cannot be told apart from a whole classroom.
LOCAL = "local"


def client_address() -> str:
    """The address of this session's client (the balancer's X-Forwarded-For where uvicorn trusts it)."""
    try:
        return st.context.ip_address or LOCAL
    except Exception:  # no client context (a bare script run)
        return LOCAL


def session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def fragment_run() -> bool:
    """True in a run of a fragment alone (a chart refresh or a click inside it), not of the whole page."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


@dataclass(eq=False)
class Seat:
    """A page session's run, kept in st.session_state; ``trainer`` is None once set aside."""

    trainer: Trainer | None
    address: str
    set_aside: bool = False  # the run was dropped while the page was away; the page says so once


# All the script runs of one client address draw on one allowance: its share of the refresh budget
# (as for its pages' refreshes: ServerLimits.address_budget), in fragment runs a second, after a
# burst. A whole-page run costs FULL_RUN fragment runs (measured: 20 ms of CPU against 13.5 ms).
# So an address's clicks come out of its own share, not out of everyone's: a client rerunning 40
# pages back to back gets no more than its pages' refreshes would. A classroom behind one NAT
# address pressing Start together fits the burst.
ADDRESS_BURST, FULL_RUN = 40.0, 1.5


class Registry:
    """The open pages of this process and their runs, by client address. Thread-safe."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()  # held only for dictionary work: release() takes it on the event loop
        self._start_lock = threading.Lock()  # one start at a time (script threads only)
        self._buckets: dict[str, Bucket] = {}  # address -> its shared bucket for clicks
        self._open: weakref.WeakKeyDictionary[Seat, int] = weakref.WeakKeyDictionary()  # seat -> latest token
        self._parked: OrderedDict[int, weakref.ref[Seat]] = OrderedDict()  # id(seat) -> seat, oldest first

    # -- pages coming and going ----------------------------------------------------------
    # A page's connection holds a lease (ui/page.py) with a token; the registry remembers the token
    # of each seat's latest connection. A reconnect can overtake the release of the connection it
    # replaces (Streamlit then releases the old lease after the new one exists): that late release
    # finds another token and changes nothing, so the page that is back keeps its run.
    def connect(self, seat: Seat, token: int) -> None:
        """A page (re)connected: count it, unpark it, and resume its run if it was training."""
        with self._lock:
            self._open[seat] = token
            self._parked.pop(id(seat), None)
        if seat.trainer is not None:
            try:
                self._checked(seat, seat.trainer.resume)
            except TooManyTrainers:
                pass  # the student presses Start again; the page explains if the server is still full

    def release(self, seat: Seat, token: int) -> None:
        """The page's connection closed (Streamlit's release hook, on the event loop): never waits."""
        with self._lock:
            if self._open.get(seat) != token:
                return  # a connection already replaced by a newer one
            del self._open[seat]
            if seat.trainer is not None:
                seat.trainer.suspend()  # only signals
            self._parked[id(seat)] = weakref.ref(seat)
            self._shed_locked()

    def _shed_locked(self) -> None:
        """Set aside the runs of the pages that left first while more than ``max_parked`` are kept."""
        while len(self._parked) > self.limits.max_parked:
            _, ref = self._parked.popitem(last=False)
            seat = ref()
            if seat is not None and seat.trainer is not None:
                seat.trainer = None  # its arrays go now (the trainer's thread, if still ending, keeps it a moment)
                seat.set_aside = True

    # -- runs ----------------------------------------------------------------------------------
    def running_by_address(self) -> Counter[str]:
        with self._lock:
            seats = list(self._open)
        return Counter(s.address for s in seats if s.trainer is not None and s.trainer.running)

    def parked(self) -> int:
        with self._lock:
            return sum(ref() is not None for ref in self._parked.values())

    def start(self, seat: Seat) -> None:
        """Start the seat's run; TooManyTrainers if its address or the process is at its limit."""
        if seat.trainer is not None:
            self._checked(seat, seat.trainer.start)

    def _checked(self, seat: Seat, start) -> None:
        # One start at a time, so the per-address count cannot be overtaken; under its own lock, not
        # the registry's: a start may wait a moment for the trainer's lock, and release() must not.
        with self._start_lock:
            with self._lock:
                seats = list(self._open)
            mine = sum(s.address == seat.address and s is not seat and s.trainer is not None and s.trainer.running
                       for s in seats)
            cap = self.limits.max_running_per_address
            if seat.address != LOCAL and mine >= cap:
                raise TooManyTrainers(f"{mine} runs from your network are training, this server's limit per "
                                      "address; try again in a minute or step by hand")
            start()

    def address_rate(self, address: str) -> float:
        """Script runs a second (in fragment runs) this address may have: its share of the budget."""
        counts = self.running_by_address()
        mine = counts.pop(address, 0)
        return self.limits.address_budget(mine, counts.values())

    def pace_address(self, address: str, cost: float = 1.0) -> float:
        """Hold this script thread until its address's allowance has room for a run of ``cost``
        (see ADDRESS_BURST); returns the seconds waited. The server's own host is not paced."""
        if address == LOCAL:
            return 0.0
        rate = self.address_rate(address)
        with self._lock:
            now = time.monotonic()
            bucket = self._buckets.get(address)
            if bucket is None:
                if len(self._buckets) > 10_000:  # forget addresses idle long enough to be full again
                    self._buckets = {a: b for a, b in self._buckets.items() if now - b.at < 60}
                bucket = self._buckets[address] = Bucket(ADDRESS_BURST, now)
            bucket.tokens = min(ADDRESS_BURST, bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
            bucket.tokens -= cost  # taken now, even if it must wait: later callers queue behind it
            wait = max(0.0, -bucket.tokens / rate)
        if wait:
            _sleep(wait)
        return wait

    def refresh_rate(self, seat: Seat, requested: float, streaming: bool = False) -> float:
        """This seat's refreshes per second: its setting, or its part of its address's share of the
        refresh budget (``streaming``: of the live stream's budget)."""
        counts = self.running_by_address()
        mine = counts.pop(seat.address, 0)
        budget = self.limits.stream_budget if streaming else self.limits.refresh_budget
        return self.limits.session_rate(requested, self.limits.address_budget(mine, counts.values(), budget), mine)


@dataclass
class Bucket:
    """Token bucket state for ``pace`` (kept in st.session_state)."""

    tokens: float
    at: float


def pace(name: str, rate: float, burst: float = 2.0, state: MutableMapping | None = None) -> float:
    """Hold this session's script thread until its next run of kind ``name`` is due: at most ``rate``
    runs a second after a burst of ``burst``. Returns the seconds waited.

    A page that follows the interval it was given never waits (the burst absorbs a timer's jitter
    and a click between two refreshes). A client asking faster is answered at the rate anyway: while
    this thread waits, its further requests merge into one pending rerun (runner.fastReruns off). A
    click that reruns the whole page (Pause) ends the wait at once (``yield_check`` raises
    Streamlit's rerun). ``state``: the session state (st.session_state by default).
    """
    state = st.session_state if state is None else state
    now = time.monotonic()
    bucket = state.get(f"_pace_{name}")
    if not isinstance(bucket, Bucket):
        bucket = state[f"_pace_{name}"] = Bucket(burst, now)
    bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
    bucket.at = now
    waited = 0.0
    if bucket.tokens < 1:
        waited = (1 - bucket.tokens) / rate
        _sleep(waited)
        bucket.tokens, bucket.at = 1.0, time.monotonic()
    bucket.tokens -= 1
    return waited


# A paced thread wakes this often to let Streamlit interrupt it (a whole-page rerun, a stop). Only a
# session asking faster than its allowance ever waits, so this delays no browser; and with a crowd
# of paced threads, fewer wake-ups leave the GIL to the sessions that are served (at 50 ms, 80
# paced tabs woke 1 600 times a second).
WAKE_S = 0.25


def _sleep(seconds: float) -> None:
    """Sleep in slices, letting Streamlit interrupt for a rerun or a stop between them."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    check = getattr(ctx, "yield_check", None)
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, WAKE_S))
        if check is not None:
            check()


_registry: Registry | None = None
_registry_lock = threading.Lock()
_tokens = itertools.count(1)


def new_token() -> int:
    """A token for one connection's lease (see Registry.connect)."""
    return next(_tokens)


def registry(limits: ServerLimits) -> Registry:
    """The process's registry (made on first use), following the limits the page read this run."""
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = Registry(limits)
        _registry.limits = limits
        return _registry


def new_seat(config: Config, limits: ServerLimits, data: tuple[np.ndarray, np.ndarray] | None = None) -> Seat:
    """A session's run of ``config`` (on ``data``, a user's own points, for the dataset "own")."""
    return Seat(Trainer(config, max_seconds=limits.max_run_seconds, data=data), client_address())
