"""One training run, stepped by hand: data and weights from the seed, updates, divergence, its log.

No threads here (runner.py adds them). A run is deterministic: the config (its seed), the
points it started from (generated, or a user's) and the log of what changed mid-run --
training settings, edits to the points -- give every iteration exactly. The run keeps
checkpoints along the way, so any earlier iteration is recomputed in a few hundred steps at
most: that is how a page goes back in time, and how a link reproduces a run.

Random streams, each of its own so that one setting never changes another's numbers:
the data and the initial weights come from ``RandomState(seed)`` in the CS231n notes' order;
minibatches from ``RandomState([seed, BATCH_STREAM])``; the held-out test points from
``RandomState([seed, SPLIT_STREAM])``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from . import points as userpoints
from . import validate
from .config import OWN, Config
from .data import make_dataset
from .features import Transform, standardizing
from .models import PassResult, make_model
from .optim import OPTIMIZERS
from .snapshot import Change, HistoryBuffer, Snapshot, frozen, frozen_dict

BATCH_STREAM = 7919  # second word of the minibatch stream's seed
SPLIT_STREAM = 104729  # second word of the test split's seed
BLOWUP_FACTOR = 10.0  # a loss this many times the initial loss means the steps overshoot
CHECKPOINT_BYTES = 1 << 20  # per run, room for at least this much: theta and optimizer state at regular iterations
CHECKPOINT_MAX_BYTES = 4 << 20  # per run, never more (one server process holds ~55 pages)
REPLAY_SECONDS = 0.15  # going back to any iteration replays one checkpoint interval at most: about this long
MAX_ITERATIONS = 100_000  # the iteration cap's largest value (config.py)
# One step's cost, estimated from the model's shape (this machine, BLAS on one thread, as the server runs):
# a fixed part, and per training point ~3 multiply-adds per parameter (forward, both backward products),
# plus the elementwise work on the hidden units and the loss's on the classes. Measured: the net (H = 100)
# 160 us at N = 300, K = 3 (estimate 178), 650 us at N = 1000, K = 10 (estimate 966); linear K = 10,
# N = 1000 134 us (118).
STEP_FIXED_S, STEP_UNIT_S = 40e-6, 0.2e-9
# A view's replay keeps states FINE times as dense as the checkpoints, the last RECENT of them: going to a
# nearby iteration again (a slider dragged either way) replays a few steps, not a whole interval.
FINE, RECENT = 8, 16
MAX_POINTS = 100_000  # points a run accepts from a user (the server's own limit is lower)


def quiet() -> np.errstate:
    """Overflow can only come from a step size far too large; a step catches and undoes it."""
    return np.errstate(over="ignore", invalid="ignore")


def make_data(config: Config, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """The config's dataset, drawn from ``rng`` (before the weights, as in the notes)."""
    return make_dataset(config.dataset, config.points_per_class, config.classes, config.noise, rng)


