"""python -m softmax: the notes' printout, JSON, errors, divergence, the benchmark."""

import json
import math
import subprocess
import sys

import pytest

from tests.support import ROOT


def run(*args):
    return subprocess.run([sys.executable, "-m", "softmax", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_train_prints_the_notes_lines():
    r = run("train")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "iteration 0: loss 1.096919"
    assert lines[19] == "iteration 190: loss 0.786302"
    assert lines[20] == "training accuracy: 0.49"
    assert len(lines) == 21


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
    ["train", "--bogus"], ["frobnicate"], [],
])
def test_bad_arguments_one_line_exit_2(args):
    r = run(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr and "error" in r.stderr


def test_bench_prints_speedup_last():
    r = run("bench", "--repeats", "1")
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("speedup_vs_seed=") and float(last.split("=")[1]) > 0
    assert "N=100000 K=10" in r.stdout
