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
from .features import CODE, Transform, standardizing
from .run import BATCH_STREAM, BLOWUP_FACTOR, SPLIT_STREAM, split

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


def export_script(config: Config, print_every: int | None = None,
                  points: tuple[np.ndarray, np.ndarray] | None = None, transform: Transform | None = None) -> str:
    """Python source that needs only numpy and prints what ``python -m softmax train`` prints for
    ``config`` (same data, same initial weights, same minibatches): every model, loss, optimizer,
    batch size, input feature and test share. ``print_every`` defaults to the notes' (10 for the
    linear model, 1000 for the net). ``points``: a user's own points ((N, 2), labels (N,)), written
    into the script, for the "own" dataset; ``transform``: the one the run standardizes them with
    (its numbers as literals; default: standardizing these points, as a new run would).
    """
    every = PRINT_EVERY[config.model] if print_every is None else print_every
    if every < 1:
        raise ValueError(f"print_every must be at least 1, got {every}")
    if (config.dataset == OWN) != (points is not None):
        raise ValueError("points are given exactly when the dataset is 'own'")
    if points is not None and not len(points[1]):
        raise ValueError("a script of your own points needs the points (at least one)")
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
    if points is None:
        make = data.DATASETS[config.dataset].make
        # every generator labels its points with _labels: the script defines it first
        source = textwrap.dedent(inspect.getsource(data._labels)) + "\n\n" + textwrap.dedent(inspect.getsource(make))
        body = f'''
# the data: {config.points_per_class} points per class, {config.classes} classes, from one random stream
rng = np.random.RandomState({config.seed})
X, y = {make.__name__}({config.points_per_class}, {config.classes}, {config.noise!r}, rng)
'''
        xy, y_all = None, None
    else:
        xy, y_all = np.asarray(points[0]), np.asarray(points[1])
        rows = ",\n    ".join(f"[{float(a)!r}, {float(b)!r}]" for a, b in xy)
        source = ""
        body = f'''
# the data: your own {len(y_all)} points (x1, x2) and their classes 0..{config.classes - 1}
X = np.array([
    {rows}
]).reshape(-1, 2)
y = np.array({[int(k) for k in y_all]!r}, dtype=np.int64)
rng = np.random.RandomState({config.seed})  # the initial weights' stream
'''
    body += _inputs(config, xy, y_all, transform)
    body += f'''D = X.shape[1]
K = {config.classes}

'''
    loop = notes.script(config.model, config.loss, config.optimizer, config.batch_size, [config.seed, BATCH_STREAM],
                        notes.ScriptSettings(
                            step_size=config.step_size, reg=config.reg, iterations=config.iterations,
                            print_every=every, hidden=config.hidden, notes_init=config.init == "notes",
                            blowup=BLOWUP_FACTOR, diverged=_message(GREW, config.step_size),
                            infinite=_message(INFINITE, config.step_size)))
    return header + source + body + loop


def _inputs(config: Config, xy: np.ndarray | None, y_all: np.ndarray | None,
            transform: Transform | None = None) -> str:
    """The script's lines between the data and the model, as ``softmax.run.Run`` does them: the held-out
    test points left out (a stream of their own), then the inputs standardized (own points far from the
    unit square) and the input features added. Empty when none applies."""
    N = len(y_all) if y_all is not None else config.points_per_class * config.classes
    n_test = len(split(config, N)[1])
    lines = [f"# [edit] {n_test} of the {N} points kept out of training (a random stream of their own)",
             f"order = np.random.RandomState([{config.seed}, {SPLIT_STREAM}]).permutation(len(y))",
             f"train = np.sort(order[{n_test}:])",
             "X, y = X[train], y[train]"] if n_test else []
    features = tuple(f for f in config.features.split(",") if f)
    if xy is not None and transform is None:
        transform = standardizing(xy)
    if transform is not None and (transform.center, transform.scale) != ((0.0, 0.0), (1.0, 1.0)):
        lines += ["# [edit] your points are far from the unit square: standardized, as the page does",
                  f"X = (X - np.array({list(transform.center)!r})) / np.array({list(transform.scale)!r})"]
    if features:
        lines += [f"# [edit] the input features: {', '.join(features)}",
                  "X = np.column_stack([X, " + ", ".join(CODE[f] for f in features) + "])"]
    return "\n".join(lines) + ("\n" if lines else "")
