"""What a page reads of a run: immutable snapshots, the history of a run, the log of its changes.

Everything is keyed by parameter name (``W``, ``b``; ``W1``, ``b1``, ``W2``, ``b2``), so a
view draws any parameter from its name and shape. Arrays in a snapshot are read-only
copies: a reader on another thread can keep one as long as it likes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .config import Config
from .models import Layout, Model

# A parameter with more entries than this keeps only the norm of each of its last-axis
# slices in the history (a net's W2 (H, K): one norm per class), to bound a run's memory.
WHOLE_HISTORY_ENTRIES = 256


@dataclass(frozen=True)
class Change:
    """A training setting changed mid-run: ``settings`` apply from update number ``iteration`` on."""

    iteration: int
    settings: Mapping[str, Any]

    def to_text(self) -> str:
        """``120:step_size=0.1,reg=0`` -- the form a link carries."""
        from .config import _format

        return f"{self.iteration}:" + ",".join(f"{k}={_format(v)}" for k, v in self.settings.items())


def frozen(a: np.ndarray) -> np.ndarray:
    """A read-only copy."""
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def frozen_dict(arrays: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    return MappingProxyType({name: frozen(a) for name, a in arrays.items()})


def history_kind(shape: tuple[int, ...]) -> str:
    """What the history keeps of a parameter's gradient: its "values", or the "norms" of its last-axis slices."""
    return "values" if int(np.prod(shape)) <= WHOLE_HISTORY_ENTRIES else "norms"


@dataclass(frozen=True)
class History:
    """Per-iteration values, decimated to bounded lengths as a run grows long.

    iteration (T,) int with loss, data_loss, reg_loss, accuracy (T,); grad_iteration (G,) int with
    grads[name] (G, *shape) when ``kinds[name] == "values"``, or (G, shape[-1]) norms of each
    last-axis slice (one per class of W2, one per hidden unit of a large W1) when it is "norms".
    The last entries are always the snapshot's own iteration.
    """

    iteration: np.ndarray
    loss: np.ndarray
    data_loss: np.ndarray
    reg_loss: np.ndarray
    accuracy: np.ndarray
    grad_iteration: np.ndarray
    grads: Mapping[str, np.ndarray]
    kinds: Mapping[str, str]


