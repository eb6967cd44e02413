"""The trainer: stepping, the background runner, snapshots, caps and divergence."""

import math
import threading
import time
import warnings

import numpy as np
import pytest

from softmax.config import Config
from softmax.data import DATASETS
from softmax.trainer import TooManyTrainers, Trainer


@pytest.fixture
def trainers():
    made = []

    def make(*args, **kwargs):
        t = Trainer(*args, **kwargs)
        made.append(t)
        return t

    yield make
    for t in made:
        t.stop()


def wait_until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_count_grows_while_running_holds_while_paused(trainers):
    t = trainers(Config(iterations=100_000, speed=500))
    t.start()
    assert wait_until(lambda: t.snapshot.iteration > 20)
    t.pause()
    held = t.snapshot.iteration
    assert not t.snapshot.running
    time.sleep(0.3)
    assert t.snapshot.iteration == held
    t.start()
    assert wait_until(lambda: t.snapshot.iteration > held + 20)


def test_the_snapshot_says_running_from_the_moment_of_start_and_pause(trainers):
    # a slow run: its first step is 1/2 s away, so only start() itself can tell the snapshot
    t = trainers(Config(iterations=100_000, speed=2))
    assert not t.snapshot.running
    t.start()
    assert t.snapshot.running and t.snapshot.iteration == 0
    t.pause()
    assert not t.snapshot.running


def test_snapshots_are_copied_when_read_not_after_every_step(trainers):
    t = trainers(Config(iterations=100_000, speed=10_000))
    copies = []
    publish = t._publish
    t._publish = lambda: (copies.append(1), publish())[1]
    t.start()
    assert wait_until(lambda: t.snapshot.iteration > 2000)  # hundreds of batches of steps
    t.pause()
    reads = len(copies)
    assert t.snapshot.iteration == t.snapshot.iteration  # no copy when nothing changed
    assert len(copies) == reads
    assert reads < 60  # read every 10 ms by wait_until: at most one copy a read, plus the runner's last


def test_single_step_adds_exactly_one_and_reset_returns_to_zero(trainers):
    t = trainers(Config())
    assert t.step().iteration == 1
    assert t.step().iteration == 2
    t.start()
    assert wait_until(lambda: t.snapshot.iteration > 5)
    n = t.step().iteration  # a step while running pauses first
    assert not t.running and t.snapshot.iteration == n
    assert t.step().iteration == n + 1
    first_W = Trainer(Config()).snapshot.W
    snap = t.reset()
    assert snap.iteration == 0 and len(snap.history.iteration) == 1
    np.testing.assert_array_equal(snap.W, first_W)


def test_stop_joins_within_0_2_s(trainers):
    t = trainers(Config(iterations=100_000, speed=10_000, points_per_class=1000, classes=10))
    t.start()
    assert wait_until(lambda: t.snapshot.iteration > 10)
    t0 = time.monotonic()
    t.stop()
    assert time.monotonic() - t0 < 0.2
    assert not any(th.name == "softmax-trainer" and th.is_alive() for th in threading.enumerate())


def test_snapshots_are_immutable(trainers):
    t = trainers(Config())
    snap = t.snapshot
    W = snap.W.copy()
    for name in ("W", "b", "dW", "db", "probs", "dscores", "X", "y"):
        with pytest.raises(ValueError):
            getattr(snap, name)[0] = 1
    with pytest.raises(ValueError):
        snap.history.dW[0, 0, 0] = 1
    t.step(50)
    np.testing.assert_array_equal(snap.W, W)
    assert snap.iteration == 0


def test_fifty_start_stop_cycles_leave_no_thread(trainers):
    before = threading.active_count()
    t = trainers(Config(iterations=100_000, speed=2000))
    for _ in range(50):
        t.start()
        t.stop()
    assert threading.active_count() == before
    assert Trainer.running_count() == 0


def test_iteration_cap_stops_the_runner(trainers):
    t = trainers(Config(iterations=30, speed=10_000))
    t.start()
    assert wait_until(lambda: not t.running and t.snapshot.iteration == 30)
    assert "30-iteration limit" in t.snapshot.stop_reason
    t.start()  # finished: nothing to do
    assert t.snapshot.iteration == 30


