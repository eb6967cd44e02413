"""A run: its random streams, its log of mid-run changes, replay, checkpoints, minibatches, optimizers."""

import numpy as np
import pytest

from softmax import Change, Config, Run, replay
from softmax.optim import OPTIMIZERS


def params_of(run):
    return {name: a.copy() for name, a in run.params.items()}


def assert_same(a, b, tol=0.0):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=tol)


@pytest.mark.parametrize("model", ["linear", "two-layer"])
def test_batch_size_and_optimizer_never_change_the_data_or_the_initial_weights(model):
    base = Run(Config(model=model, hidden=10))
    for changes in ({"batch_size": 16}, {"optimizer": "adam"}, {"optimizer": "momentum", "batch_size": 1}):
        other = Run(Config(model=model, hidden=10, **changes))
        np.testing.assert_array_equal(other.X, base.X)
        np.testing.assert_array_equal(other.theta, base.theta)


def test_minibatches_come_from_their_own_seeded_stream():
    a, b = Run(Config(batch_size=10)), Run(Config(batch_size=10))
    a.step(30)
    b.step(30)
    np.testing.assert_array_equal(a.theta, b.theta)  # reproducible
    c = Run(Config(batch_size=10, seed=1))
    assert not np.array_equal(c.X, a.X)
    full = Run(Config())
    full.step(30)
    assert not np.allclose(full.theta, a.theta)  # a minibatch is not the whole set


def test_a_minibatch_update_uses_the_batch_gradient_and_the_shown_loss_is_the_whole_sets():
    run = Run(Config(batch_size=7))
    rng = np.random.RandomState([0, 7919])
    idx = rng.randint(300, size=7)
    batch = run.model.workspace(run.X[idx], run.y[idx], 3)
    batch.run(run.theta, run.config.reg)
    expected = run.theta - 1.0 * batch.grad
    snap = run.snapshot()
    np.testing.assert_array_equal(snap.next_params["W"].ravel(), expected[:6])  # peeking draws nothing
    run.step()
    np.testing.assert_array_equal(run.theta, expected)
    whole = run.model.workspace(run.X, run.y, 3).run(run.theta, run.config.reg)
    assert run.result.loss == whole.loss


def test_a_change_is_logged_and_applies_from_the_next_update():
    run = Run(Config(iterations=1000))
    run.step(50)
    run.change(run.config.with_changes(step_size=0.1))
    run.step(10)
    run.change(run.config.with_changes(reg=0.0, optimizer="momentum"))
    run.change(run.config.with_changes(batch_size=5))  # same iteration: one entry
    assert run.log == [Change(50, {"step_size": 0.1}), Change(60, {"reg": 0.0, "optimizer": "momentum",
                                                                   "batch_size": 5})]
    assert run.log[1].to_text() == "60:optimizer=momentum,reg=0,batch_size=5"  # table order
    run.change(run.config.with_changes(iterations=900, speed=10.0))  # run settings are not logged
    assert len(run.log) == 2
    with pytest.raises(ValueError, match="new data or weights"):
        run.change(run.config.with_changes(seed=3))


def test_replay_reaches_every_iteration_exactly():
    live = Run(Config(iterations=400))
    seen = {}
    for i in range(400):
        if i == 50:
            live.change(live.config.with_changes(step_size=0.3))
        if i == 200:
            live.change(live.config.with_changes(optimizer="adam", step_size=0.01, batch_size=32))
        if i in (0, 49, 50, 51, 120, 199, 200, 201, 333):
            seen[i] = (params_of(live), live.result.loss)
        live.step()
    for i, (params, loss) in seen.items():
        again = replay(Config(iterations=400), live.log, i)
        assert again.iteration == i
        assert_same(params_of(again), params, tol=1e-12)
        assert again.result.loss == pytest.approx(loss, rel=1e-12)


def test_going_back_in_time_is_exact():
    """The issue's test: an iteration reached by going back equals the same iteration reached by training
    straight there, to 1e-12 in every parameter; with a step-size change at 50, iteration 120 from the view,
    from a replay of the log (a link) and from the live run agree."""
    live = Run(Config(iterations=100_000))
    seen = {}
    for i in range(3000):
        if i == 50:
            live.change(live.config.with_changes(step_size=0.3))
        if i in (0, 1, 50, 120, 777, 2048, 2999):
            seen[i] = params_of(live)
        live.step()
    for i, params in seen.items():
        snap = live.view(i)
        assert snap.iteration == i and snap.history.iteration[-1] == i
        assert_same(dict(snap.params), params, tol=1e-12)
    assert_same(params_of(replay(Config(iterations=100_000), live.log, 120)), seen[120], tol=1e-12)
    assert live.iteration == 3000  # viewing changed nothing
    assert live.view(3000).iteration == 3000


