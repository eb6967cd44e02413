"""python -m softmax: the notes' printout, JSON, errors, divergence, the benchmark."""

import json
import math
import os
import subprocess
import sys

import pytest

from testing.support import ROOT
from tests.test_models import PUBLISHED_LINEAR, PUBLISHED_NET


def run(*args):
    return subprocess.run([sys.executable, "-m", "softmax", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_train_prints_the_notes_twenty_lines_byte_for_byte():
    r = run("train")
    assert r.returncode == 0, r.stderr
    assert r.stdout == PUBLISHED_LINEAR + "\ntraining accuracy: 0.49\n"
    assert run("train", "--init", "plain").stdout.startswith("iteration 0: loss 1.096919\n")


@pytest.mark.slow
def test_train_the_net_prints_the_notes_lines():
    r = run("train", "--model", "two-layer")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 11 and lines[-1] == "training accuracy: 0.98"
    for line, (i, published) in zip(lines, sorted(PUBLISHED_NET.items()), strict=False):
        head, value = line.rsplit(" ", 1)
        assert head == f"iteration {i}: loss" and abs(float(value) - published) <= 5e-6


def test_json_history_has_every_printed_iteration():
    out = json.loads(run("train", "--json", "--print-every", "50").stdout)
    assert [h["iteration"] for h in out["history"]] == [0, 50, 100, 150]
    assert "%f" % out["history"][0]["loss"] == "1.096956"


def test_train_json():
    r = run("train", "--json", "--seed", "3")
    out = json.loads(r.stdout)
    assert set(out) >= {"initial_loss", "final_loss", "data_loss", "reg_loss", "accuracy", "iterations", "diverged"}
    assert abs(out["initial_loss"] - math.log(3)) < 0.01
    assert 0.73 <= out["final_loss"] <= 0.79 and out["iterations"] == 200 and not out["diverged"]
    assert out["final_loss"] == pytest.approx(out["data_loss"] + out["reg_loss"], rel=1e-15)


def test_divergence_is_reported():
    r = run("train", "--step-size", "1e6")
    assert r.returncode == 0
    assert "diverged at iteration 1" in r.stdout and "too large" in r.stdout
    assert json.loads(run("train", "--step-size", "1e3", "--json").stdout)["diverged"] is True


@pytest.mark.parametrize("args", [
    ["train", "--step-size", "-1"], ["train", "--step-size", "nan"], ["train", "--classes", "abc"],
    ["train", "--classes", "1"], ["train", "--points-per-class", "1e99"], ["train", "--iterations", "-5"],
    ["train", "--dataset", "moons"], ["train", "--reg", "1e400"], ["train", "--seed", "99999999999999"],
    ["train", "--bogus"], ["frobnicate"], [], ["train", "--hidden", "50"], ["train", "--model", "deep"],
    ["train", "--model", "two-layer", "--hidden", "0"], ["train", "--optimizer", "rmsprop"],
    ["train", "--batch-size", "-1"], ["train", "--print-every", "0"], ["bench", "--repeats", "10" * 12],
    ["bench", "--repeats", "0"], ["train", "--seed", "9" * 100_000],
])
def test_bad_arguments_one_line_exit_2(args):
    r = run(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr and "error" in r.stderr
    assert len(r.stderr) < 400  # a long argument is not echoed back whole


@pytest.mark.slow  # 23 s of timing loops; it checks the printout, so mutation testing leaves it out
def test_bench_prints_speedup_last():
    r = run("bench", "--repeats", "1")
    assert r.returncode == 0, r.stderr
    figures = dict(line.split("=") for line in r.stdout.splitlines() if "=" in line and " " not in line)
    assert float(figures["speedup_vs_seed"]) > 0 and float(figures["net_speedup_vs_notes"]) > 0
    assert "N=100000 K=10" in r.stdout
    assert figures["OPENBLAS_NUM_THREADS"] == "1"  # set for the timing loops when the caller did not


def test_bench_asks_for_one_blas_thread_and_keeps_a_callers_choice(monkeypatch, capsys):
    """Without OPENBLAS_NUM_THREADS the command starts itself again with it at 1 (BLAS reads it only as numpy
    loads), with the same arguments; a caller's own value is kept and printed."""
    from softmax import benchmark, cli

    calls = []
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setattr(cli.os, "execv", lambda path, args: calls.append((path, args, os.environ.get(
        "OPENBLAS_NUM_THREADS"))) or (_ for _ in ()).throw(SystemExit(0)))
    with pytest.raises(SystemExit):
        cli.main(["bench", "--repeats", "2"])
    assert calls == [(sys.executable, [sys.executable, "-m", "softmax", "bench", "--repeats", "2"], "1")]
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    monkeypatch.setattr(benchmark, "run", lambda repeats: repeats)
    assert cli.main(["bench", "--repeats", "3"]) == 3
    assert capsys.readouterr().out == "OPENBLAS_NUM_THREADS=2\n"


def test_an_undone_update_prints_its_iteration_once(monkeypatch, capsys):
    """A step whose loss is not finite is undone; the iteration it stays at is printed once, then the verdict."""
    from softmax import cli
    from softmax.config import Config
    from softmax.run import Run

    real = Run._step

    def overflow_at_20(self):
        if self.iteration == 20:
            self.theta[:] = float("inf")  # what a far too large step does
        real(self)

    monkeypatch.setattr(Run, "_step", overflow_at_20)
    cli.train(Config(iterations=100), 10, as_json=False)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["iteration 0", "iteration 10", "iteration 20"]
    assert lines[3].startswith("diverged at iteration 20 (the loss became infinite)")


def test_a_reader_that_leaves_early_gets_no_traceback():
    """`python -m softmax train | head -1`: the pipe closes after the first line; no traceback, status 0."""
    proc = subprocess.Popen([sys.executable, "-m", "softmax", "train", "--iterations", "20000", "--print-every", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    first = proc.stdout.readline()
    proc.stdout.close()  # as `head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert first.startswith(b"iteration 0: loss ") and err == ""


def test_own_points_from_a_csv(tmp_path):
    """--points trains on a CSV (names become classes in order of first appearance); export-script writes
    the same points into a script that prints the same lines."""
    csv = tmp_path / "mine.csv"
    csv.write_text("x1,x2,label\n0.1,0.2,cat\n-0.5,0.3,dog\n0.7,-0.8,cat\n0.05,0.9,dog\n-0.3,-0.2,cat\n")
    r = run("train", "--points", str(csv), "--iterations", "30", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["config"]["dataset"] == "own" and result["config"]["classes"] == "2"
    assert result["final_loss"] < result["initial_loss"]
    lines = run("train", "--points", str(csv), "--iterations", "30")
    script = run("export-script", "--points", str(csv), "--iterations", "30")
    assert script.returncode == 0, script.stderr
    (tmp_path / "run.py").write_text(script.stdout)
    ran = subprocess.run([sys.executable, str(tmp_path / "run.py")], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert ran.stdout == lines.stdout and lines.stdout.startswith("iteration 0: loss ")


@pytest.mark.parametrize("args,says", [
    (["--dataset", "own"], "--dataset own needs --points"),
    (["--points", "{csv}", "--dataset", "spiral"], "leave out --dataset spiral"),
    (["--points", "{missing}"], "cannot read"),
    (["--points", "{bad}"], "row 2: x2 is not a number"),
    (["--points", "{csv}", "--classes", "2"], "--classes 2: the file has 3 classes"),
])
def test_bad_own_points_get_one_line(tmp_path, args, says):
    (tmp_path / "ok.csv").write_text("0,0,0\n1,1,1\n2,2,2\n")
    (tmp_path / "bad.csv").write_text("0,0,0\n1,oops,1\n")
    paths = {"csv": tmp_path / "ok.csv", "missing": tmp_path / "nope.csv", "bad": tmp_path / "bad.csv"}
    r = run("train", *[a.format(**paths) for a in args])
    assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
