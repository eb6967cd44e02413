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
from .features import Transform
from .models import Layout, Model
from .points import Edit

# A parameter with more entries than this keeps only the norm of each of its last-axis
# slices in the history (a net's W2 (H, K): one norm per class), to bound a run's memory.
WHOLE_HISTORY_ENTRIES = 256


@dataclass(frozen=True)
class Change:
    """What changed mid-run at update number ``iteration``: training settings (by name) and edits to the
    points, applied in that order before the update."""

    iteration: int
    settings: Mapping[str, Any]
    edits: tuple[Edit, ...] = ()

    def to_text(self) -> str:
        """``120:step_size=0.1,reg=0,a0.5_-0.25_2`` -- the form a link carries."""
        from .config import _format

        items = [f"{k}={_format(v)}" for k, v in self.settings.items()] + [e.to_text() for e in self.edits]
        return f"{self.iteration}:" + ",".join(items)


MAX_LOG = 500  # changes a link may carry


def log_text(log: tuple[Change, ...] | list[Change]) -> str:
    """A run's log for a link: changes separated by ``;``."""
    return ";".join(change.to_text() for change in log)


def parse_log(text: str, iterations: int) -> tuple[list[Change], list[str]]:
    """The changes of ``log_text``; never raises. A part that cannot be read is left out, with a notice
    (the rest of the run is still reproduced up to that point)."""
    from .config import coerce, in_group

    changes, notices = [], []
    last = -1
    for part in filter(None, text.split(";")[: MAX_LOG + 1]):
        if len(changes) == MAX_LOG:
            notices.append(f"Run history: only the first {MAX_LOG} changes are used")
            break
        head, _, body = part.partition(":")
        if not head.isdigit() or not body or not last <= int(head) <= iterations:
            notices.append(f"Run history: {part[:40]!r} is not a change at an iteration in order; left out")
            break
        settings, edits = {}, []
        try:
            for item in body.split(","):
                name, eq, value = item.partition("=")
                if eq:
                    if name not in in_group("training"):
                        raise ValueError
                    settings[name], notice = coerce(name, value, None)
                    if notice or settings[name] is None:
                        raise ValueError
                else:
                    edits.append(Edit.from_text(item))
        except ValueError:
            notices.append(f"Run history: {part[:40]!r} could not be read; the run stops there")
            break
        last = int(head)
        changes.append(Change(last, settings, tuple(edits)))
    return changes, notices


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

    iteration (T,) int with loss, data_loss, reg_loss, accuracy (T,), and with a held-out test set
    test_loss, test_accuracy (T,) (else None); grad_iteration (G,) int with
    grads[name] (G, *shape) when ``kinds[name] == "values"``, or (G, shape[-1]) norms of each
    last-axis slice (one per class of W2, one per hidden unit of a large W1) when it is "norms".
    The last entries are always the snapshot's own iteration.
    """

    iteration: np.ndarray
    loss: np.ndarray
    data_loss: np.ndarray
    reg_loss: np.ndarray
    accuracy: np.ndarray
    test_loss: np.ndarray | None
    test_accuracy: np.ndarray | None
    grad_iteration: np.ndarray
    grads: Mapping[str, np.ndarray]
    kinds: Mapping[str, str]


class HistoryBuffer:
    """Fixed-capacity history: when a buffer is full, every other row is dropped and its stride doubles.

    The scalars and the gradients keep separate buffers: a large model's gradients take many
    more bytes a row, so they get fewer rows (at least 32), and the loss curve stays fine.
    Scalar rows: iteration, loss, data loss, reg loss, accuracy, test loss, test accuracy.
    """

    SCALARS = 1024
    GRAD_BYTES = 1 << 19  # 512 KiB of gradient rows per run

    def __init__(self, layout: Layout, test: bool = False, capacity: int | None = None) -> None:
        self.layout, self.test = layout, test
        self.kinds = {name: history_kind(shape) for name, shape in layout.shapes}
        self.widths = {name: (int(np.prod(shape)) if self.kinds[name] == "values" else shape[-1])
                       for name, shape in layout.shapes}
        row = sum(self.widths.values())
        grad_rows = max(32, min(512, 1 << int(np.log2(max(self.GRAD_BYTES // (8 * row), 1)))))
        self.scalars = _Thinned(np.zeros((capacity or self.SCALARS, 7)))
        self.gradients = _Thinned(np.zeros((capacity or grad_rows, row + 1)))
        self._row = np.zeros(row + 1)

    def due(self, iteration: int) -> bool:
        """Whether ``record`` keeps this iteration's scalars (so costly extras are computed only then)."""
        return self.scalars.due(iteration)

    def record(self, iteration: int, result, grads: Mapping[str, np.ndarray],
               test: tuple[float, float] | None = None) -> None:
        """Keep an iteration's numbers: ``result`` (loss, data_loss, reg_loss, accuracy), gradients by name,
        and (test loss, test accuracy) when there is a test set."""
        if self.scalars.due(iteration):
            self.scalars.record(iteration, self._scalar_row(iteration, result, test))
        if self.gradients.due(iteration):
            self.gradients.record(iteration, self._gradient_row(iteration, grads))

    @staticmethod
    def _scalar_row(iteration: int, result, test: tuple[float, float] | None) -> tuple:
        test = test or (np.nan, np.nan)
        return (iteration, result.loss, result.data_loss, result.reg_loss, result.accuracy, *test)

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

    def freeze(self, iteration: int, result, grads: Mapping[str, np.ndarray],
               test: tuple[float, float] | None = None, until: int | None = None) -> History:
        """The history up to ``iteration`` (or up to ``until``: an earlier iteration being viewed),
        ending with ``iteration``'s own numbers."""
        until = iteration if until is None else until
        scalars = self.scalars.rows(self._scalar_row(iteration, result, test), until)
        rows = self.gradients.rows(self._gradient_row(iteration, grads).copy(), until)
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
            test_loss=frozen(scalars[:, 5]) if self.test else None,
            test_accuracy=frozen(scalars[:, 6]) if self.test else None,
            grad_iteration=frozen(rows[:, 0].astype(np.int64)),
            grads=frozen_dict(named),
            kinds=MappingProxyType(dict(self.kinds)),
        )

    def truncate(self, iteration: int) -> None:
        """Forget every row after ``iteration`` (a run went back in time)."""
        self.scalars.truncate(iteration)
        self.gradients.truncate(iteration)


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

    def rows(self, last, until: int) -> np.ndarray:
        """The recorded rows up to iteration ``until``, ending with ``last`` (that iteration's own row)."""
        n = int(np.searchsorted(self.buffer[: self.n, 0], until, side="right"))
        rows = self.buffer[:n]
        if n == 0 or rows[-1, 0] != last[0]:
            rows = np.vstack([rows, np.asarray(last, dtype=float)[None]])
        return rows

    def truncate(self, iteration: int) -> None:
        self.n = int(np.searchsorted(self.buffer[: self.n, 0], iteration, side="right"))


