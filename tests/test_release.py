"""A whole class dropping at once must not freeze the server (issue #12, item 1).

Streamlit calls the session-release hook on its event loop, the thread that serves every
connection. The hook used to pause each run and join its thread (up to 1 s each): 50 sessions
dropped at once held every other student for seconds. Now it only signals, and the training
threads end by themselves.

These tests check that mechanism: the hook never joins a thread (in-process, and in a real
server whose joins on the event loop are counted), and the runs do end (threads back to their
baseline). The latencies a student would see are measured by bench/mass_disconnect.py.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from softmax.config import Config
from softmax.limits import ServerLimits
from softmax.runner import Trainer
from testing.hostile import Tab, serve
from testing.support import ROOT, thread_count
from ui.sessions import Registry, Seat

LARGEST = Config(points_per_class=500, classes=10, speed=10_000, iterations=100_000)  # 5 000 points, fastest


def wait_for(condition, timeout: float = 60.0, what: str = "") -> None:
    """Poll until ``condition()`` (a liveness check with a generous bound, not a latency assert)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


@pytest.fixture
def no_joins(monkeypatch):
    """Records every Thread.join called from this thread (the test plays Streamlit's event loop)."""
    joins: list[str] = []
    me = threading.current_thread()
    real = threading.Thread.join

    def join(self, timeout=None):
        if threading.current_thread() is me:
            joins.append(self.name)
        return real(self, timeout)

    monkeypatch.setattr(threading.Thread, "join", join)
    return joins


def test_releasing_fifty_running_sessions_joins_no_thread_and_every_run_ends(no_joins):
    Trainer.max_running = 100
    registry = Registry(ServerLimits(max_running=100, max_running_per_address=100))
    seats = [Seat(Trainer(LARGEST), "10.0.0.1") for _ in range(50)]
    before = threading.active_count()
    try:
        for seat in seats:
            registry.connect(seat, id(seat))
            registry.start(seat)
        assert Trainer.running_count() == 50
        for seat in seats:  # what Streamlit does when 50 websockets close at once
            registry.release(seat, id(seat))
        assert no_joins == [], f"the release hook joined {len(no_joins)} threads on the event loop"
        assert not any(seat.trainer.running for seat in seats)  # signalled: running is False at once
        wait_for(lambda: Trainer.running_count() == 0 and threading.active_count() <= before,
                 what="the 50 training threads to end by themselves")
    finally:
        for seat in seats:
            seat.trainer.stop()
        Trainer.max_running = 64


def test_a_reconnect_right_after_the_release_counts_its_run_once():
    """The training thread may still be taking the run's last batch when the page comes back and the
    run starts again: the registry of running trainers must end up holding it exactly once."""
    Trainer.max_running = 64
    trainer = Trainer(LARGEST)
    try:
        for _ in range(20):
            trainer.start()
            trainer.suspend()
            trainer.resume()  # at once: a batch may be in progress
            assert trainer.running and Trainer.running_count() == 1
        trainer.suspend()
        wait_for(lambda: Trainer.running_count() == 0, what="the run to end")
    finally:
        trainer.stop()


# -- a real server ------------------------------------------------------------------------------
# The page is served with Thread.join wrapped so that joins made on the server's main thread (where
# uvicorn runs the event loop, and Streamlit the release hooks) are counted in a file.
SPY = ROOT / "test-artifacts" / "joins-on-event-loop.txt"
SPY_APP = '''
import threading, pathlib
_real = threading.Thread.join
def _join(self, timeout=None):
    if threading.current_thread() is threading.main_thread() and self.name == "softmax-trainer":
        with open(%r, "a") as f:
            f.write(self.name + "\\n")
    return _real(self, timeout)
threading.Thread.join = _join

import streamlit as st
from softmax.limits import ServerLimits
from ui import server

app = st.App(%r, middleware=server.middleware(ServerLimits.from_env()))
'''
HEAVY = "points_per_class=500&classes=10&speed=1000&iterations=100000&refresh=1"  # the largest run


async def drop_fifty(base: str, pid: int) -> dict:
    idle = thread_count(pid)
    tabs = [Tab(base, HEAVY) for _ in range(50)]
    for i in range(0, 50, 10):
        await asyncio.gather(*(t.open(timeout=120) for t in tabs[i : i + 10]))
    for t in tabs:
        await t.click("Start", timeout=120)
    await asyncio.gather(*(t.wait_until(lambda s: bool(s.auto_reruns), 120, "Start") for t in tabs))
    # every run trains: each page's refreshes show its iteration moving (on the one training thread)
    for t in tabs:
        t.follow()
    await asyncio.gather(*(t.wait_until(lambda s: (s.iteration or 0) > 0, 120, "a step") for t in tabs))
    training = thread_count(pid)
    for t in tabs:
        t.abort()
    deadline = time.monotonic() + 60
    while thread_count(pid) > idle + 2 and time.monotonic() < deadline:  # + Streamlit's own pool growth
        await asyncio.sleep(0.2)
    return {"idle": idle, "training": training, "after": thread_count(pid)}


@pytest.mark.slow
def test_fifty_running_sessions_dropped_at_once_in_a_real_server():
    SPY.parent.mkdir(exist_ok=True)
    SPY.unlink(missing_ok=True)
    wrapper = ROOT / "test-artifacts" / "spy_app.py"
    wrapper.write_text(SPY_APP % (str(SPY), str(ROOT / "ui" / "page.py")))
    env = {"SOFTMAX_MAX_RUNNING": "60", "PYTHONPATH": str(ROOT)}
    with serve(app=str(wrapper), env=env) as (base, proc):
        counts = asyncio.run(asyncio.wait_for(drop_fifty(base, proc.pid), 600))
        assert proc.poll() is None, "the server died"
    joins = SPY.read_text().splitlines() if SPY.exists() else []
    print(f"\nthreads: {counts}; joins of training threads on the event loop: {len(joins)}")
    assert counts["training"] < counts["idle"] + 10, f"a thread per run? {counts}"
    assert counts["after"] <= counts["idle"] + 2, f"training threads left after the drop: {counts}"
    assert joins == [], f"{len(joins)} training threads joined on the server's event loop"
