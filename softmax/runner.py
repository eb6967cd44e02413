"""Runs trained in the background that a page can watch: pacing, pause, the process-wide limit.

One thread (``softmax-trainer``) steps every running trainer of the process in turn, each by the
iterations its speed has made due, then rests. It never calls Streamlit: it steps a ``Run`` under
that trainer's lock and marks the state stale; a reader takes ``trainer.snapshot``, which copies
the state (once) when it is stale. Nothing here waits for the training thread on the caller's
behalf except ``pause()`` and ``step()`` (for the batch in progress, <= 10 ms): ``suspend()``,
which a server calls on its event loop when a page disconnects, only signals.

One thread rather than one per run: on this kind of machine a thread's wake-up costs more than
a step of the linear model, and 50 runs each waking 50 times a second spent a whole core on
waking (``python -m bench.pacer``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from .config import Config
from .points import Edit
from .run import MAX_POINTS, Run, quiet
from .snapshot import Snapshot

log = logging.getLogger("softmax.runner")

TICK = 0.02  # seconds between the training thread's rounds over the running trainers
BATCH = 0.01  # at most this much work per trainer per round: keeps pause() prompt and the state fresh


class TooManyTrainers(RuntimeError):
    """Raised by ``start()`` when the process-wide limit of running trainers is reached."""


@dataclass(slots=True)
class _Pace:
    """A running run's schedule: it is due ``speed`` iterations a second since ``ref_iter`` at ``ref_time``
    (moved on when it falls behind: a run owes nothing); ``started``: when this stretch of training began."""

    run: Run
    ref_time: float
    ref_iter: int
    speed: float
    started: float


class Trainer:
    """One run, stepped by hand or by a background thread.

    ``step()`` is the plain, synchronous API (tests, command line); ``start()`` and ``pause()``
    have the process's training thread step it at ``config.speed`` iterations per second until
    ``config.iterations`` is reached, the loss blows up, or ``max_seconds`` of running pass.
    The thread exists only while some trainer runs.
    """

    max_running: int = 64  # process-wide limit on running trainers; the app sets it
    # Seconds of training per second of wall time for all running trainers of the process together (the
    # app sets it): the training thread rests after each round so that it works at most that share.
    train_share: float = float("inf")
    max_points: int = MAX_POINTS  # points a run of a user's own may hold (the app sets the server's limit)
    _running: set[Trainer] = set()
    _running_lock = threading.Lock()

    def __init__(self, config: Config | None = None, max_seconds: float = 600.0,
                 data: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.max_seconds = max_seconds
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._stop.set()  # not running
        self._resume_later = False
        self._pace: _Pace | None = None  # how far this run's speed has made it due (the training thread's)
        self._data = data
        self._run = Run(config or Config(), data, self.max_points)
        self._publish()

    # -- reading ----------------------------------------------------------------------------
    def _publish(self) -> None:
        self._stale = False
        self._snapshot = self._run.snapshot(running=self.running)

    @property
    def snapshot(self) -> Snapshot:
        """The latest state, as an immutable snapshot; safe to read from any thread.

        The runner only marks the state stale; the copy is made here, when a page asks
        (a few times a second), not after every batch of steps (up to 50 times a second).
        """
        if self._stale:
            with self._lock:
                if self._stale:
                    self._publish()
        return self._snapshot

    @property
    def config(self) -> Config:
        return self._run.config

    @property
    def running(self) -> bool:
        return not self._stop.is_set()

    @property
    def finished(self) -> bool:
        """True when no further step is allowed: the iteration cap is reached or the run diverged."""
        return self._run.finished

    # -- stepping ---------------------------------------------------------------------------
    def step(self, n: int = 1) -> Snapshot:
        """Pause if running, then take up to n updates (fewer if the run is finished)."""
        self.pause()
        with self._lock:
            self._run.step(n)
            self._publish()
        return self._snapshot

    def run_to_end(self) -> Snapshot:
        """Step synchronously until the iteration cap or divergence."""
        return self.step(max(self.config.iterations - self._run.iteration, 0))

    # -- settings -----------------------------------------------------------------------------
    def reset(self, config: Config | None = None, data: tuple[np.ndarray, np.ndarray] | None | bool = False
              ) -> Snapshot:
        """Stop, then rebuild data and initial weights from the (new) config's seed.

        ``data``: a user's points (points (N, 2), labels (N,)) to train on from now on; None: the
        config's generated dataset again; False (the default): whatever the run started from.
        """
        self.pause()
        with self._lock:
            if data is not False:
                self._data = data
            self._run = Run(config or self._run.config, self._data, self.max_points)
            self._publish()
        return self._snapshot

    def edit(self, edit: Edit) -> Snapshot:
        """Change the training points (add, move, remove, clear), paused or training: the run goes on
        from the next iteration on the new points. Raises points.DataError for an impossible edit."""
        with self._lock:
            self._run.edit(edit)
            self._publish()
        return self._snapshot

    # -- going back -------------------------------------------------------------------------
    def view(self, iteration: int) -> Snapshot:
        """The snapshot of an earlier iteration (0 to now), recomputed exactly; the run goes on unchanged."""
        with self._lock:
            return self._run.view(iteration, running=self.running)

    def rewind(self, iteration: int) -> Snapshot:
        """Pause and go back to ``iteration`` for good: the run continues from there."""
        self.pause()
        with self._lock:
            self._run.rewind(iteration)
            self._publish()
        return self._snapshot

    def trajectory(self, index: int) -> dict[str, np.ndarray]:
        """One training example over the run (see ``Run.trajectory``)."""
        with self._lock:
            return self._run.trajectory(index)

    def update(self, config: Config) -> Snapshot:
        """Apply new settings. Data or model settings changed: reset. Otherwise keep the progress;
        the new training settings apply from the next iteration (and go into the run's log)."""
        if self._run.config.restarts(config):
            return self.reset(config)
        with self._lock:
            self._run.change(config)
            self._publish()
        return self._snapshot

    # -- the background runner --------------------------------------------------------------
    def start(self) -> bool:
        """Have the training thread run it. Returns False (and does nothing) if it is running or finished.

        Raises TooManyTrainers when the process-wide limit of running trainers is reached.
        """
        with self._lock:
            if self.running or self.finished:
                return False
            with Trainer._running_lock:
                if len(Trainer._running) >= Trainer.max_running:
                    raise TooManyTrainers(
                        f"{len(Trainer._running)} runs are training on this server, its limit; "
                        "try again in a minute or step by hand"
                    )
                Trainer._running.add(self)
                self._stop = threading.Event()  # under the registry's lock: see pause()
            self._run.stop_reason = None
            self._pace = None
            self._stale = True  # the snapshot says whether it is running
        _pacer.wake()
        return True

    def pause(self, wait: bool = True) -> None:
        """Stop training. With ``wait``, returns once no step of it is in progress (<= one batch, 10 ms);
        without, only signals: the training thread leaves it after its current batch.

        Not for a server's event loop: there, call ``suspend()``, which does not wait.
        """
        stop = self._stop
        stop.set()
        self._stale = True
        with Trainer._running_lock:
            if self._stop is stop:  # (else a start() on another thread came in between: the run is its)
                Trainer._running.discard(self)
        if wait and threading.current_thread() is not _pacer.thread:
            with self._lock:  # the training thread steps under it, and checks the signal first
                pass

    stop = pause

    def suspend(self) -> None:
        """Stop, remembering whether it was running, for ``resume()`` (a page's connection dropped).

        Only signals the thread and returns at once: Streamlit calls this on the event loop that
        serves every connection, and 50 pages dropping together must not wait 50 joins.
        """
        self._resume_later = self.running or self._resume_later
        self.pause(wait=False)

    def resume(self) -> None:
        """Start again if ``suspend()`` found it running; may raise TooManyTrainers."""
        if self._resume_later:
            self._resume_later = False
            self.start()  # (waits for a batch the training thread may still be taking)

    def _advance(self, now: float, budget: float = BATCH) -> None:
        """One round of the training thread: take the iterations this run's speed has made due since its
        last round (as many as fit in ``budget`` seconds, at least one), or nothing if it was stopped."""
        with self._lock:
            run = self._run
            if self._stop.is_set():
                return
            pace = self._pace
            if pace is None or pace.run is not run:  # started, or reset while running
                pace = self._pace = _Pace(run, now, run.iteration, run.config.speed, now)
            if run.config.speed != pace.speed or run.iteration < pace.ref_iter:  # a new speed, or a rewind
                pace.ref_time, pace.ref_iter, pace.speed = now, run.iteration, run.config.speed
            due = int((now - pace.ref_time) * pace.speed) - (run.iteration - pace.ref_iter)
            stepped = 0
            with quiet():
                while stepped < due and not run.finished and time.monotonic() - now < budget:
                    run._step()
                    stepped += 1
            if stepped < due:  # its time ran out (a busy machine, a full class): owe nothing, so it never bursts later
                pace.ref_time, pace.ref_iter = time.monotonic(), run.iteration
            over = now - pace.started > self.max_seconds
            if over:
                run.stop_reason = f"paused after {self.max_seconds:g} s of training, the server's limit"
            if stepped:
                self._stale = True
            if run.finished or over:
                self.pause(wait=False)

    @classmethod
    def _rest(cls, busy: float) -> float:
        """How long the training thread rests after a round of ``busy`` seconds, so that it works at most the
        process's training share: busy / (busy + rest) <= train_share. (Runs that cannot keep their speed
        within it slow down together; the pacing above does not let them burst to catch up.)"""
        return busy * (1.0 / cls.train_share - 1.0) if cls.train_share < 1.0 else 0.0

    @classmethod
    def running_count(cls) -> int:
        """How many trainers are running in this process."""
        with cls._running_lock:
            return len(cls._running)


class _Pacer:
    """The process's training thread: every TICK, one round over the running trainers, then a rest.

    Started by the first ``Trainer.start()``, it ends by itself when no trainer runs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.thread: threading.Thread | None = None

    def wake(self) -> None:
        """A trainer was added to the running set: make sure a thread takes it."""
        with self._lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, daemon=True, name="softmax-trainer")
                self.thread.start()
        self._wake.set()

    def _loop(self) -> None:
        while True:
            with self._lock, Trainer._running_lock:
                trainers = list(Trainer._running)
                if not trainers:  # (a start() adds first, then wakes: it starts a new thread)
                    self.thread = None
                    return
            begun, cpu = time.monotonic(), time.thread_time()
            # Each run's part of a round that keeps within the training share: rounds stay about a TICK long,
            # so every run's state moves many times a second (a page draws only when it has moved).
            budget = min(BATCH, TICK * min(Trainer.train_share, 1.0) / len(trainers))
            for trainer in trainers:
                try:
                    trainer._advance(time.monotonic(), budget)
                except Exception:  # one run's fault must not stop the others: it stops alone, and says so
                    log.exception("a training run failed and was stopped")
                    trainer._run.stop_reason = "stopped by an error on the server"
                    trainer.pause(wait=False)
            # this thread's own CPU time: wall time would count the waits for Python's lock too
            busy = time.thread_time() - cpu
            self._wake.clear()
            self._wake.wait(max(TICK - (time.monotonic() - begun), Trainer._rest(busy)))


_pacer = _Pacer()
