"""The trainer: stepping, the background runner, snapshots, caps and divergence."""

import math
import threading
import time
import warnings

import numpy as np
import pytest

from softmax.config import Config
from softmax.data import DATASETS
from softmax.runner import TooManyTrainers, Trainer


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


def no_training_thread():
    return not any(th.name == "softmax-trainer" for th in threading.enumerate())


def test_count_grows_while_running_holds_while_paused(trainers):
    t = trainers(Config(iterations=100_000, speed=500))
    t.start()
    assert wait_until(lambda: t.snapshot.iteration > 20)
    t.pause()
    held = t.snapshot.iteration
    assert not t.snapshot.running
    # pause() returned with no step in progress: nothing steps the run any more, however long one waits
    assert not t.running
    time.sleep(0.1)
    assert t.snapshot.iteration == t._run.iteration == held
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
    reads = 0
    while t.snapshot.iteration < 2000:  # hundreds of batches of steps
        reads += 1
        time.sleep(0.01)
    t.pause()
    assert len(copies) <= reads + 2  # at most one copy a read (plus start's and pause's)
    before = len(copies)
    first, second = t.snapshot, t.snapshot
    assert first is second  # nothing changed: no copy
    assert len(copies) == before + 1  # the pause made it stale once


def test_single_step_adds_exactly_one_and_reset_returns_to_zero(trainers):
    t = trainers(Config())
    assert t.step().iteration == 1
    assert t.step().iteration == 2
    t.start()
    assert wait_until(lambda: t.snapshot.iteration > 5)
    n = t.step().iteration  # a step while running pauses first
    assert not t.running and t.snapshot.iteration == n
    assert t.step().iteration == n + 1
    first_W = Trainer(Config()).snapshot.params["W"]
    snap = t.reset()
    assert snap.iteration == 0 and len(snap.history.iteration) == 1
    np.testing.assert_array_equal(snap.params["W"], first_W)


@pytest.mark.parametrize("n", [1, 2, 7, 50])
def test_step_n_takes_exactly_n_and_the_cap_is_exact(trainers, n):
    t = trainers(Config(iterations=60))
    assert t.step(n).iteration == n
    assert t.step(1000).iteration == 60  # never past the cap
    assert t.finished and "60-iteration limit" in t.snapshot.stop_reason
    assert t.step().iteration == 60


def test_stop_returns_with_no_step_in_progress_and_the_thread_ends(trainers):
    t = trainers(Config(iterations=100_000, speed=10_000, points_per_class=1000, classes=10))
    t.start()
    assert wait_until(lambda: t.snapshot.iteration > 10)
    t.stop()
    held = t._run.iteration
    assert wait_until(lambda: not any(th.name == "softmax-trainer" and th.is_alive() for th in threading.enumerate()))
    assert t._run.iteration == held and t.snapshot.iteration == held and not t.snapshot.running


def test_one_thread_trains_every_running_run(trainers):
    """Runs share the process's training thread: no thread per run, and each keeps its own speed."""
    assert wait_until(no_training_thread)  # (an earlier test's may still be ending)
    before = threading.active_count()
    runs = [trainers(Config(iterations=100_000, speed=speed)) for speed in (100, 100, 400, 400)]
    for t in runs:
        t.start()
    assert wait_until(lambda: runs[0].snapshot.iteration >= 40)
    assert threading.active_count() == before + 1
    assert sum(th.name == "softmax-trainer" for th in threading.enumerate()) == 1
    slow, fast = [t.snapshot.iteration for t in runs[:2]], [t.snapshot.iteration for t in runs[2:]]
    assert min(fast) > 2 * max(slow)  # (four times as fast: twice leaves room for a busy machine)
    for t in runs:
        t.pause()
    assert wait_until(lambda: threading.active_count() == before)


def test_suspend_never_waits_for_the_thread(trainers):
    """A server calls suspend() on the event loop that serves every page: it must only signal."""
    t = trainers(Config(iterations=100_000, speed=1000))
    t.start()
    assert wait_until(lambda: t.snapshot.iteration > 5)
    with t._lock:  # as if the training thread were in a batch of this run: waiting for it would hang
        done = threading.Event()
        caller = threading.Thread(target=lambda: (t.suspend(), done.set()))
        caller.start()
        assert done.wait(5), "suspend() waited for the training thread"
        assert not t.running and Trainer.running_count() == 0
    caller.join()
    held = t._run.iteration
    time.sleep(0.1)
    assert t._run.iteration == held


