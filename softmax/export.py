"""A standalone numpy script that re-runs a configuration, in the CS231n notes' own words.

The script is the notes' loop (``softmax.notes``: the one source of its text) with stated,
checked edits, after the project's own data generator (its source, copied) and the one
random stream of the seed. It prints what ``python -m softmax train`` prints with the same
options: the notes' ``iteration %d: loss %f`` lines, ``diverged at iteration N (...)`` where
the trainer stops a run that blows up, and the training accuracy.

For the linear model the lines are equal byte for byte (up to a few thousand iterations);
for the net, float summation order (numpy's here, the trainer's fused layers there) moves the
last digits: within 5e-6 over the notes' 10 000 iterations.
"""

from __future__ import annotations

import inspect
import textwrap

from . import data, notes
from .cli import PRINT_EVERY, diverged_line
from .config import Config
from .run import BATCH_STREAM, BLOWUP_FACTOR

TITLES = {"linear": "linear classifier", "two-layer": "2-layer ReLU net"}
# The trainer's two reasons to stop a run early (softmax.run.Run._step), as the command line words them.
GREW = f"the loss grew past {BLOWUP_FACTOR:g} times its starting value"
INFINITE = "the loss became infinite"


def _message(why: str, step_size: float) -> str:
    """``cli.diverged_line`` with ``%d`` where the iteration goes, for the script's print."""
    placeholder = 918_273_645  # a number no message contains otherwise
    line = diverged_line(placeholder, "diverged: " + why, step_size).replace("%", "%%")
    if line.count(str(placeholder)) != 1 or '"' in line or "\\" in line:
        raise ValueError(f"cannot make a print statement of {line!r}")
    return line.replace(str(placeholder), "%d")


def export_script(config: Config, print_every: int | None = None) -> str:
    """Python source that needs only numpy and prints what ``python -m softmax train`` prints for
    ``config`` (same data, same initial weights, same minibatches): every model, loss, optimizer
    and batch size. ``print_every`` defaults to the notes' (10 for the linear model, 1000 for the net).
    """
    every = PRINT_EVERY[config.model] if print_every is None else print_every
    if every < 1:
        raise ValueError(f"print_every must be at least 1, got {every}")
    make = data.DATASETS[config.dataset].make
    generator = inspect.getsource(make)
    labels = inspect.getsource(data._labels) if "_labels(" in generator else ""
    settings = ", ".join(f"{k}={v}" for k, v in config.to_query().items() if k not in ("speed", "refresh"))
    header = f'''"""The CS231n {TITLES[config.model]}, exported from the softmax gradient app.

Settings: {settings}, print_every={every}
It prints what `python -m softmax train` prints with these settings. Run it with
    python this_file.py        (it needs only numpy)
The loop is the CS231n notes' own code; every line changed from it has an "# [edit]" comment above it.
"""

import numpy as np

Rng = np.random.RandomState

'''
    body = f'''
# the data: {config.points_per_class} points per class, {config.classes} classes, from one random stream
rng = np.random.RandomState({config.seed})
X, y = {make.__name__}({config.points_per_class}, {config.classes}, {config.noise!r}, rng)
D = X.shape[1]
K = {config.classes}

'''
    loop = notes.script(config.model, config.loss, config.optimizer, config.batch_size, [config.seed, BATCH_STREAM],
                        notes.ScriptSettings(
                            step_size=config.step_size, reg=config.reg, iterations=config.iterations,
                            print_every=every, hidden=config.hidden, notes_init=config.init == "notes",
                            blowup=BLOWUP_FACTOR, diverged=_message(GREW, config.step_size),
                            infinite=_message(INFINITE, config.step_size)))
    return header + textwrap.dedent(labels) + ("\n\n" if labels else "") + textwrap.dedent(generator) + body + loop
