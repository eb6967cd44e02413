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

import numpy as np

from . import data, notes
from .cli import PRINT_EVERY, diverged_line
from .config import OWN, Config
from .features import FEATURES, Transform
from .run import BATCH_STREAM, BLOWUP_FACTOR

TITLES = {"linear": "linear classifier", "two-layer": "2-layer ReLU net"}
# The trainer's two reasons to stop a run early (softmax.run.Run._step), as the command line words them.
GREW = f"the loss grew past {BLOWUP_FACTOR:g} times its starting value"
INFINITE = "the loss became infinite"


# Each input feature as numpy code on the script's X (N, 2): the same arithmetic as softmax.features.FEATURES.
FEATURE_CODE = {"x1sq": "X[:, 0] * X[:, 0]", "x2sq": "X[:, 1] * X[:, 1]", "x1x2": "X[:, 0] * X[:, 1]",
                "sinx1": "np.sin(X[:, 0])", "sinx2": "np.sin(X[:, 1])"}
assert set(FEATURE_CODE) == set(FEATURES)


def _message(why: str, step_size: float) -> str:
    """``cli.diverged_line`` with ``%d`` where the iteration goes, for the script's print."""
    placeholder = 918_273_645  # a number no message contains otherwise
    line = diverged_line(placeholder, "diverged: " + why, step_size).replace("%", "%%")
    if line.count(str(placeholder)) != 1 or '"' in line or "\\" in line:
        raise ValueError(f"cannot make a print statement of {line!r}")
    return line.replace(str(placeholder), "%d")


def export_script(config: Config, print_every: int | None = None,
                  points: tuple[np.ndarray, np.ndarray] | None = None, transform: Transform | None = None) -> str:
    """Python source that needs only numpy and prints what ``python -m softmax train`` prints for
    ``config`` (same data, same initial weights, same minibatches): every model, loss, optimizer
    and batch size. ``print_every`` defaults to the notes' (10 for the linear model, 1000 for the net).

    A user's own points (the dataset "own") are written into the script: ``points`` (points (N, 2),
    labels (N,)) and the ``transform`` the run standardized them with (its numbers as literals).
    Input features are computed in the script as the run computes them.
    """
    every = PRINT_EVERY[config.model] if print_every is None else print_every
    if every < 1:
        raise ValueError(f"print_every must be at least 1, got {every}")
    own = config.dataset == OWN
    if own and (points is None or not len(points[1])):
        raise ValueError("a script of your own points needs the points (at least one)")
    make = None if own else data.DATASETS[config.dataset].make
    generator = "" if own else inspect.getsource(make)
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
    if own:
        rows = ",\n    ".join(f"[{float(x1)!r}, {float(x2)!r}]" for x1, x2 in points[0])
        body = f'''
# the data: your own {len(points[1])} points (x1, x2) and their labels, as the page had them
X = np.array([
    {rows},
])
y = np.array({[int(k) for k in points[1]]!r}, dtype=np.int64)
rng = np.random.RandomState({config.seed})  # the initial weights' stream (no data is drawn from it)
'''
        if transform is not None and (transform.center != (0.0, 0.0) or transform.scale != (1.0, 1.0)):
            body += ("# far from the unit square: standardized for the model, as on the page (mean 0, std 1 an axis)\n"
                     f"X = (X - np.array({list(transform.center)!r})) / np.array({list(transform.scale)!r})\n")
    else:
        body = f'''
# the data: {config.points_per_class} points per class, {config.classes} classes, from one random stream
rng = np.random.RandomState({config.seed})
X, y = {make.__name__}({config.points_per_class}, {config.classes}, {config.noise!r}, rng)
'''
    features = [f for f in config.features.split(",") if f]
    if features:
        names = ", ".join(FEATURES[f][0] for f in features)
        body += (f"# input features: x1, x2, then {names}, one column each (W gets a row for each)\n"
                 f"X = np.column_stack([X, {', '.join(FEATURE_CODE[f] for f in features)}])\n")
    body += f"D = X.shape[1]\nK = {config.classes}\n\n"
    loop = notes.script(config.model, config.loss, config.optimizer, config.batch_size, [config.seed, BATCH_STREAM],
                        notes.ScriptSettings(
                            step_size=config.step_size, reg=config.reg, iterations=config.iterations,
                            print_every=every, hidden=config.hidden, notes_init=config.init == "notes",
                            blowup=BLOWUP_FACTOR, diverged=_message(GREW, config.step_size),
                            infinite=_message(INFINITE, config.step_size)))
    return header + textwrap.dedent(labels) + ("\n\n" if labels else "") + textwrap.dedent(generator) + body + loop