class HistoryBuffer:
    """Fixed-capacity history: when a buffer is full, every other row is dropped and its stride doubles.

    The scalars and the gradients keep separate buffers: a large model's gradients take many
    more bytes a row, so they get fewer rows (at least 32), and the loss curve stays fine.
    """

    SCALARS = 1024
    GRAD_BYTES = 1 << 19  # 512 KiB of gradient rows per run

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.kinds = {name: history_kind(shape) for name, shape in layout.shapes}
        self.widths = {name: (int(np.prod(shape)) if self.kinds[name] == "values" else shape[-1])
                       for name, shape in layout.shapes}
        row = sum(self.widths.values())
        grad_rows = max(32, min(512, 1 << int(np.log2(max(self.GRAD_BYTES // (8 * row), 1)))))
        self.scalars = _Thinned(np.zeros((self.SCALARS, 5)))
        self.gradients = _Thinned(np.zeros((grad_rows, row + 1)))
        self._row = np.zeros(row + 1)

    def record(self, iteration: int, loss: float, data_loss: float, reg_loss: float, accuracy: float,
               grads: Mapping[str, np.ndarray]) -> None:
        self.scalars.record(iteration, (iteration, loss, data_loss, reg_loss, accuracy))
        if self.gradients.due(iteration):
            self.gradients.record(iteration, self._gradient_row(iteration, grads))

    def _gradient_row(self, iteration: int, grads: Mapping[str, np.ndarray]) -> np.ndarray:
        row, start = self._row, 1
        row[0] = iteration
        for name, width in self.widths.items():
            g = grads[name]
            if self.kinds[name] == "values":
                row[start : start + width] = g.ravel()
            else:
                g2 = g.reshape(-1, width)
                row[start : start + width] = np.sqrt(np.einsum("ik,ik->k", g2, g2))
            start += width
        return row

    def freeze(self, iteration: int, loss: float, data_loss: float, reg_loss: float, accuracy: float,
               grads: Mapping[str, np.ndarray]) -> History:
        scalars = self.scalars.rows((iteration, loss, data_loss, reg_loss, accuracy))
        rows = self.gradients.rows(self._gradient_row(iteration, grads).copy())
        named, start = {}, 1
        for name, shape in self.layout.shapes:
            width = self.widths[name]
            block = rows[:, start : start + width]
            named[name] = block.reshape(len(rows), *shape) if self.kinds[name] == "values" else block
            start += width
        return History(
            iteration=frozen(scalars[:, 0].astype(np.int64)),
            loss=frozen(scalars[:, 1]),
            data_loss=frozen(scalars[:, 2]),
            reg_loss=frozen(scalars[:, 3]),
            accuracy=frozen(scalars[:, 4]),
            grad_iteration=frozen(rows[:, 0].astype(np.int64)),
            grads=frozen_dict(named),
            kinds=MappingProxyType(dict(self.kinds)),
        )

    def state(self) -> tuple:
        return self.scalars.state(), self.gradients.state()

    def restore(self, state: tuple) -> None:
        self.scalars.restore(state[0])
        self.gradients.restore(state[1])


class _Thinned:
    """Rows recorded at iterations that are multiples of a stride, which doubles when the buffer fills."""

    def __init__(self, buffer: np.ndarray) -> None:
        self.buffer, self.n, self.stride = buffer, 0, 1

    def due(self, iteration: int) -> bool:
        return iteration % self.stride == 0

    def record(self, iteration: int, row) -> None:
        if iteration % self.stride:
            return
        capacity = len(self.buffer)
        if self.n == capacity:
            half = capacity // 2
            self.buffer[:half] = self.buffer[0:capacity:2]
            self.n, self.stride = half, self.stride * 2
            if iteration % self.stride:
                return
        self.buffer[self.n] = row
        self.n += 1

    def rows(self, last) -> np.ndarray:
        """The recorded rows, ending with ``last`` (the current iteration's) if it was not recorded."""
        rows = self.buffer[: self.n]
        if self.n == 0 or rows[-1, 0] != last[0]:
            rows = np.vstack([rows, np.asarray(last, dtype=float)[None]])
        return rows

    def state(self) -> tuple:
        return self.buffer[: self.n].copy(), self.n, self.stride

    def restore(self, state: tuple) -> None:
        rows, self.n, self.stride = state
        self.buffer[: self.n] = rows


@dataclass(frozen=True)
class Snapshot:
    """The state of a run after ``iteration`` updates; every array is a read-only copy.

    X (N, D), y (N,): the training data. ``params``, ``grads`` and the gradient's two parts
    ``grads_data`` (from the examples) and ``grads_reg`` (reg·W; zero for biases) map each
    parameter's name to its array; ``next_params`` is where the next update will take them.
    ``parts`` holds the model's own intermediates at these parameters: ``scores``,
    ``dscores`` (N, K) and ``probs`` (softmax) or ``margins`` and ``active`` (SVM), and for
    the net ``hidden`` and ``dhidden`` (N, H). ``theta`` is every parameter in one flat
    vector, in ``layout`` order, for ``model``'s own functions (decision regions).
    """

    config: Config
    iteration: int
    X: np.ndarray
    y: np.ndarray
    model: Model
    layout: Layout
    theta: np.ndarray
    params: Mapping[str, np.ndarray]
    grads: Mapping[str, np.ndarray]
    grads_data: Mapping[str, np.ndarray]
    grads_reg: Mapping[str, np.ndarray]
    next_params: Mapping[str, np.ndarray]
    parts: Mapping[str, np.ndarray]
    loss: float
    data_loss: float
    reg_loss: float
    accuracy: float
    initial_loss: float
    history: History
    log: tuple[Change, ...]
    running: bool
    diverged: bool
    stop_reason: str | None

    @property
    def N(self) -> int:
        return len(self.y)

    @property
    def K(self) -> int:
        return self.config.classes

    @property
    def D(self) -> int:
        return self.X.shape[1]

    @property
    def step_size(self) -> float:
        return self.config.step_size

    @property
    def reg(self) -> float:
        return self.config.reg

    @property
    def finished(self) -> bool:
        """No further step is allowed: the iteration cap is reached or the run diverged."""
        return self.diverged or self.iteration >= self.config.iterations