def split(config: Config, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and the test points among N (each in their original order)."""
    n_test = int(round(config.test_share * N))
    if n_test == 0:
        return np.arange(N), np.arange(0)
    order = np.random.RandomState([config.seed, SPLIT_STREAM]).permutation(N)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


@dataclass(frozen=True)
class Checkpoint:
    """Everything that determines the rest of a run, at one iteration (before that iteration's changes)."""

    iteration: int
    config: Config
    theta: np.ndarray
    optimizer: dict
    batch_rng: tuple
    data_version: int
    reference: float
    diverged: bool
    stop_reason: str | None


class Run:
    """One run of a model on one dataset: ``step()`` takes full-batch or minibatch updates.

    The loss, accuracy and gradient shown are always those of the whole training set at the
    current weights; a minibatch only decides the update. ``data``: the user's own points
    ((N, 2) in their units, labels (N,)), used when ``config.dataset`` is "own" (None: an empty
    plane); other datasets are drawn from the seed.
    """

    def __init__(self, config: Config, data: tuple[np.ndarray, np.ndarray] | None = None,
                 max_points: int = MAX_POINTS) -> None:
        rng = np.random.RandomState(config.seed)
        features = tuple(f for f in config.features.split(",") if f)
        if config.dataset != OWN:
            points, labels = make_data(config, rng)
            self.transform = Transform(features)
        else:  # a user's points: checked once here, so the arithmetic can trust them
            raw, labels = data if data is not None else ((), ())
            points = validate.features(raw) if np.size(raw) else np.zeros((0, 2))
            if points.shape[1] != 2:
                raise ValueError(f"points must have shape (N, 2), got shape {points.shape}")
            if len(points) and np.abs(points).max() > userpoints.MAX_COORDINATE:
                raise ValueError(f"points must lie within ±{userpoints.MAX_COORDINATE:g}, got "
                                 f"{np.abs(points).max():g}")
            labels = validate.labels(labels, len(points), config.classes)
            self.transform = standardizing(points, features)
        self.config = self.start_config = config
        self.max_points = max_points
        train, test = split(config, len(labels))
        self.test_points, self.y_test = frozen(points[test]), frozen(labels[test])
        self.X_test = frozen(self.transform(self.test_points))
        self.model = make_model(config.model, config.loss, config.hidden)
        self.layout = self.model.layout(self.transform.D, config.classes)
        self.theta = self.model.init(rng, self.transform.D, config.classes, config.init == "notes")
        self.params = self.layout.views(self.theta)
        self.optimizer = {"learning_rate": config.step_size}
        self.batch_rng = np.random.RandomState([config.seed, BATCH_STREAM])
        self._rng_state: tuple | None = None  # its state as last read, until the next draw
        self._theta_prev = np.empty_like(self.theta)
        self.iteration = 0
        self.log: list[Change] = []
        self.diverged = False
        self.stop_reason: str | None = None
        self.versions: list[tuple[np.ndarray, np.ndarray]] = []
        self._set_data(points[train], labels[train])
        self.initial_loss = self.result.loss
        self._blowup_reference()
        self.history = HistoryBuffer(self.layout, test=len(self.y_test) > 0)
        self._record()
        self._set_capacity()
        self._spacing = 1
        self.checkpoints: list[Checkpoint] = [self.checkpoint()]
        self._checkpoint_bytes = checkpoint_bytes(self.checkpoints[0])
        self._scratch: Run | None = None
        self._timeline = 0  # changes when the run's past does (rewind): a view's recent states are then stale

    # -- data -------------------------------------------------------------------------------
    def _set_data(self, points: np.ndarray, labels: np.ndarray) -> None:
        """Train on these points from now on (a new version of the data)."""
        self._load(frozen(points), frozen(labels))
        self.versions.append((self.points, self.y))
        self.data_version = len(self.versions) - 1

    def _load(self, points: np.ndarray, labels: np.ndarray) -> None:
        self.points, self.y = points, labels
        if hasattr(self, "_capacity"):  # a step's cost depends on the number of points
            self._set_capacity()
        self.X = frozen(self.transform(self.points))
        self.ws = self.model.workspace(self.X, self.y, self.config.classes)
        with quiet():
            self.result = self.ws.run(self.theta, self.config.reg)

    def edit(self, edit: userpoints.Edit) -> None:
        """Change the training points (add, move, remove, clear); the run goes on from here on the new
        points, and the edit is in the log. Raises points.DataError for an edit that cannot be made."""
        points, labels = userpoints.apply(self.points, self.y, edit, self.config.classes, self.max_points)
        self._log(Change(self.iteration, {}, (edit,)))
        self._set_data(points, labels)
        self._blowup_reference()
        self._after_change()

    # -- stepping ---------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """True when no further step is allowed: the iteration cap is reached or the run diverged."""
        return self.diverged or self.iteration >= self.config.iterations

    def step(self, n: int = 1) -> int:
        """Take up to n updates (fewer if the run finishes); returns how many were taken."""
        taken = 0
        with quiet():
            while taken < n and not self.finished:
                self._step()
                taken += 1
        return taken

    def _gradient_for_update(self) -> np.ndarray:
        """The whole training set's gradient (already computed at these weights), or a minibatch's."""
        B = self.config.batch_size
        if B == 0 or len(self.y) == 0:
            return self.ws.grad
        idx = self.batch_rng.randint(len(self.y), size=B)
        self._rng_state = None  # the stream moved on
        batch = self.model.workspace(self.X[idx], self.y[idx], self.config.classes)
        batch.run(self.theta, self.config.reg, accuracy=False)
        return batch.grad

    def _step(self) -> None:
        """One update, then the loss and gradient at the new weights.

        Only a step size far too large makes a loss non-finite; that update is undone (the
        last finite state stays on show) and the run has diverged.
        """
        cfg = self.config
        np.copyto(self._theta_prev, self.theta)
        OPTIMIZERS[cfg.optimizer](self.theta, self._gradient_for_update(), self.optimizer)
        # the accuracy is counted in the pass when the history keeps this iteration, else only if read (``result``)
        due = self.history.due(self.iteration + 1)
        result = self.ws.run(self.theta, cfg.reg, accuracy=due)
        if not math.isfinite(result.loss):  # non-finite weights make the loss non-finite too
            np.copyto(self.theta, self._theta_prev)
            self.result = self.ws.run(self.theta, cfg.reg)
            self._diverge("the loss became infinite")
            return
        self._result, self._counted = result, due
        self.iteration += 1
        self._record()
        if result.loss > BLOWUP_FACTOR * self._reference:
            self._diverge(f"the loss grew past {BLOWUP_FACTOR:g} times its starting value")
        elif self.iteration >= cfg.iterations:
            self.stop_reason = f"reached the {cfg.iterations}-iteration limit"
        if self.iteration % self._spacing == 0:
            self._keep_checkpoint()

    @property
    def result(self) -> PassResult:
        """The loss and accuracy at the current weights. A step leaves the accuracy uncounted (most steps are
        never shown): it is counted here, from the workspace's scores, which are this pass's until the next."""
        if not self._counted:
            r = self._result  # (a new tuple: NamedTuple._replace costs 3 us, as much as the counting)
            self._result, self._counted = PassResult(r.loss, r.data_loss, r.reg_loss, self.ws.accuracy()), True
        return self._result

    @result.setter
    def result(self, result: PassResult) -> None:
        self._result, self._counted = result, True

    def _blowup_reference(self) -> None:
        """The loss a blow-up is measured against: the loss at the start or after the last edit of the points,
        and never below ln K (what a classifier that knows nothing pays), so that a run that started on
        an empty plane is not 'diverged' the moment it gets its first points."""
        self._reference = max(self.result.loss, math.log(self.config.classes))

    def _diverge(self, why: str) -> None:
        self.diverged = True
        self.stop_reason = f"diverged: {why}"

    def _record(self) -> None:
        due = self.history.due(self.iteration)  # the scalars (accuracy, test figures) are kept this iteration
        test = self.test_result() if due and len(self.y_test) else None
        self.history.record(self.iteration, self.result if due else self._result, self.ws.grads, test)

    def test_result(self) -> tuple[float, float]:
        """(data loss, accuracy) on the held-out points at the current weights."""
        if getattr(self, "_test_ws", None) is None:
            self._test_ws = self.model.workspace(self.X_test, self.y_test, self.config.classes)
        with quiet():
            r = self._test_ws.run(self.theta, 0.0)
        return r.data_loss, r.accuracy

    # -- settings ---------------------------------------------------------------------------
    def change(self, config: Config) -> dict[str, Any]:
        """Apply new settings that keep the data and weights (``config.restarts`` is False).

        Training settings apply from the next update and go into the run's log; a new
        optimizer starts from a fresh state (no velocity, no running averages). Returns the
        logged changes.
        """
        if self.config.restarts(config):
            raise ValueError("these settings need new data or weights: build a new Run")
        changes = self.config.training_changes(config)
        if changes:
            self._log(Change(self.iteration, changes))
        if "optimizer" in changes:
            self.optimizer = {}
        self.optimizer["learning_rate"] = config.step_size
        reg_changed = config.reg != self.config.reg
        self.config = config
        if reg_changed:  # the loss and dW depend on reg: recompute at the current weights
            with quiet():
                self.result = self.ws.run(self.theta, config.reg)
        self._after_change()
        return changes

    def _log(self, change: Change) -> None:
        """Append to the log; two changes at one iteration become one."""
        if self.log and self.log[-1].iteration == change.iteration:
            last = self.log.pop()
            change = Change(change.iteration, {**last.settings, **change.settings}, last.edits + change.edits)
        self.log.append(change)

    def _after_change(self) -> None:
        if not self.diverged:
            self.stop_reason = None
            if self.iteration >= self.config.iterations:
                self.stop_reason = f"reached the {self.config.iterations}-iteration limit"

    def apply(self, change: Change) -> None:
        """Apply a logged change (replaying a log): its settings, then its edits."""
        if change.settings:
            self.change(self.config.with_changes(**change.settings))
        for e in change.edits:
            self.edit(e)

    # -- reading ----------------------------------------------------------------------------
    def next_theta(self) -> np.ndarray:
        """Where the next update will take the weights (flat), computed on copies."""
        theta = self.theta.copy()
        state = _copy_state(self.optimizer)
        with quiet():
            OPTIMIZERS[self.config.optimizer](theta, self._peek_gradient(), state)
        return theta

    def _peek_gradient(self) -> np.ndarray:
        if self.config.batch_size == 0:
            return self.ws.grad
        saved = self.batch_rng.get_state()
        try:
            return self._gradient_for_update().copy()
        finally:
            self.batch_rng.set_state(saved)

    def snapshot(self, running: bool = False) -> Snapshot:
        """An immutable copy of the run's state, for readers on any thread."""
        r, ws = self.result, self.ws
        theta = frozen(self.theta)
        test = self.test_result() if len(self.y_test) else (math.nan, math.nan)
        return Snapshot(
            config=self.config,
            start_config=self.start_config,
            iteration=self.iteration,
            X=self.X,
            y=self.y,
            points=self.points,
            transform=self.transform,
            model=self.model,
            layout=self.layout,
            theta=theta,
            params=MappingProxyType(self.layout.views(theta)),
            grads=frozen_dict(ws.grads),
            grads_data=frozen_dict(ws.grads_data),
            grads_reg=frozen_dict(ws.grads_reg),
            next_params=MappingProxyType(self.layout.views(frozen(self.next_theta()))),
            parts=frozen_dict(ws.parts),
            loss=r.loss,
            data_loss=r.data_loss,
            reg_loss=r.reg_loss,
            accuracy=r.accuracy,
            initial_loss=self.initial_loss,
            X_test=self.X_test,
            y_test=self.y_test,
            test_points=self.test_points,
            test_loss=test[0],
            test_accuracy=test[1],
            history=self.history.freeze(self.iteration, r, ws.grads, test),
            log=tuple(self.log),
            running=running,
            diverged=self.diverged,
            stop_reason=self.stop_reason,
        )

    # -- going back ---------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint:
        # The minibatch stream's state is read (a copy of 624 words: as long as a whole step of the CS231n
        # case) only after a draw; full-batch runs never draw and share one copy of it.
        state = self._rng_state
        if state is None:
            state = self._rng_state = self.batch_rng.get_state()
        return Checkpoint(self.iteration, self.config, self.theta.copy(), _copy_state(self.optimizer, False), state,
                          self.data_version, self._reference, self.diverged, self.stop_reason)

    def step_seconds(self) -> float:
        """One step's estimated cost on this machine, from the model's shape (see STEP_UNIT_S)."""
        per_point = 3 * self.theta.size + 4 * getattr(self.model, "H", 0) + 30 * self.config.classes
        return STEP_FIXED_S + STEP_UNIT_S * max(len(self.y), 1) * per_point

    def _set_capacity(self) -> None:
        """How many checkpoints to keep: enough that at MAX_ITERATIONS one interval replays in REPLAY_SECONDS
        (spacing: a power of two), at least 64 and CHECKPOINT_BYTES' worth (up to 1024), as before; the
        bytes are capped apart, by CHECKPOINT_MAX_BYTES (``_keep_checkpoint``)."""
        per = self.theta.nbytes * 3 + 256  # theta and up to two optimizer arrays (Adam's m and v)
        floor = max(64, min(1024, CHECKPOINT_BYTES // per))
        spacing = 1 << max(0, int(math.log2(max(REPLAY_SECONDS / self.step_seconds(), 1.0))))
        self._capacity = (max(floor, MAX_ITERATIONS // spacing + 1) + 1) // 2 * 2

    def _keep_checkpoint(self) -> None:
        cp = self.checkpoint()
        self.checkpoints.append(cp)
        self._checkpoint_bytes += checkpoint_bytes(cp)
        # full, or over the byte cap: every other one goes, the spacing doubles (iteration 0 always stays)
        while len(self.checkpoints) > 1 and (len(self.checkpoints) > self._capacity
                                             or self._checkpoint_bytes > CHECKPOINT_MAX_BYTES):
            self._spacing *= 2
            self.checkpoints = [c for c in self.checkpoints if c.iteration % self._spacing == 0]
            self._checkpoint_bytes = sum(map(checkpoint_bytes, self.checkpoints))

    def restore(self, cp: Checkpoint) -> None:
        """Put the run at a checkpoint (the log, history and later checkpoints are left as they are).

        The run settings (iteration cap, speed, refresh) stay today's: they change nothing computed,
        and an old cap must not stop the run short of where it has been.
        """
        run_settings = {name: getattr(self.config, name) for name in ("iterations", "speed", "refresh")}
        self.iteration, self.config = cp.iteration, cp.config.with_changes(**run_settings)
        np.copyto(self.theta, cp.theta)
        self.optimizer = _copy_state(cp.optimizer)
        self.batch_rng.set_state(cp.batch_rng)
        self._rng_state = cp.batch_rng
        self.diverged, self.stop_reason = cp.diverged, cp.stop_reason
        if cp.data_version != self.data_version:
            self._load(*self.versions[cp.data_version])
            self.data_version = cp.data_version
        else:
            with quiet():
                self.result = self.ws.run(self.theta, self.config.reg)
        self._reference = cp.reference

    def _advance(self, target: int, log: Sequence[Change]) -> None:
        """Step to ``target``, applying the changes of ``log`` at their iterations (those at ``target`` too)."""
        pending = [c for c in log if c.iteration >= self.iteration]
        for change in pending:
            if change.iteration > target:
                break
            self.step(change.iteration - self.iteration)
            if self.iteration != change.iteration:  # finished early (diverged, capped)
                return
            self.apply(change)
        self.step(target - self.iteration)

    def _checkpoint_at_or_before(self, iteration: int) -> Checkpoint:
        return next(c for c in reversed(self.checkpoints) if c.iteration <= iteration)

    def view(self, iteration: int, running: bool = False) -> Snapshot:
        """The snapshot the run showed at an earlier ``iteration`` (0..now), recomputed exactly from
        the nearest checkpoint; the run itself is not changed."""
        iteration = max(0, min(int(iteration), self.iteration))
        if iteration == self.iteration:
            return self.snapshot(running)
        if self._scratch is None:
            self._scratch = self._clone()
        s = self._scratch
        if s._timeline != self._timeline:
            s._recent.clear()
            s._timeline = self._timeline
        s._spacing = max(1, self._spacing // FINE)  # where its replay keeps a recent state
        s.log, s.config = [], self.config
        nearest = [self._checkpoint_at_or_before(iteration), *(c for c in s._recent if c.iteration <= iteration)]
        s.restore(max(nearest, key=lambda c: c.iteration))
        if s.config.iterations < iteration:  # the cap was lowered since: it must not stop the replay short
            s.config = s.config.with_changes(iterations=iteration)
        with quiet():
            s._advance(iteration, [c for c in self.log if c.iteration >= s.iteration])
        snap = s.snapshot(running)
        test = (snap.test_loss, snap.test_accuracy)
        return replace(snap, log=tuple(self.log),
                       history=self.history.freeze(s.iteration, s.result, s.ws.grads, test))

    def rewind(self, iteration: int) -> None:
        """Go back to ``iteration`` for good: later iterations, changes and checkpoints are dropped
        (the changes made at ``iteration`` itself are kept: they are part of what it showed)."""
        iteration = max(0, min(int(iteration), self.iteration))
        self._timeline += 1
        kept = [c for c in self.log if c.iteration <= iteration]
        cp = self._checkpoint_at_or_before(iteration)
        self.checkpoints = [c for c in self.checkpoints if c.iteration <= cp.iteration]
        self._checkpoint_bytes = sum(map(checkpoint_bytes, self.checkpoints))
        self.history.truncate(iteration)
        self.log = [c for c in kept if c.iteration < cp.iteration]
        self.restore(cp)
        with quiet():  # replaying the kept changes logs them again
            self._advance(iteration, [c for c in kept if c.iteration >= cp.iteration])

    def _clone(self) -> Run:
        """A second run over the same data and model, with its own weights and buffers (for ``view``)."""
        self.result  # noqa: B018 -- counted now: the clone's own workspace has not run
        clone = copy.copy(self)
        clone.theta = self.theta.copy()
        clone.params = clone.layout.views(clone.theta)
        clone._theta_prev = np.empty_like(clone.theta)
        clone.batch_rng = np.random.RandomState()
        clone._rng_state = None
        clone.versions = self.versions  # shared, read-only arrays; restore() re-selects a version
        clone.ws = self.model.workspace(self.X, self.y, self.config.classes)
        clone._test_ws = None
        clone.history = HistoryBuffer(self.layout, test=len(self.y_test) > 0, capacity=2)
        clone._recent = []  # states its replays passed, FINE times as dense as the checkpoints (see view)
        clone._keep_checkpoint = clone._keep_recent  # a view never adds checkpoints to its source
        return clone

    def _keep_recent(self) -> None:
        """(A view's scratch run) keep the state at this iteration among the last RECENT."""
        if not any(c.iteration == self.iteration for c in self._recent):
            self._recent.append(self.checkpoint())
            del self._recent[:-RECENT]

    def trajectory(self, index: int) -> dict[str, np.ndarray]:
        """Example ``index`` of the current points over the run, at the checkpoints where it existed
        unchanged: iteration (T,), loss (T,) and dscores (T, K) of that one example; for the softmax
        also p_y (T,), its probability of the true class."""
        x, label = self.X[index], self.y[index]
        rows = [c for c in self.checkpoints if c.data_version == self.data_version or
                self._same_point(c.data_version, index)]
        K, N = self.config.classes, max(len(self.y), 1)
        one = self.model.workspace(x[None, :], np.array([label]), K)
        out: dict[str, list] = {"iteration": [], "loss": [], "dscores": [], "p_y": []}
        with quiet():
            for c in [*rows, None]:
                theta, it = (self.theta, self.iteration) if c is None else (c.theta, c.iteration)
                if c is not None and c.iteration == self.iteration:
                    continue
                r: PassResult = one.run(theta, 0.0)
                out["iteration"].append(it)
                out["loss"].append(r.data_loss)
                out["dscores"].append(one.parts["dscores"][0] / N)  # its row of the whole set's dscores
                if "probs" in one.parts:
                    out["p_y"].append(one.parts["probs"][0, label])
        return {k: np.array(v) for k, v in out.items() if v}

    def _same_point(self, version: int, index: int) -> bool:
        points, labels = self.versions[version]
        return (index < len(labels) and labels[index] == self.y[index]
                and np.array_equal(points[index], self.points[index]))


def replay(config: Config, log: Sequence[Change], iteration: int,
           data: tuple[np.ndarray, np.ndarray] | None = None) -> Run:
    """The run of ``config`` (on ``data``, or the seed's) with the changes of ``log``, taken to ``iteration``."""
    run = Run(config, data)
    with quiet():
        run._advance(iteration, sorted(log, key=lambda c: c.iteration))
    return run


def _copy_state(state: dict, scratch: bool = True) -> dict:
    """A copy of an optimizer's state; without its ``scratch`` buffer (no state: rewritten at every update)
    when ``scratch`` is False, as a checkpoint keeps it."""
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items() if scratch or k != "scratch"}


def checkpoint_bytes(cp: Checkpoint) -> int:
    """The arrays a checkpoint holds: theta and the optimizer's state (the minibatch stream's state is shared
    until a draw, and small)."""
    return cp.theta.nbytes + sum(v.nbytes for v in cp.optimizer.values() if isinstance(v, np.ndarray))
