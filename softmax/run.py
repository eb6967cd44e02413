"""One training run, stepped by hand: data and weights from the seed, updates, divergence, its log.

No threads here (runner.py adds them). A run is deterministic: the config (its seed) and the
log of training settings changed mid-run give every iteration exactly, which is what lets a
page go back in time and a link reproduce a run.

Random streams, each of its own so that one setting never changes another's numbers:
the data and the initial weights come from ``RandomState(seed)`` in the CS231n notes' order;
minibatches (when the batch size is not "all") from ``RandomState([seed, BATCH_STREAM])``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from . import validate
from .config import Config
from .data import make_dataset
from .models import make_model
from .optim import OPTIMIZERS
from .snapshot import Change, HistoryBuffer, Snapshot, frozen, frozen_dict

BATCH_STREAM = 7919  # second word of the minibatch stream's seed
# A loss this many times the initial loss means the steps overshoot.
BLOWUP_FACTOR = 10.0


def quiet() -> np.errstate:
    """Overflow can only come from a step size far too large; a step catches and undoes it."""
    return np.errstate(over="ignore", invalid="ignore")


def make_data(config: Config, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """The config's dataset, drawn from ``rng`` (before the weights, as in the notes)."""
    return make_dataset(config.dataset, config.points_per_class, config.classes, config.noise, rng)


@dataclass(frozen=True)
class Checkpoint:
    """Everything that determines the rest of a run, at one iteration."""

    iteration: int
    config: Config
    theta: np.ndarray
    optimizer: dict
    batch_rng: tuple
    history: tuple
    log_length: int
    diverged: bool
    stop_reason: str | None


class Run:
    """One run of a model on one dataset: ``step()`` takes full-batch or minibatch updates.

    The loss, accuracy and gradient shown are always those of the whole training set at the
    current weights; a minibatch only decides the update.
    """

    def __init__(self, config: Config, data: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        rng = np.random.RandomState(config.seed)
        if data is None:
            X, y = make_data(config, rng)
        else:  # points a user made: checked here, once, so the arithmetic can trust them
            X, y = validate.data(*data, config.classes)
        self.config = config
        self.X, self.y = frozen(X), frozen(y)
        self.model = make_model(config.model, config.loss, config.hidden)
        N, D = X.shape
        self.layout = self.model.layout(D, config.classes)
        self.theta = self.model.init(rng, D, config.classes, config.init == "notes")
        self.params = self.layout.views(self.theta)
        self.ws = self.model.workspace(self.X, self.y, config.classes)
        self.optimizer = self._fresh_optimizer(config)
        self.batch_rng = np.random.RandomState([config.seed, BATCH_STREAM])
        self._theta_prev = np.empty_like(self.theta)
        self.iteration = 0
        self.log: list[Change] = []
        self.diverged = False
        self.stop_reason: str | None = None
        self.history = HistoryBuffer(self.layout)
        with quiet():
            self.result = self.ws.run(self.theta, config.reg)
        self.initial_loss = self.result.loss
        self._record()

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
        if B == 0:
            return self.ws.grad
        idx = self.batch_rng.randint(len(self.y), size=B)
        batch = self.model.workspace(self.X[idx], self.y[idx], self.config.classes)
        batch.run(self.theta, self.config.reg)
        return batch.grad

    def _step(self) -> None:
        """One update, then the loss and gradient at the new weights.

        Only a step size far too large makes a loss non-finite; that update is undone (the
        last finite state stays on show) and the run has diverged.
        """
        cfg = self.config
        np.copyto(self._theta_prev, self.theta)
        OPTIMIZERS[cfg.optimizer](self.theta, self._gradient_for_update(), self.optimizer)
        result = self.ws.run(self.theta, cfg.reg)
        if not math.isfinite(result.loss):  # non-finite weights make the loss non-finite too
            np.copyto(self.theta, self._theta_prev)
            self.result = self.ws.run(self.theta, cfg.reg)
            self._diverge("the loss became infinite")
            return
        self.result = result
        self.iteration += 1
        self._record()
        if result.loss > BLOWUP_FACTOR * self.initial_loss:
            self._diverge(f"the loss grew past {BLOWUP_FACTOR:g} times its starting value")
        elif self.iteration >= cfg.iterations:
            self.stop_reason = f"reached the {cfg.iterations}-iteration limit"

    def _diverge(self, why: str) -> None:
        self.diverged = True
        self.stop_reason = f"diverged: {why}"

    def _record(self) -> None:
        r = self.result
        self.history.record(self.iteration, r.loss, r.data_loss, r.reg_loss, r.accuracy, self.ws.grads)

    # -- settings ---------------------------------------------------------------------------
    def _fresh_optimizer(self, config: Config) -> dict:
        return {"learning_rate": config.step_size}

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
            if self.log and self.log[-1].iteration == self.iteration:  # changed twice at one iteration
                changes = {**self.log.pop().settings, **changes}
            self.log.append(Change(self.iteration, changes))
        if "optimizer" in changes:
            self.optimizer = self._fresh_optimizer(config)
        self.optimizer["learning_rate"] = config.step_size
        reg_changed = config.reg != self.config.reg
        self.config = config
        if reg_changed:  # the loss and dW depend on reg: recompute at the current weights
            with quiet():
                self.result = self.ws.run(self.theta, config.reg)
        if not self.diverged:
            self.stop_reason = None
            if self.iteration >= config.iterations:
                self.stop_reason = f"reached the {config.iterations}-iteration limit"
        return changes

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
        return Snapshot(
            config=self.config,
            iteration=self.iteration,
            X=self.X,
            y=self.y,
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
            history=self.history.freeze(self.iteration, r.loss, r.data_loss, r.reg_loss, r.accuracy, ws.grads),
            log=tuple(self.log),
            running=running,
            diverged=self.diverged,
            stop_reason=self.stop_reason,
        )

    # -- going back ---------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.iteration, self.config, self.theta.copy(), _copy_state(self.optimizer),
                          self.batch_rng.get_state(), self.history.state(), len(self.log), self.diverged,
                          self.stop_reason)

    def restore(self, cp: Checkpoint) -> None:
        """Put the run back at a checkpoint it took (the log keeps only the changes before it)."""
        self.iteration, self.config = cp.iteration, cp.config
        np.copyto(self.theta, cp.theta)
        self.optimizer = _copy_state(cp.optimizer)
        self.batch_rng.set_state(cp.batch_rng)
        self.history.restore(cp.history)
        del self.log[cp.log_length :]
        self.diverged, self.stop_reason = cp.diverged, cp.stop_reason
        with quiet():
            self.result = self.ws.run(self.theta, self.config.reg)


def replay(config: Config, log: Sequence[Change], iteration: int,
           data: tuple[np.ndarray, np.ndarray] | None = None) -> Run:
    """The run of ``config`` with the training changes of ``log``, taken to ``iteration``."""
    run = Run(config, data)
    for change in sorted(log, key=lambda c: c.iteration):
        if change.iteration > iteration:
            break
        run.step(change.iteration - run.iteration)
        run.change(run.config.with_changes(**change.settings))
    run.step(iteration - run.iteration)
    return run


def _copy_state(state: Mapping[str, Any]) -> dict:
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()}
