"""A run in a background thread that a page can watch: pacing, pause, the process-wide limit.

The training thread never calls Streamlit: it steps the ``Run`` under a lock and marks the
state stale; a reader takes ``trainer.snapshot``, which copies the state (once) when it is
stale. Nothing here waits for the training thread on the caller's behalf except ``pause()``
and ``step()``: ``suspend()``, which a server calls on its event loop when a page
disconnects, only signals the thread, which stops itself.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from .config import Config
from .points import Edit
from .run import MAX_POINTS, Run, quiet
from .snapshot import Snapshot


class TooManyTrainers(RuntimeError):
    """Raised by ``start()`` when the process-wide limit of running trainers is reached."""


class Trainer:
    """One run, stepped by hand or by a background thread.

    ``step()`` is the plain, synchronous API (tests, command line); ``start()`` and ``pause()``
    run steps on a daemon thread at ``config.speed`` iterations per second until
    ``config.iterations`` is reached, the loss blows up, or ``max_seconds`` of running pass.
    The thread exists only while running.
    """

    max_running: int = 64  # process-wide limit on running trainers; the app sets it
    # Seconds of training per second of wall time for all running trainers of the process together (the
    # app sets it): each runner rests between its batches so that its own part is train_share / running.
    train_share: float = float("inf")
    max_points: int = MAX_POINTS  # points a run of a user's own may hold (the app sets the server's limit)
    _running: set[Trainer] = set()
    _running_lock = threading.Lock()

    def __init__(self, config: Config | None = None, max_seconds: float = 600.0,
                 data: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.max_seconds = max_seconds
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._resume_later = False
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
        t = self._thread
        return t is not None and t.is_alive() and not self._stop.is_set()

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
        """Run in a background thread. Returns False (and does nothing) if it is running or finished.

        Raises TooManyTrainers when the process-wide limit of running trainers is reached.
        """
        with self._lock:
            if self.running or self.finished:
                return False
            with Trainer._running_lock:
                # (self may still be listed: its previous thread, suspended without waiting, is ending)
                if self not in Trainer._running and len(Trainer._running) >= Trainer.max_running:
                    raise TooManyTrainers(
                        f"{len(Trainer._running)} runs are training on this server, its limit; "
                        "try again in a minute or step by hand"
                    )
                Trainer._running.add(self)
                self._stop = threading.Event()  # under the registry's lock: see _loop's finally
            self._run.stop_reason = None
            self._thread = threading.Thread(target=self._loop, args=(self._stop,), daemon=True,
                                            name="softmax-trainer")
            self._thread.start()
            self._stale = True  # the snapshot says whether it is running
            return True

    def pause(self, wait: bool = True) -> None:
        """Stop the background thread. With ``wait``, returns once it has ended (well within 0.2 s);
        without, only signals it: the thread ends by itself after its current batch (<= 10 ms of work).

        Not for a server's event loop: there, call ``suspend()``, which does not wait.
        """
        self._stop.set()
        self._stale = True
        t = self._thread
        if wait and t is not None and t is not threading.current_thread():
            t.join(timeout=1.0)

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
            self.start()  # (the suspended thread may still be ending its batch: it leaves on its own)

    def _loop(self, stop: threading.Event) -> None:
        run = self._run
        started = time.monotonic()
        ref_time, ref_iter, speed = started, run.iteration, run.config.speed
        try:
            while not stop.is_set():
                now, cpu = time.monotonic(), time.thread_time()
                with self._lock:
                    if run is not self._run:  # reset while this thread was waking: the old run is gone
                        break
                    if run.config.speed != speed or run.iteration < ref_iter:
                        ref_time, ref_iter, speed = now, run.iteration, run.config.speed
                    due = int((now - ref_time) * speed) - (run.iteration - ref_iter)
                    if due > speed * 0.25:  # fell behind (busy machine): don't burst to catch up
                        ref_time, ref_iter, due = now, run.iteration, 1
                    stepped = 0
                    # At most ~10 ms of work per batch keeps pause() prompt and the state fresh.
                    with quiet():
                        while stepped < due and not run.finished and time.monotonic() - now < 0.01:
                            run._step()
                            stepped += 1
                    # this thread's own CPU time: wall time would count the waits for Python's lock too
                    busy = time.thread_time() - cpu
                    if now - started > self.max_seconds:
                        run.stop_reason = f"paused after {self.max_seconds:g} s of training, the server's limit"
                        stop.set()
                    if run.finished:
                        stop.set()
                    if stepped:
                        self._stale = True
                stop.wait(max(min(0.02, 1.0 / speed), self._rest(busy)))
        finally:
            stop.set()  # whatever ended the loop: from now on this thread counts as not running
            with Trainer._running_lock:
                # A run suspended without waiting may be started again (a reconnect) before this
                # thread has ended: only the thread of the latest start() leaves the registry.
                if self._stop is stop:
                    Trainer._running.discard(self)
            self._stale = True  # the next reader publishes "not running"

    @classmethod
    def _rest(cls, busy: float) -> float:
        """How long a runner that just worked ``busy`` seconds rests, so that it works at most its part of the
        process's training share: busy / (busy + rest) <= train_share / running. (A run that cannot keep its
        speed within its part slows down; the pacing above does not let it burst to catch up.)"""
        part = cls.train_share / max(cls.running_count(), 1)
        return busy * (1.0 / part - 1.0) if part < 1.0 else 0.0

    @classmethod
    def running_count(cls) -> int:
        """How many trainers are running in this process."""
        with cls._running_lock:
            return len(cls._running)