@dataclass(frozen=True)
class Snapshot:
    """The state of a run after ``iteration`` updates; every array is a read-only copy.

    ``config`` is the settings now; ``start_config`` those the run started with (``log`` has what changed
    between, at which iteration: together they reproduce the run). X (N, D), y (N,): the training data
    as the model sees it; ``points`` (N, 2) the same points in
    the plane, in their own units (``transform`` turns points into the model's inputs: features,
    standardization). With a held-out share: X_test, test_points, y_test and the model's
    test_loss (data part) and test_accuracy there (NaN without). ``params``, ``grads`` and the gradient's two parts
    ``grads_data`` (from the examples) and ``grads_reg`` (reg·W; zero for biases) map each
    parameter's name to its array; ``next_params`` is where the next update will take them.
    ``parts`` holds the model's own intermediates at these parameters: ``scores``,
    ``dscores`` (N, K) and ``probs`` (softmax) or ``margins`` and ``active`` (SVM), and for
    the net ``hidden`` and ``dhidden`` (N, H). ``theta`` is every parameter in one flat
    vector, in ``layout`` order, for ``model``'s own functions (decision regions).
    """

    config: Config
    start_config: Config
    iteration: int
    X: np.ndarray
    y: np.ndarray
    points: np.ndarray
    transform: Transform
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
    X_test: np.ndarray
    y_test: np.ndarray
    test_points: np.ndarray
    test_loss: float
    test_accuracy: float
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
