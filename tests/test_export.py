"""The exported script prints what ``python -m softmax train`` prints, line by line, for every run the CLI accepts.

The oracle is the command line (the trainer), never ``softmax.export`` itself: each script is
written to a temporary directory and run there by a fresh Python, so it cannot import this
project, and its output is compared with ``train``'s.

Where equality is exact and where it is not (numerical facts, not tolerances chosen to pass):

- the linear model, gradient descent or momentum, full batch or minibatches: the script's lines
  equal the CLI's byte for byte (hundreds to a few thousand iterations); so do short runs of the
  net and every divergent run (they stop within a few iterations);
- the net over the notes' 10 000 iterations: the trainer's fused layers and numpy's products
  sum in different orders; differences of 1e-16 grow about 1 % an iteration at step size 1, so
  the printed losses agree within 5e-6, not byte for byte (the notes' own published numbers
  differ from today's numpy by as much);
- Adam on the SVM at a large step: an entry of the gradient that is rounding noise (~1e-17,
  e.g. db where the violated margins cancel) gets a full-size Adam step whose sign is the
  noise's, so the last printed digit can differ at some iterations: within 1e-5 there.
"""

from __future__ import annotations

import ast
import io
import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from softmax import notes
from softmax.cli import train
from softmax.config import Config
from softmax.export import export_script
from softmax.presets import PRESETS
from testing.support import ROOT
from tests.test_models import PUBLISHED_LINEAR, PUBLISHED_NET

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}  # a shared 2-core machine: no BLAS helper threads


def cli_lines(config: Config, every: int) -> str:
    """What ``python -m softmax train`` prints for config (its own function, in process)."""
    out = io.StringIO()
    train(config, every, False, out=out)
    return out.getvalue()


def script_lines(source: str, tmp_path: Path) -> str:
    """Run a script by itself, outside the project, and return what it prints (it must not warn)."""
    path = tmp_path / "run.py"
    path.write_text(source)
    ran = subprocess.run([sys.executable, "-W", "error", str(path)], capture_output=True, text=True, cwd=tmp_path,
                         env=ENV, timeout=600)
    assert ran.returncode == 0 and not ran.stderr, ran.stderr
    return ran.stdout


def losses(text: str) -> dict[int, float]:
    out = {}
    for line in text.splitlines():
        if line.startswith("iteration "):
            head, value = line.rsplit(" ", 1)
            out[int(head.split()[1].rstrip(":"))] = float(value)
    return out


RUNS = list(itertools.product(("linear", "two-layer"), ("softmax", "svm"), ("sgd", "momentum", "adam"), (0, 16)))


def assert_same_within(out: str, expected: str, tol: float) -> None:
    """The same lines, except loss values that may differ by at most tol (the diverged line and accuracy exactly)."""
    mine, theirs = out.splitlines(), expected.splitlines()
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs, strict=True):
        if a.startswith("iteration ") and b.startswith("iteration "):
            assert a.rsplit(" ", 1)[0] == b.rsplit(" ", 1)[0]
            assert abs(float(a.split()[-1]) - float(b.split()[-1])) <= tol
        else:
            assert a == b


STEP = {"sgd": 1.0, "momentum": 0.5, "adam": 0.05}  # a step each optimizer trains well with


@pytest.mark.parametrize(("model", "loss", "optimizer", "batch_size"), RUNS)
def test_the_script_prints_the_cli_lines_byte_for_byte(tmp_path, model, loss, optimizer, batch_size):
    """Every model x loss x optimizer x batch size: the same lines, byte for byte (150 iterations;
    a net of 20 units, which trains the same way as 100 at a fraction of the time)."""
    config = Config(model=model, loss=loss, optimizer=optimizer, batch_size=batch_size, iterations=150, hidden=20,
                    step_size=STEP[optimizer])
    expected = cli_lines(config, 10)
    assert expected.count("iteration ") == 15 and "diverged" not in expected
    assert script_lines(export_script(config, 10), tmp_path) == expected


@pytest.mark.parametrize(("model", "loss", "optimizer", "batch_size"), RUNS)
def test_divergent_runs_stop_where_the_cli_stops(tmp_path, model, loss, optimizer, batch_size):
    """The step-too-large exercise (step 50) with every model, loss, optimizer and batch size: the
    CLI prints ``diverged at iteration N (...)`` and the accuracy at that point; the script too."""
    config = PRESETS["step-too-large"].config.with_changes(model=model, loss=loss, optimizer=optimizer,
                                                           batch_size=batch_size, hidden=20, iterations=300)
    expected = cli_lines(config, 1)
    assert "diverged at iteration" in expected
    out = script_lines(export_script(config, 1), tmp_path)
    if (loss, optimizer) == ("svm", "adam"):  # rounding noise decides Adam steps here: see the module docstring
        assert_same_within(out, expected, 1e-5)
    else:
        assert out == expected


