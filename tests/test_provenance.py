"""Every number traced to its sources, a nudged weight, and the mistakes sandbox."""

import numpy as np
import pytest

from softmax import Config, Run, check_gradient, check_snapshot
from softmax.mistakes import MISTAKES, ShapeMistake, mistaken_gradient, mistaken_run
from softmax.provenance import nudge, terms


@pytest.fixture(scope="module")
def linear():
    run = Run(Config(reg=0.05))
    run.step(30)
    return run.snapshot()


@pytest.fixture(scope="module")
def net():
    run = Run(Config(model="two-layer", hidden=12, iterations=1000))
    run.step(300)
    return run.snapshot()


def test_a_linear_gradient_entry_is_the_sum_of_its_terms(linear):
    t = terms(linear, "W", (1, 2))
    X, dscores = linear.X, linear.parts["dscores"]
    np.testing.assert_array_equal(t.terms, X[:, 1] * dscores[:, 2])  # column d of X times column k of dscores
    assert t.data_sum == pytest.approx(t.terms.sum(), abs=1e-15)
    assert t.total == pytest.approx(t.data_sum + 0.05 * linear.params["W"][1, 2], abs=1e-15)
    assert abs(t.terms[t.largest(1)[0]]) == np.abs(t.terms).max()
    b = terms(linear, "b", (0,))
    assert b.inputs is None and b.data_sum == pytest.approx(dscores[:, 0].sum(), abs=1e-15) and b.reg_part == 0


@pytest.mark.parametrize("name,index", [("W2", (3, 1)), ("b2", (2,)), ("W1", (0, 5)), ("b1", (7,))])
def test_a_net_gradient_entry_is_the_sum_of_its_terms(net, name, index):
    t = terms(net, name, index)
    assert t.data_sum == pytest.approx(t.terms.sum(), abs=1e-14)
    if name in ("W1", "b1"):
        j = index[-1]
        assert t.blocked is not None and (t.terms[t.blocked] == 0).all()
        assert (t.blocked == (net.parts["hidden"][:, j] <= 0)).all()
    if name == "W2":
        np.testing.assert_array_equal(t.inputs, net.parts["hidden"][:, 3])


def test_a_nudge_moves_the_loss_by_about_h_times_the_gradient(linear):
    n = nudge(linear, "W", (0, 1), h=1e-4)
    assert n.change == pytest.approx(n.predicted, rel=1e-2)  # first order: off by about h·curvature
    assert n.numerical == pytest.approx(n.gradient, rel=1e-7)


def test_the_sandbox_without_a_mistake_is_the_real_gradient(linear, net):
    for snap in (linear, net):
        correct = mistaken_gradient(snap, None)
        for name in snap.grads:
            np.testing.assert_allclose(correct[name], snap.grads[name], rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("mistake", ["no-mean", "no-minus-one", "no-reg", "sign-flip"])
def test_each_mistake_reads_wrong_and_off_reads_good_again(linear, mistake):
    grads = mistaken_gradient(linear, mistake)
    check = check_gradient(linear.model, dict(linear.params), linear.X, linear.y, linear.reg, grads)
    if mistake == "sign-flip":  # the gradient is right; the update is what goes wrong
        assert check.passed
        losses = mistaken_run(linear, mistake, 30)
        assert losses[-1] > losses[0]
    else:
        assert not check.passed
    assert check_snapshot(linear).passed


def test_x_where_x_t_belongs_is_explained_not_crashed(linear):
    with pytest.raises(ShapeMistake, match=r"X is \(300, 2\)"):
        mistaken_gradient(linear, "x-not-transposed")


def test_without_the_max_shift_large_scores_overflow():
    run = Run(Config(step_size=1e4, reg=0.0, iterations=1000, dataset="blobs", noise=0.1))
    run.step(20)  # well separated blobs and a huge step: scores in the thousands, yet the loss is ~0
    snap = run.snapshot()
    assert np.abs(snap.parts["scores"]).max() > 710
    grads = mistaken_gradient(snap, "no-max-shift")
    check = check_gradient(snap.model, dict(snap.params), snap.X, snap.y, snap.reg, grads)
    assert not check.passed and check.verdict.startswith("not a number")
    assert np.isnan(mistaken_run(snap, "no-max-shift", 3)).any()
    assert np.isfinite(mistaken_run(snap, None, 3)).all()


def test_a_short_correct_run_is_the_real_run(linear):
    losses = mistaken_run(linear, None, 20)
    run = Run(Config(reg=0.05))
    run.step(30)
    expected = []
    for _ in range(20):
        expected.append(run.result.loss)
        run.step()
    np.testing.assert_allclose(losses, expected, rtol=1e-12)


def test_every_mistake_has_a_title_and_a_reason():
    for m in MISTAKES.values():
        assert m.title and len(m.why) > 40


def test_the_rest_of_the_terms_is_what_the_largest_leave_out(linear):
    t = terms(linear, "W", (0, 1))
    assert t.rest(5) == pytest.approx(t.terms.sum() - t.terms[t.largest(5)].sum(), abs=1e-15)
    assert t.rest(len(t.terms)) == 0.0


def test_a_wrong_gradient_names_its_wrong_entries_worst_first(linear):
    grads = {name: np.array(g) for name, g in linear.grads.items()}
    grads["W"][1, 0] += 0.5  # one entry far off
    grads["b"][2] *= 1.01  # one a little off
    check = check_gradient(linear.model, dict(linear.params), linear.X, linear.y, linear.reg, grads)
    assert check.wrong_entries() == [("W", (1, 0)), ("b", (2,))]
    assert check.wrong_entries(above=0.1) == [("W", (1, 0))]
    assert check_snapshot(linear).wrong_entries() == []