def test_rewind_drops_the_future_and_trains_on_from_there():
    run = Run(Config(iterations=1000))
    run.step(100)
    run.change(run.config.with_changes(step_size=0.2))
    run.step(100)
    run.change(run.config.with_changes(reg=0.01))
    run.step(50)
    straight = Run(Config(iterations=1000))
    straight.step(100)
    straight.change(straight.config.with_changes(step_size=0.2))
    straight.step(30)
    run.rewind(130)
    assert run.iteration == 130 and run.log == [Change(100, {"step_size": 0.2})]
    assert_same(params_of(run), params_of(straight), tol=0.0)
    assert run.snapshot().history.iteration[-1] == 130 and run.config.reg == 1e-3
    run.step(10)
    straight.step(10)
    assert_same(params_of(run), params_of(straight), tol=0.0)


def test_checkpoints_stay_bounded_on_a_long_run():
    run = Run(Config(iterations=100_000))
    run.step(100_000)
    assert len(run.checkpoints) <= run._capacity
    gaps = np.diff([c.iteration for c in run.checkpoints])
    assert gaps.max() <= 100_000 // (run._capacity // 2)  # a jump replays a few hundred steps at most
    snap = run.view(54_321)
    again = replay(Config(iterations=100_000), [], 54_321)
    assert_same(dict(snap.params), params_of(again), tol=1e-12)


def kept_to(run, iterations):
    """The checkpoints a run keeps on its way to ``iterations`` (the weights stay: only their number and
    bytes matter here, and no step is taken)."""
    for i in range(1, iterations + 1):
        if i % run._spacing == 0:
            run.iteration = i
            run._keep_checkpoint()
    return run


@pytest.mark.parametrize("model, K, optimizer", [("two-layer", 3, "sgd"), ("two-layer", 10, "sgd"),
                                                 ("two-layer", 10, "adam"), ("linear", 10, "sgd")])
def test_checkpoints_at_100000_iterations_fit_the_byte_cap_and_replay_one_interval_in_budget(model, K, optimizer):
    from softmax.run import CHECKPOINT_MAX_BYTES, MAX_ITERATIONS, REPLAY_SECONDS, checkpoint_bytes

    run = Run(Config(model=model, classes=K, dataset="spiral" if K == 3 else "blobs", optimizer=optimizer,
                     iterations=MAX_ITERATIONS))
    run.step(1)  # the optimizer's state exists (Adam's m and v: three times theta a checkpoint)
    kept_to(run, MAX_ITERATIONS)
    marks = [c.iteration for c in run.checkpoints]
    assert marks == list(range(0, MAX_ITERATIONS + 1, run._spacing))
    assert run._checkpoint_bytes == sum(map(checkpoint_bytes, run.checkpoints)) <= CHECKPOINT_MAX_BYTES
    assert len(marks) <= run._capacity
    assert all("scratch" not in c.optimizer for c in run.checkpoints)  # sgd's buffer is no state
    replay_s = (run._spacing - 1) * run.step_seconds()  # the most a view replays (estimated)
    if (model, K, optimizer) == ("two-layer", 10, "sgd"):  # N = 1000: the byte cap decides
        assert run._spacing == 256 and run._checkpoint_bytes > CHECKPOINT_MAX_BYTES / 2 and replay_s < 0.25
    elif optimizer == "adam":
        assert run._spacing == 1024  # three arrays a checkpoint
    else:
        assert replay_s <= REPLAY_SECONDS, (run._spacing, run.step_seconds())
    assert run.step_seconds() < 1e-3 or model == "two-layer"


def test_a_nets_view_at_ten_classes_is_the_run_trained_straight_there():
    config = Config(model="two-layer", classes=10, dataset="blobs", points_per_class=20, hidden=30, iterations=4000)
    run = Run(config)
    run.step(4000)
    assert 32 <= run._spacing <= 128 and len(run.checkpoints) > 30
    for target in (1, 1000 + run._spacing - 1, 3001):
        snap = run.view(target)
        again = replay(config, [], target)
        assert snap.iteration == target
        assert_same(dict(snap.params), params_of(again), tol=1e-12)
        assert snap.loss == pytest.approx(again.result.loss, abs=1e-12)
        assert snap.accuracy == again.result.accuracy