def test_the_step_too_large_preset_as_it_is(tmp_path):
    config = PRESETS["step-too-large"].config
    expected = cli_lines(config, 10)
    assert expected.splitlines()[1].startswith("diverged at iteration 4 (the loss grew past 10 times")
    assert script_lines(export_script(config), tmp_path) == expected


def commands(options: list[str], tmp_path: Path) -> tuple[list[str], list[str]]:
    """``python -m softmax train OPTIONS`` and the script ``python -m softmax export-script OPTIONS`` writes,
    both run as commands (the entry points a student types), as lists of printed lines."""
    def run(args, cwd):
        r = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=ENV, timeout=600)
        assert r.returncode == 0 and not r.stderr, r.stderr
        return r.stdout

    source = run(["-m", "softmax", "export-script", *options], ROOT)
    (tmp_path / "run.py").write_text(source)
    return run(["-W", "error", "run.py"], tmp_path).splitlines(), run(["-m", "softmax", "train", *options],
                                                                      ROOT).splitlines()


@pytest.mark.parametrize("options", [
    ["--step-size", "50"],  # the step-too-large preset
    ["--step-size", "50", "--print-every", "1", "--model", "two-layer", "--hidden", "20"],
    ["--step-size", "50", "--print-every", "1", "--loss", "svm", "--optimizer", "momentum", "--batch-size", "16"],
])
def test_divergent_runs_the_commands_print_the_same_lines(tmp_path, options):
    """Divergent runs, command against command, line by line: the script prints the CLI's
    ``diverged at iteration N (...)`` line and the accuracy after it, and nothing else differs."""
    script, cli = commands(options, tmp_path)
    assert any(line.startswith("diverged at iteration ") for line in cli)
    assert cli[-1].startswith("training accuracy: ")
    for n, (mine, theirs) in enumerate(itertools.zip_longest(script, cli)):
        assert mine == theirs, f"line {n + 1}: script {mine!r}, CLI {theirs!r}"


@pytest.mark.parametrize("options", [
    {"init": "plain"},
    {"dataset": "circles", "classes": 5, "seed": 3, "reg": 0.01, "iterations": 150, "noise": 0.3},
    {"dataset": "xor", "classes": 2, "step_size": 0.5, "noise": 0.1, "points_per_class": 40},
    {"dataset": "blobs", "classes": 10, "reg": 0.0, "iterations": 80},
    {"dataset": "spiral", "classes": 4, "points_per_class": 250, "iterations": 2000, "reg": 1e-4},
    {"model": "two-layer", "hidden": 7, "init": "plain", "dataset": "xor", "classes": 3, "iterations": 400},
])
def test_other_data_and_settings_byte_for_byte(tmp_path, options):
    config = Config(**options)
    every = 50 if config.iterations >= 1000 else 10
    assert script_lines(export_script(config, every), tmp_path) == cli_lines(config, every)


def test_the_notes_linear_run_digit_for_digit(tmp_path):
    out = script_lines(export_script(Config()), tmp_path)
    assert out == PUBLISHED_LINEAR + "\ntraining accuracy: 0.49\n"


@pytest.mark.slow
def test_the_notes_net_within_5e_6(tmp_path):
    """The notes' 10 000 iterations of the net: within 5e-6 of the CLI and of the published lines (see the
    module docstring for why not byte for byte), the same accuracy."""
    config = PRESETS["two-layer"].config
    out, expected = script_lines(export_script(config), tmp_path), cli_lines(config, 1000)
    mine, theirs = losses(out), losses(expected)
    assert sorted(mine) == sorted(theirs) == sorted(PUBLISHED_NET)
    for i in theirs:
        assert abs(mine[i] - theirs[i]) <= 5e-6 and abs(mine[i] - PUBLISHED_NET[i]) <= 5e-6
    assert out.splitlines()[-1] == expected.splitlines()[-1] == "training accuracy: 0.98"


def test_adam_on_the_svm_at_a_large_step_within_1e_5(tmp_path):
    """Where summation order decides an Adam step's sign (see the module docstring): the same lines
    within 1e-5 and the same accuracy. (Byte for byte on some machines and not on others: which rounding
    noise an entry carries depends on the CPU and the BLAS build.)"""
    config = Config(loss="svm", optimizer="adam", step_size=5.0, iterations=150)
    out, expected = script_lines(export_script(config), tmp_path), cli_lines(config, 10)
    assert_same_within(out, expected, 1e-5)


@pytest.mark.parametrize("options", [
    [], ["--step-size", "50"], ["--model", "two-layer", "--hidden", "10", "--iterations", "300", "--loss", "svm"],
    ["--optimizer", "momentum", "--batch-size", "32", "--step-size", "0.3", "--print-every", "25"],
])
def test_export_script_command_against_train_command(tmp_path, options):
    """The two commands end to end, with the same options: the script export-script writes prints train's lines."""
    def run(*args):
        r = subprocess.run([sys.executable, "-m", "softmax", *args], capture_output=True, text=True, cwd=ROOT,
                           env=ENV, timeout=300)
        assert r.returncode == 0, r.stderr
        return r.stdout

    assert script_lines(run("export-script", *options), tmp_path) == run("train", *options)


