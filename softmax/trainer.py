"""Full-batch gradient descent, one step at a time, and a background runner the page can watch.

The training thread never calls Streamlit: after each batch of steps it swaps in
a new immutable ``Snapshot`` (arrays copied and marked read-only), and readers
on other threads simply take ``trainer.snapshot``.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from .config import Config
from .data import make_dataset
from .model import LossParts, Workspace, init_params, stack_params

# A loss this many times the initial loss (about ln K) means the steps overshoot.
BLOWUP_FACTOR = 10.0


def _quiet() -> np.errstate:
    """Overflow can only come from a step size far too large; _step_locked catches and undoes it."""
    return np.errstate(over="ignore", invalid="ignore")


class TooManyTrainers(RuntimeError):
    """Raised by ``start()`` when the process-wide limit of running trainers is reached."""


@dataclass(frozen=True)
class History:
    """Per-iteration values, decimated to a bounded length T as a run grows long.

    iteration (T,) int; loss, data_loss, reg_loss, accuracy (T,); dW (T, D, K); db (T, K).
    The last entry is always the snapshot's own iteration.
    """

    iteration: np.ndarray
    loss: np.ndarray
    data_loss: np.ndarray
    reg_loss: np.ndarray
    accuracy: np.ndarray
    dW: np.ndarray
    db: np.ndarray


@dataclass(frozen=True)
class Snapshot:
    """The state of a run after ``iteration`` updates; every array is a read-only copy.

    X (N, D), y (N,): the training data. W, dW, dW_data, dW_reg (D, K); b, db (K,);
    scores, probs, dscores (N, K): the model's own intermediates at W, b.
    """

    config: Config
    iteration: int
    X: np.ndarray
    y: np.ndarray
    W: np.ndarray
    b: np.ndarray
    scores: np.ndarray
    probs: np.ndarray
    dscores: np.ndarray
    dW_data: np.ndarray
    dW_reg: np.ndarray
    dW: np.ndarray
    db: np.ndarray
    loss: float
    data_loss: float
    reg_loss: float
    accuracy: float
    initial_loss: float
    history: History
    running: bool
    diverged: bool
    stop_reason: str | None

    @property
    def step_size(self) -> float:
        return self.config.step_size

    @property
    def reg(self) -> float:
        return self.config.reg


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


class _HistoryBuffer:
    """Fixed-capacity history: when full, every other entry is dropped and the stride doubles."""

    def __init__(self, D: int, K: int, capacity: int = 512) -> None:
        self.capacity, self.stride, self.n = capacity, 1, 0
        self.scalars = np.zeros((capacity, 5))  # iteration, loss, data_loss, reg_loss, accuracy
        self.dW = np.zeros((capacity, D, K))
        self.db = np.zeros((capacity, K))

    def record(self, iteration: int, parts: LossParts) -> None:
        if iteration % self.stride:
            return
        if self.n == self.capacity:
            half = self.capacity // 2
            for a in (self.scalars, self.dW, self.db):
                a[:half] = a[0 : self.capacity : 2]
            self.n, self.stride = half, self.stride * 2
            if iteration % self.stride:
                return
        i = self.n
        self.scalars[i] = iteration, parts.loss, parts.data_loss, parts.reg_loss, parts.accuracy
        self.dW[i] = parts.dW
        self.db[i] = parts.db
        self.n += 1

    def freeze(self, iteration: int, parts: LossParts) -> History:
        n = self.n
        scalars, dW, db = self.scalars[:n], self.dW[:n], self.db[:n]
        if n == 0 or scalars[-1, 0] != iteration:
            scalars = np.vstack([scalars, [[iteration, parts.loss, parts.data_loss, parts.reg_loss, parts.accuracy]]])
            dW = np.concatenate([dW, parts.dW[None]])
            db = np.concatenate([db, parts.db[None]])
        return History(
            iteration=_frozen(scalars[:, 0].astype(np.int64)),
            loss=_frozen(scalars[:, 1]),
            data_loss=_frozen(scalars[:, 2]),
            reg_loss=_frozen(scalars[:, 3]),
            accuracy=_frozen(scalars[:, 4]),
            dW=_frozen(dW),
            db=_frozen(db),
        )


class Trainer:
    """One run of the CS231n softmax classifier, stepped by hand or by a background thread.

    ``step()`` is the plain, synchronous API (tests, command line); ``start()``
    and ``pause()`` run steps on a daemon thread at ``config.speed`` iterations
    per second until ``config.iterations`` is reached, the loss blows up, or
    ``max_seconds`` of running pass. The thread exists only while running.
    """

    max_running: int = 64  # process-wide limit on running trainers; the app sets it
    _running: set[Trainer] = set()
    _running_lock = threading.Lock()

    def __init__(self, config: Config | None = None, max_seconds: float = 600.0) -> None:
        self.max_seconds = max_seconds
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._config = config or Config()
        self._build(self._config)

    # -- state ----------------------------------------------------------------
    def _build(self, config: Config) -> None:
        """Data and initial weights from the seed: the K randn draws of the data, then W."""
        rng = np.random.RandomState(config.seed)
        X, y = make_dataset(config.dataset, config.points_per_class, config.classes, config.noise, rng)
        params = init_params(rng, X.shape[1], config.classes)
        self._config = config
        self._X, self._y = _frozen(X), _frozen(y)
        self._ws = Workspace(X, y, config.classes)
        self._theta = stack_params(params)
        self._theta_prev = self._theta.copy()
        self._update = np.zeros_like(self._theta)
        self._iteration = 0
        self._diverged = False
        self._stop_reason: str | None = None
        self._history = _HistoryBuffer(X.shape[1], config.classes)
        self._parts = self._ws.run(self._theta, config.reg)
        self._initial_loss = self._parts.loss
        self._history.record(0, self._parts)
        self._publish()

    def _publish(self) -> None:
        p, D = self._parts, self._ws.D
        self._stale = False
        self._snapshot = Snapshot(
            config=self._config,
            iteration=self._iteration,
            X=self._X,
            y=self._y,
            W=_frozen(self._theta[:D]),
            b=_frozen(self._theta[D]),
            scores=_frozen(p.scores),
            probs=_frozen(p.probs),
            dscores=_frozen(p.dscores),
            dW_data=_frozen(p.dW_data),
            dW_reg=_frozen(p.dW_reg),
            dW=_frozen(p.dW),
            db=_frozen(p.db),
            loss=p.loss,
            data_loss=p.data_loss,
            reg_loss=p.reg_loss,
            accuracy=p.accuracy,
            initial_loss=self._initial_loss,
            history=self._history.freeze(self._iteration, p),
            running=self.running,
            diverged=self._diverged,
            stop_reason=self._stop_reason,
        )

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
        return self._config

    @property
    def running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive() and not self._stop.is_set()

    @property
    def finished(self) -> bool:
        """True when no further step is allowed: the iteration cap is reached or the run diverged."""
        return self._diverged or self._iteration >= self._config.iterations

    # -- stepping --------------------------------------------------------------
    def _step_locked(self) -> None:
        """One gradient descent update, then the loss and gradient at the new weights.

        Callers hold the lock and an ``np.errstate`` that ignores overflow: only a
        step size far too large overflows, and that is caught here and undone.
        """
        cfg = self._config
        np.copyto(self._theta_prev, self._theta)
        np.multiply(self._ws.grad, cfg.step_size, out=self._update)
        self._theta -= self._update
        parts = self._ws.run(self._theta, cfg.reg)
        if not math.isfinite(parts.loss):  # non-finite weights make the loss non-finite too
            # Keep the last finite state on show; the run has diverged.
            np.copyto(self._theta, self._theta_prev)
            self._parts = self._ws.run(self._theta, cfg.reg)
            self._diverge("the loss became infinite")
            return
        self._parts = parts
        self._iteration += 1
        self._history.record(self._iteration, parts)
        if parts.loss > BLOWUP_FACTOR * self._initial_loss:
            self._diverge(f"the loss grew past {BLOWUP_FACTOR:g} times its starting value")
        elif self._iteration >= cfg.iterations:
            self._stop_reason = f"reached the {cfg.iterations}-iteration limit"

    def _diverge(self, why: str) -> None:
        self._diverged = True
        self._stop_reason = f"diverged: {why}"

    def step(self, n: int = 1) -> Snapshot:
        """Pause if running, then take up to n updates (fewer if the run is finished)."""
        self.pause()
        with self._lock, _quiet():
            for _ in range(n):
                if self.finished:
                    break
                self._step_locked()
            self._publish()
        return self._snapshot

    def run_to_end(self) -> Snapshot:
        """Step synchronously until the iteration cap or divergence."""
        return self.step(self._config.iterations - self._iteration)

    # -- settings ----------------------------------------------------------------
    def reset(self, config: Config | None = None) -> Snapshot:
        """Stop, then rebuild data and initial weights from the (new) config's seed."""
        self.pause()
        with self._lock:
            self._build(config or self._config)
        return self._snapshot

    def update(self, config: Config) -> Snapshot:
        """Apply new settings. Data settings or seed changed: reset. Otherwise keep
        the progress; the new step size, reg, cap and speed apply from the next iteration."""
        data_keys = ("dataset", "points_per_class", "classes", "noise", "seed")
        if any(getattr(config, k) != getattr(self._config, k) for k in data_keys):
            return self.reset(config)
        with self._lock:
            reg_changed = config.reg != self._config.reg
            self._config = config
            if reg_changed:  # the loss and dW depend on reg: recompute at the current weights
                self._parts = self._ws.run(self._theta, config.reg)
            if not self._diverged:
                self._stop_reason = None
                if self._iteration >= config.iterations:
                    self._stop_reason = f"reached the {config.iterations}-iteration limit"
            self._publish()
        return self._snapshot

    # -- the background runner --------------------------------------------------
    def start(self) -> None:
        """Run in a background thread; no-op if running or finished. Raises TooManyTrainers."""
        with self._lock:
            if self.running or self.finished:
                return
            with Trainer._running_lock:
                # (self may still be listed: its previous thread, suspended without waiting, is ending)
                if self not in Trainer._running and len(Trainer._running) >= Trainer.max_running:
                    raise TooManyTrainers(
                        f"{len(Trainer._running)} runs are training on this server, its limit; "
                        "try again in a minute or step by hand"
                    )
                Trainer._running.add(self)
                self._stop = threading.Event()  # under the registry's lock: see _run's finally
            self._stop_reason = None
            self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True,
                                            name="softmax-trainer")
            self._thread.start()
            self._stale = True  # the snapshot says whether it is running

    def pause(self, wait: bool = True) -> None:
        """Stop the background thread. With ``wait``, returns once it has ended (well within 0.2 s);
        without, only signals it: the thread ends by itself after its current batch (<= 10 ms of work)."""
        self._stop.set()
        t = self._thread
        if wait and t is not None and t is not threading.current_thread():
            t.join(timeout=1.0)

    stop = pause

    def suspend(self) -> None:
        """Pause, remembering whether it was running, for ``resume()`` (a page's connection dropped).

        Never waits for the thread: Streamlit calls this from its event loop, the thread that
        serves every connection, and a whole class dropping at once must not queue behind
        50 joins (issue #12). ``running`` is False from here on; the thread ends shortly.
        """
        self._resume_later = self.running or getattr(self, "_resume_later", False)
        self.pause(wait=False)

    def resume(self) -> None:
        """Start again if ``suspend()`` found it running; may raise TooManyTrainers."""
        if getattr(self, "_resume_later", False):
            self._resume_later = False
            self.start()

    def _run(self, stop: threading.Event) -> None:
        started = time.monotonic()
        ref_time, ref_iter, speed = started, self._iteration, self._config.speed
        try:
            while not stop.is_set():
                now = time.monotonic()
                with self._lock:
                    if self._config.speed != speed or self._iteration < ref_iter:
                        ref_time, ref_iter, speed = now, self._iteration, self._config.speed
                    due = int((now - ref_time) * speed) - (self._iteration - ref_iter)
                    if due > speed * 0.25:  # fell behind (busy machine): don't burst to catch up
                        ref_time, ref_iter, due = now, self._iteration, 1
                    stepped = 0
                    # At most ~10 ms of work per batch keeps pause() prompt and the state fresh.
                    with _quiet():
                        while stepped < due and not self.finished and time.monotonic() - now < 0.01:
                            self._step_locked()
                            stepped += 1
                    if now - started > self.max_seconds:
                        self._stop_reason = f"paused after {self.max_seconds:g} s of training, the server's limit"
                        stop.set()
                    if self.finished:
                        stop.set()
                    if stepped:
                        self._stale = True
                stop.wait(min(0.02, 1.0 / speed))
        finally:
            with Trainer._running_lock:
                # A run suspended without waiting may be started again (a reconnect) before this
                # thread has ended: only the thread of the latest start() leaves the registry.
                if self._stop is stop:
                    Trainer._running.discard(self)
            with self._lock:
                self._publish()

    @classmethod
    def running_count(cls) -> int:
        """How many trainers are running in this process."""
        with cls._running_lock:
            return len(cls._running)