def test_wall_time_cap_pauses(trainers):
    t = trainers(Config(iterations=100_000, speed=100), max_seconds=0.3)
    t.start()
    assert wait_until(lambda: not t.running, timeout=3)
    assert "limit" in t.snapshot.stop_reason and 0 < t.snapshot.iteration < 100


def test_process_wide_limit(trainers, monkeypatch):
    monkeypatch.setattr(Trainer, "max_running", 2)
    a, b, c = (trainers(Config(iterations=100_000, speed=100)) for _ in range(3))
    a.start()
    b.start()
    with pytest.raises(TooManyTrainers, match="limit"):
        c.start()
    a.stop()
    c.start()
    assert c.running


def test_new_step_size_and_reg_apply_without_losing_progress(trainers):
    t = trainers(Config())
    t.step(20)
    snap = t.update(t.config.with_changes(step_size=0.1, reg=0.5))
    assert snap.iteration == 20
    assert snap.reg_loss == pytest.approx(0.5 * 0.5 * np.sum(snap.W**2))
    W = snap.W.copy()
    after = t.step()
    np.testing.assert_allclose(after.W, W - 0.1 * snap.dW, rtol=1e-15)
    assert t.update(t.config.with_changes(seed=4)).iteration == 0  # new data: a fresh run


def test_history_stays_bounded_and_ends_at_the_current_iteration(trainers):
    t = trainers(Config(iterations=100_000))
    snap = t.step(5000)
    h = snap.history
    assert len(h.iteration) <= 513
    assert h.iteration[0] == 0 and h.iteration[-1] == 5000
    assert np.all(np.diff(h.iteration) > 0)
    assert h.dW.shape == (len(h.iteration), 2, 3) and h.db.shape == (len(h.iteration), 3)
    np.testing.assert_array_equal(h.dW[-1], snap.dW)
    assert h.loss[-1] == snap.loss


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("step_size", [1e3, 1e6])
def test_huge_steps_diverge_cleanly(dataset, step_size, trainers):
    t = trainers(Config(dataset=dataset, step_size=step_size, iterations=500))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        snaps = [t.step() for _ in range(500) if not t.finished]
    assert snaps[-1].diverged and snaps[-1].stop_reason.startswith("diverged")
    for s in snaps:
        for a in (s.W, s.b, s.dW, s.db, s.probs, s.dscores, s.history.loss, s.history.dW):
            assert np.isfinite(a).all()
        assert math.isfinite(s.loss)
    t.start()  # a diverged run does not restart
    assert not t.running


def test_runaway_weights_never_leave_a_nonfinite_snapshot(trainers):
    """Even past the blow-up threshold, stepping keeps the last finite state."""
    t = trainers(Config(step_size=1e6, reg=10.0, iterations=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(200):
            t._diverged = False  # force stepping on: overflow must be caught, not shown
            snap = t.step()
            assert np.isfinite(snap.W).all() and math.isfinite(snap.loss)
            assert np.isfinite(snap.probs).all() and np.isfinite(snap.history.loss).all()
        assert "infinite" in snap.stop_reason


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("name", ["step_size", "reg", "noise", "speed"])
def test_nonfinite_hyperparameters_are_a_value_error_naming_them(name, bad):
    with pytest.raises(ValueError, match=name):
        Config(**{name: bad})


def test_suspend_and_resume_keep_a_run_through_a_dropped_connection(trainers):
    t = trainers(Config(iterations=100_000, speed=500))
    t.start()
    assert wait_until(lambda: t.snapshot.iteration > 10)
    t.suspend()
    held = t.snapshot.iteration
    assert not t.running
    time.sleep(0.2)
    assert t.snapshot.iteration == held
    t.resume()
    assert t.running
    assert wait_until(lambda: t.snapshot.iteration > held + 10)
    t.pause()
    t.suspend()  # suspended while paused: resume leaves it paused
    t.resume()
    assert not t.running
