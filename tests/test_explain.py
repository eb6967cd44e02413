"""The explainer's numbers come from the model's own computation and add up to dW and db."""

import json
import subprocess
import sys

import numpy as np
import pytest

from softmax.config import Config
from softmax.data import DATASETS
from softmax.explain import contributions, example, gradient_sums, seed_lines
from softmax.export import export_script
from softmax.models import LinearModel, forward_backward
from softmax.runner import Trainer
from tests.support import ROOT


@pytest.fixture(scope="module")
def snap():
    return Trainer(Config(reg=0.05)).step(37)


def test_example_rows_are_the_snapshot_rows(snap):
    e = example(snap, 123)
    assert e.label == snap.y[123]
    for mine, model in ((e.x, snap.X[123]), (e.scores, snap.parts["scores"][123]),
                        (e.probs, snap.parts["probs"][123]), (e.dscores, snap.parts["dscores"][123])):
        assert np.shares_memory(mine, model) or np.array_equal(mine, model)
    np.testing.assert_allclose(e.dscores, (e.probs - e.onehot) / len(snap.y), rtol=1e-15, atol=1e-18)
    assert e.onehot[e.label] == 1 and e.onehot.sum() == 1
    np.testing.assert_array_equal(e.contribution, np.outer(e.x, e.dscores))
    assert e.loss == pytest.approx(-np.log(e.probs[e.label]), rel=1e-12)


def test_snapshot_intermediates_are_the_model_at_its_weights(snap):
    result, grads, ws = forward_backward(LinearModel(), dict(snap.params), snap.X, snap.y, snap.reg)
    for name in ("scores", "probs", "dscores"):
        np.testing.assert_allclose(snap.parts[name], ws.parts[name], rtol=0, atol=1e-15)
    for mine, theirs in ((snap.grads, grads), (snap.grads_data, ws.grads_data), (snap.grads_reg, ws.grads_reg)):
        for name in ("W", "b"):
            np.testing.assert_allclose(mine[name], theirs[name], rtol=0, atol=1e-15)
    assert snap.loss == pytest.approx(result.loss, rel=1e-15)


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("classes", [2, 3, 10])
def test_contributions_sum_to_dW_and_dscores_to_db(dataset, classes):
    s = Trainer(Config(dataset=dataset, classes=classes, reg=0.01)).step(25)
    sums = gradient_sums(s)
    assert contributions(s).shape == (len(s.y), 2, classes)
    np.testing.assert_allclose(sums.sum_contributions, s.grads_data["W"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sums.sum_dscores, s.grads["b"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sums.reg_times_W, s.grads_reg["W"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(sums.sum_contributions + sums.reg_times_W, s.grads["W"], rtol=0, atol=1e-12)


def test_seed_lines_show_the_snapshot_values(snap):
    lines = dict(seed_lines(snap, 5))
    assert f"{snap.loss:.6f}" == lines["loss = data_loss + reg_loss"]
    assert f"{snap.data_loss:.6f}" == lines["data_loss = np.sum(corect_logprobs)/num_examples"]
    assert "1 taken off class" in lines["dscores[range(num_examples),y] -= 1"]
    assert len(lines) == 15


def test_example_index_is_checked(snap):
    with pytest.raises(ValueError, match="between 0 and 299"):
        example(snap, 300)


@pytest.mark.parametrize("options", [
    [], ["--dataset", "circles", "--classes", "5", "--seed", "3", "--reg", "0.01", "--iterations", "150"],
    ["--dataset", "xor", "--classes", "2", "--step-size", "0.5", "--noise", "0.1", "--points-per-class", "40"],
    ["--dataset", "blobs", "--classes", "10", "--reg", "0", "--iterations", "80"],
])
def test_exported_script_reproduces_the_run(tmp_path, options):
    script = tmp_path / "run.py"
    out = subprocess.run([sys.executable, "-m", "softmax", "export-script", *options], capture_output=True,
                         text=True, cwd=ROOT, check=True).stdout
    script.write_text(out)
    assert "import softmax" not in out and "from softmax" not in out
    # run it outside the project so it cannot import anything from it
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, check=True)
    final = float(ran.stdout.split("final loss ")[1].split()[0])
    expected = json.loads(subprocess.run([sys.executable, "-m", "softmax", "train", "--json", *options],
                                         capture_output=True, text=True, cwd=ROOT, check=True).stdout)
    assert abs(final - expected["final_loss"]) < 1e-9
    assert ran.stdout.splitlines()[0].startswith("iteration 0: loss ")


def test_exported_default_script_prints_the_notes_lines(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(export_script(Config()))
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert "iteration 190: loss 0.786302" in ran.stdout.splitlines()
    assert "training accuracy: 0.49" in ran.stdout