def test_export_script_rejects_what_train_rejects():
    r = subprocess.run([sys.executable, "-m", "softmax", "export-script", "--hidden", "5"], capture_output=True,
                       text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("config", [Config(), Config(model="two-layer", loss="svm", optimizer="adam", batch_size=8)])
def test_the_script_imports_only_numpy(config):
    tree = ast.parse(export_script(config))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names} | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"numpy"}


def test_the_script_is_the_notes_loop_with_stated_edits():
    """Every line of the notes' loop survives in order unless an edit replaced it, and each group of
    edited lines follows an EDIT comment that says why."""
    text = export_script(Config(loss="svm", optimizer="momentum", batch_size=8))
    loop = text[text.index("# initialize parameters randomly"):]
    marked = notes.edited_lines(loop, "linear")
    kept = [line for line, edited in marked if not edited]
    original = (notes.LINEAR + "\n" + notes.LINEAR_ACCURACY).split("\n")
    assert kept == [line for line in original if line in kept]  # the notes' lines, in their order
    comments = [k for k, (line, _) in enumerate(marked) if line.strip().startswith(notes.EDIT)]
    assert len(comments) >= 4
    for k, (line, edited) in enumerate(marked):
        if edited:  # within a few lines of the EDIT comment that states its reason
            assert any(0 <= k - j <= 12 for j in comments), line


def test_an_edit_that_misses_its_line_raises():
    with pytest.raises(ValueError, match="expected one line"):
        notes.apply_edits(notes.LINEAR, [notes.Edit("W += -step_size * dW # typo", "W -= step_size * dW")])
    with pytest.raises(ValueError, match="expected one line"):  # a line that is there twice
        notes.replace_line(notes.NET, "", "x = 1")


def test_the_optimizer_constants_are_optim_defaults():
    """The script's momentum and Adam constants are the trainer's (optim.py sets them as defaults)."""
    import numpy as np

    from softmax.optim import adam, momentum

    state: dict = {"learning_rate": 1.0}
    momentum(np.zeros(1), np.zeros(1), state)
    adam(np.zeros(1), np.zeros(1), state)
    assert (state["momentum"], state["beta1"], state["beta2"], state["epsilon"]) == \
        (notes.MOMENTUM, notes.BETA1, notes.BETA2, notes.EPSILON)


def test_export_rejects_a_bad_print_interval():
    with pytest.raises(ValueError, match="print_every"):
        export_script(Config(), 0)


def test_the_script_draws_from_the_seed_stream_and_names_no_local_path():
    assert "rng.randn(D,K)" in export_script(Config())
    assert str(ROOT) not in export_script(Config(model="two-layer"))


@pytest.mark.parametrize("options", [
    {"dataset": "circles", "features": "x1sq,x2sq"},
    {"dataset": "xor", "classes": 2, "features": "x1x2,sinx1,sinx2", "iterations": 100},
    {"test_share": 0.2},
    {"dataset": "blobs", "classes": 4, "test_share": 0.35, "features": "x1sq", "model": "two-layer", "hidden": 9,
     "iterations": 120},
])
def test_input_features_and_the_test_split_byte_for_byte(tmp_path, options):
    """The script builds the model's inputs as the trainer does: the same held-out points left out, the same
    features, in the same order (a script that ignored them printed another run's losses)."""
    config = Config(**options)
    assert script_lines(export_script(config, 10), tmp_path) == cli_lines(config, 10)


OWN_POINTS = {  # (points, labels): near the unit square, and far from it (the trainer standardizes those)
    "unit": (np.array([[0.1, 0.2], [-0.5, 0.3], [0.7, -0.8], [0.05, 0.9], [-0.3, -0.2], [0.6, 0.6]]),
             np.array([0, 1, 2, 0, 1, 2])),
    "far": (np.array([[120.0, 3.5], [80.0, 2.0], [150.25, 7.0], [95.0, 1.0], [130.0, 6.5]]),
            np.array([1, 0, 1, 0, 1])),
}


@pytest.mark.parametrize("name,options", [
    ("unit", {"classes": 3}),
    ("unit", {"classes": 4, "features": "x1sq,x2sq", "test_share": 0.34}),
    ("far", {"classes": 2, "features": "x1x2"}),
])
def test_own_points_byte_for_byte(tmp_path, name, options):
    """A user's own points are written into the script, which prints what the trainer prints on them."""
    points = OWN_POINTS[name]
    config = Config(dataset="own", iterations=60, **options)
    out = io.StringIO()
    train(config, 10, False, out=out, points=points)
    assert script_lines(export_script(config, 10, points), tmp_path) == out.getvalue()


def test_own_points_are_given_exactly_with_the_own_dataset():
    with pytest.raises(ValueError, match="own"):
        export_script(Config(dataset="own"))
    with pytest.raises(ValueError, match="own"):
        export_script(Config(), points=OWN_POINTS["unit"])