def test_log_text_round_trips_and_bad_parts_are_left_out_with_a_notice():
    from softmax.points import add, move
    from softmax.snapshot import log_text, parse_log

    log = [Change(0, {"step_size": 0.5}), Change(50, {"reg": 0.0, "optimizer": "adam"}, (add(0.25, -1.5, 2),)),
           Change(51, {}, (move(3, 0.1, 0.2),))]
    text = log_text(log)
    assert parse_log(text, 1000) == (log, [])
    for bad in ("x:step_size=1", "5:step_size=fast", "5:seed=3", "9:step_size=1;3:reg=0", "5:q12"):
        changes, notices = parse_log(bad, 1000)
        assert notices and all(c.iteration <= 9 for c in changes)


def test_a_new_optimizer_starts_from_a_fresh_state():
    run = Run(Config(optimizer="momentum"))
    run.step(5)
    assert np.any(run.optimizer["velocity"])
    run.change(run.config.with_changes(optimizer="adam"))
    assert set(run.optimizer) == {"learning_rate"}  # no velocity, no running averages
    run.change(run.config.with_changes(step_size=0.5))
    assert run.optimizer["learning_rate"] == 0.5


def quadratic_grad(w):
    """f(w) = 0.5 * w.T A w - c.w: a small quadratic whose gradient is A w - c."""
    A = np.array([[3.0, 0.5], [0.5, 1.0]])
    return A @ w - np.array([1.0, -2.0])


def test_sgd_is_the_textbook_formula():
    w = np.array([1.0, 2.0])
    state = {"learning_rate": 0.1}
    for _ in range(3):
        expected = w - 0.1 * quadratic_grad(w)
        w, state = OPTIMIZERS["sgd"](w, quadratic_grad(w), state)
        np.testing.assert_array_equal(w, expected)


def test_momentum_is_the_textbook_formula():
    w, v = np.array([1.0, 2.0]), np.zeros(2)
    ours, state = w.copy(), {"learning_rate": 0.1}
    for _ in range(5):
        v = 0.9 * v - 0.1 * quadratic_grad(w)
        w = w + v
        ours, state = OPTIMIZERS["momentum"](ours, quadratic_grad(ours), state)
        np.testing.assert_allclose(ours, w, rtol=1e-15)


def test_adam_is_the_textbook_formula():
    w, m, v = np.array([1.0, 2.0]), np.zeros(2), np.zeros(2)
    ours, state = w.copy(), {"learning_rate": 0.05}
    for t in range(1, 8):
        g = quadratic_grad(w)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        ours, state = OPTIMIZERS["adam"](ours, quadratic_grad(ours), state)
        np.testing.assert_allclose(ours, w, rtol=1e-14)
    assert state["t"] == 7


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_trains_the_case_study(name):
    step = {"sgd": 1.0, "momentum": 0.3, "adam": 0.05}[name]
    run = Run(Config(optimizer=name, step_size=step, iterations=300))
    run.step(300)
    assert not run.diverged and run.result.loss < 0.8


def test_views_dragged_either_way_replay_a_few_steps_and_equal_training_straight_there():
    """A view keeps the states its replay passed (8 times as dense as the checkpoints, the last 16): the next
    view nearby replays from the nearest of them. Minibatches (their stream's state) and a change mid-way
    come along; a rewind makes those states stale."""
    config = Config(model="two-layer", hidden=20, batch_size=16, iterations=3000)
    run = Run(config)
    run.step(1000)
    run.change(run.config.with_changes(step_size=0.5))
    run.step(2000)
    spacing = run._spacing
    assert spacing >= 16
    start = 1000 - 3  # the change at 1000 lies ahead
    run.view(start)
    s = run._scratch
    steps = []
    s._step = lambda real=s._step: (steps.append(1), real())[1]
    fine = spacing // 8
    # forward from the last view, back a little, forward over the change: never a whole interval
    for target, most in ((start + 1, fine), (start + 9, 8), (start - 1, fine), (start + 5, fine), (start + 30, 30)):
        steps.clear()
        snap = run.view(target)
        assert len(steps) <= min(most, spacing - 1), (target, len(steps))
        straight = replay(config, run.log, target)
        assert_same(dict(snap.params), params_of(straight), tol=1e-12)
        assert snap.config.step_size == straight.config.step_size
    run.rewind(1500)
    run.change(run.config.with_changes(step_size=0.25))
    run.step(500)
    for target in (1400, 1700, start + 9):
        snap = run.view(target)
        assert_same(dict(snap.params), params_of(replay(config, run.log, target)), tol=1e-12)