def test_snapshots_are_immutable(trainers):
    t = trainers(Config())
    snap = t.snapshot
    W = snap.params["W"].copy()
    arrays = [snap.X, snap.y, snap.theta, *snap.params.values(), *snap.grads.values(), *snap.grads_data.values(),
              *snap.grads_reg.values(), *snap.next_params.values(), *snap.parts.values(),
              *snap.history.grads.values(), snap.history.loss]
    for a in arrays:
        with pytest.raises(ValueError):
            a.flat[0] = 1
    with pytest.raises(TypeError):
        snap.params["W"] = W
    t.step(50)
    np.testing.assert_array_equal(snap.params["W"], W)
    assert snap.iteration == 0


def test_fifty_start_stop_cycles_leave_no_thread(trainers):
    assert wait_until(no_training_thread)  # (an earlier test's may still be ending)
    before = threading.active_count()
    t = trainers(Config(iterations=100_000, speed=2000))
    for _ in range(50):
        t.start()
        t.stop()
    assert wait_until(lambda: threading.active_count() == before)
    assert Trainer.running_count() == 0


def test_iteration_cap_stops_the_runner(trainers):
    t = trainers(Config(iterations=30, speed=10_000))
    t.start()
    assert wait_until(lambda: not t.running and t.snapshot.iteration == 30)
    assert "30-iteration limit" in t.snapshot.stop_reason
    assert t.start() is False  # finished: nothing to do, and the caller is told
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
    assert snap.reg_loss == pytest.approx(0.5 * 0.5 * np.sum(snap.params["W"] ** 2))
    W = snap.params["W"].copy()
    after = t.step()
    np.testing.assert_array_equal(after.params["W"], W - 0.1 * snap.grads["W"])
    np.testing.assert_array_equal(after.params["W"], snap.next_params["W"])
    assert t.update(t.config.with_changes(seed=4)).iteration == 0  # new data: a fresh run


def test_history_stays_bounded_and_ends_at_the_current_iteration(trainers):
    t = trainers(Config(iterations=100_000))
    snap = t.step(5000)
    h = snap.history
    assert len(h.iteration) <= 1025 and len(h.grad_iteration) <= 513
    assert h.iteration[0] == 0 and h.iteration[-1] == 5000 and h.grad_iteration[-1] == 5000
    assert np.all(np.diff(h.iteration) > 0)
    G = len(h.grad_iteration)
    assert h.grads["W"].shape == (G, 2, 3) and h.grads["b"].shape == (G, 3)
    np.testing.assert_array_equal(h.grads["W"][-1], snap.grads["W"])
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
        for a in (s.theta, *s.grads.values(), *s.parts.values(), s.history.loss, *s.history.grads.values()):
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
            t._run.diverged = False  # force stepping on: overflow must be caught, not shown
            snap = t.step()
            assert np.isfinite(snap.theta).all() and math.isfinite(snap.loss)
            assert np.isfinite(snap.parts["probs"]).all() and np.isfinite(snap.history.loss).all()
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
    assert not t.running
    with t._lock:  # once a batch in progress has ended, the run holds
        held = t._run.iteration
    time.sleep(0.1)
    assert t._run.iteration == t.snapshot.iteration == held
    t.resume()
    assert t.running
    assert wait_until(lambda: t.snapshot.iteration > held + 10)
    t.pause()
    t.suspend()  # suspended while paused: resume leaves it paused
    t.resume()
    assert not t.running


def test_the_training_thread_rests_to_keep_its_share(monkeypatch):
    monkeypatch.setattr(Trainer, "train_share", 0.2)
    assert Trainer._rest(0.01) == pytest.approx(0.01 * (1 / 0.2 - 1))  # works 20 % of the time
    monkeypatch.setattr(Trainer, "train_share", float("inf"))
    assert Trainer._rest(0.01) == 0.0  # no share set: no rest beyond the pacing


def test_the_training_thread_rests_its_share_after_each_round(trainers, monkeypatch):
    """A heavy run with a small share: after each round of work the thread waits the rest that keeps its share."""
    import softmax.runner as runner

    waits = []

    class Recording(threading.Event):
        def wait(self, timeout=None):
            waits.append(timeout)
            return super().wait(min(timeout or 0, 0.05))

    monkeypatch.setattr(runner._pacer, "_wake", Recording())
    monkeypatch.setattr(Trainer, "train_share", 0.05)
    t = trainers(Config(points_per_class=2000, classes=10, speed=10_000, iterations=100_000))
    t.start()
    assert wait_until(lambda: len(waits) > 20)
    t.pause()
    long = [w for w in waits if w and w > 0.02]  # more than the pacing alone ever asks
    assert len(long) >= len(waits) // 2, waits[:20]
