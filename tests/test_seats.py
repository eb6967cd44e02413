"""What one client may take of a process (ui/sessions.py; issue #12, item 4), in-process.

Runs training at once per client address, the refresh budget shared by address first, the
pacing of a session's runs and of an address's clicks, and the cap on disconnected pages whose
run is kept for a reconnect.
"""

from __future__ import annotations

import asyncio
import time
import weakref

import pytest

from softmax.config import Config
from softmax.limits import MAX_ADDRESS_FRACTION, ServerLimits
from softmax.runner import TooManyTrainers, Trainer
from testing.hostile import Tab, serve
from ui import sessions
from ui.sessions import ADDRESS_BURST, FULL_RUN, LOCAL, Registry, Seat, pace

SLOW = Config(speed=1.0, iterations=100_000)  # runs that stay running and cost nothing


@pytest.fixture
def registry():
    Trainer.max_running = 1000
    registry = Registry(ServerLimits(max_running=1000, max_running_per_address=3, max_parked=2))
    yield registry
    for t in list(Trainer._running):
        t.stop()
    Trainer.max_running = 64


def seat(registry: Registry, address: str, start: bool = False) -> Seat:
    s = Seat(Trainer(SLOW), address)
    registry.connect(s, id(s))
    if start:
        registry.start(s)
    return s


def test_one_address_runs_at_most_its_share_of_slots(registry):
    mine = [seat(registry, "203.0.113.7", start=True) for _ in range(3)]
    extra = seat(registry, "203.0.113.7")
    with pytest.raises(TooManyTrainers, match="per address"):
        registry.start(extra)
    other = seat(registry, "198.51.100.9", start=True)  # another address is not affected
    assert registry.running_by_address() == {"203.0.113.7": 3, "198.51.100.9": 1} and other.trainer.running
    mine[0].trainer.pause()
    registry.start(extra)  # a slot of its own address came free
    assert extra.trainer.running


def test_the_server_host_itself_is_not_limited_per_address(registry):
    local = [seat(registry, LOCAL, start=True) for _ in range(5)]
    assert all(s.trainer.running for s in local)


def test_streaming_pages_share_the_stream_budget_and_rerunning_pages_the_refresh_budget():
    """A frame on the live stream costs a few ms, a fragment run 15-20: each path has its own budget,
    shared the same way (100 students streaming at the defaults: 2.5 frames/s each, 0.6 reruns/s)."""
    registry = Registry(ServerLimits(max_running=1000, max_running_per_address=1000, refresh_budget=60,
                                     stream_budget=250))
    Trainer.max_running = 1000
    try:
        class_ = [seat(registry, f"198.51.100.{i}", start=True) for i in range(100)]
        assert registry.refresh_rate(class_[0], 5, streaming=True) == pytest.approx(2.5)
        assert registry.refresh_rate(class_[0], 5) == pytest.approx(0.6)
        assert registry.refresh_rate(class_[0], 2, streaming=True) == 2  # never above the page's setting
        for s in class_[50:]:
            s.trainer.pause()
        assert registry.refresh_rate(class_[0], 5, streaming=True) == 5  # 50 left: 250 / 50
    finally:
        for t in list(Trainer._running):
            t.stop()
        Trainer.max_running = 64


def test_a_crowd_from_one_address_leaves_a_student_elsewhere_at_least_two_refreshes_a_second():
    registry = Registry(ServerLimits(max_running=1000, max_running_per_address=1000))
    Trainer.max_running = 1000
    try:
        crowd = [seat(registry, "203.0.113.7", start=True) for _ in range(80)]
        student = seat(registry, "198.51.100.9", start=True)
        limits = registry.limits
        student_rate = registry.refresh_rate(student, 5)
        crowd_total = sum(registry.refresh_rate(s, 10) for s in crowd)
        assert student_rate >= 2.0
        assert crowd_total <= limits.refresh_budget * MAX_ADDRESS_FRACTION + 1e-9
        # alone, the same crowd (a classroom behind one NAT address) gets the whole budget
        student.trainer.pause()
        assert sum(registry.refresh_rate(s, 10) for s in crowd) == pytest.approx(limits.refresh_budget)
    finally:
        for t in list(Trainer._running):
            t.stop()
        Trainer.max_running = 64


def test_pages_that_left_keep_their_runs_up_to_the_cap_then_the_oldest_is_set_aside(registry):
    seats = [seat(registry, "203.0.113.7") for _ in range(4)]
    for s in seats:
        registry.release(s, id(s))
    assert [s.trainer is None for s in seats] == [True, True, False, False]
    assert [s.set_aside for s in seats] == [True, True, False, False]
    assert registry.parked() == 2
    registry.connect(seats[2], id(seats[2]))  # a page came back: it is no longer parked, its run intact
    assert registry.parked() == 1 and seats[2].trainer is not None


def test_a_reconnect_that_overtakes_the_old_release_keeps_the_run(registry):
    """Streamlit may release the old connection's lease after the reconnect made a new one: that
    late release must neither pause the run of the page that is back nor park it."""
    s = Seat(Trainer(SLOW), "203.0.113.7")
    registry.connect(s, 1)
    registry.start(s)
    registry.connect(s, 2)  # the reconnect
    registry.release(s, 1)  # the old connection's release, late
    assert s.trainer.running and registry.parked() == 0
    registry.release(s, 2)
    assert not s.trainer.running and registry.parked() == 1


@pytest.fixture
def clock(monkeypatch):
    """A fake clock: time moves only when the code sleeps (and when the test says so)."""
    now = [1000.0]
    slept: list[float] = []
    monkeypatch.setattr(sessions.time, "monotonic", lambda: now[0])

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(sessions, "_sleep", sleep)
    return now, slept


def test_a_session_asking_faster_than_its_rate_waits_for_it(clock):
    now, slept = clock
    state: dict = {}
    waits = [pace("refresh", 5.0, 2.0, state) for _ in range(12)]  # a client asking back to back
    assert waits[:2] == [0.0, 0.0]  # the burst
    assert waits[2:] == [pytest.approx(0.2)] * 10  # then exactly its rate
    # a page that follows its interval never waits
    state.clear()
    slept.clear()
    for _ in range(20):
        now[0] += 0.2
        assert pace("refresh", 5.0, 2.0, state) == 0.0
    assert slept == []


def test_an_address_shares_one_allowance_of_runs_its_share_of_the_budget(clock):
    now, _ = clock
    registry = Registry(ServerLimits(refresh_budget=60))
    rate = registry.address_rate("203.0.113.7")  # alone: the whole budget
    assert rate == 60
    waits = [registry.pace_address("203.0.113.7", FULL_RUN) for _ in range(int(ADDRESS_BURST / FULL_RUN) + 20)]
    assert all(w == 0 for w in waits[: int(ADDRESS_BURST / FULL_RUN)])
    assert waits[-1] == pytest.approx(FULL_RUN / rate)  # (the fake clock moved with each wait)
    assert registry.pace_address("198.51.100.9") == 0.0  # another address has its own
    assert all(registry.pace_address(LOCAL) == 0.0 for _ in range(1000))  # the host itself: not paced


def test_an_address_with_many_runs_gets_its_weighted_share(registry):
    registry.limits = ServerLimits(max_running=1000, max_running_per_address=1000, refresh_budget=60,
                                   address_share=25)
    crowd = [seat(registry, "203.0.113.7", start=True) for _ in range(40)]
    student = seat(registry, "198.51.100.9", start=True)
    assert registry.address_rate("203.0.113.7") == pytest.approx(60 * MAX_ADDRESS_FRACTION)
    assert registry.address_rate("198.51.100.9") == pytest.approx(60 / 26)
    assert registry.address_rate("192.0.2.1") == pytest.approx(60 / 27)  # an address with nothing running
    assert len(crowd) == 40 and student.trainer.running


def test_a_run_set_aside_is_freed(registry):
    s = seat(registry, "203.0.113.7", start=True)
    registry.limits = ServerLimits(max_running=1000, max_parked=0)
    ref = weakref.ref(s.trainer)
    registry.release(s, id(s))
    assert s.trainer is None and s.set_aside
    deadline = time.monotonic() + 30
    while ref() is not None and time.monotonic() < deadline:  # its thread ends by itself first
        time.sleep(0.05)
    assert ref() is None, "something still holds the run set aside"


@pytest.mark.slow
def test_a_page_whose_run_was_set_aside_starts_again_and_says_so():
    """SOFTMAX_MAX_PARKED=0: a page that drops loses its run at once; when it reconnects (same
    session) it trains again from iteration 0 with its settings, and the page says why."""
    async def scenario(base):
        tab = Tab(base, "speed=200&iterations=100000&seed=7")
        await tab.open()
        await tab.click("Start")
        tab.follow()
        await tab.wait_until(lambda t: (t.iteration or 0) > 20, 60, "training")
        tab.abort()
        await asyncio.sleep(1)
        await tab.reconnect()
        # (the first script_finished after a reconnect may be the dropped connection's last run)
        await tab.wait_until(lambda t: any("starts again from iteration 0" in m for m in t.seen.markdown), 60,
                             "the set-aside notice")
        # (and a chart refresh of the dropped connection, queued before the drop, may still arrive after the
        # notice on a loaded machine: the page's own run is the one that shows iteration 0)
        await tab.wait_until(lambda t: t.iteration == 0, 60, "iteration 0 of the new run")
        await tab.wait_idle()
        assert tab.iteration == 0 and "seed=7" in tab.query and not tab.auto_reruns  # a new run, not training
        tab.abort()

    with serve(env={"SOFTMAX_MAX_PARKED": "0"}) as (base, _proc):
        asyncio.run(asyncio.wait_for(scenario(base), 300))


def test_a_server_past_its_memory_limit_shows_the_full_page_not_the_app():
    """The real app behind its middleware: with the memory limit below what an idle process holds, a visit
    gets the 503 page in words, the balancer's health check still answers, and no page websocket gets in."""
    import urllib.error
    import urllib.request

    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    with serve(env={"SOFTMAX_MAX_MEMORY_MB": "1"}) as (base, _proc):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/?preset=cs231n", timeout=30)
        assert refused.value.code == 503 and b"This server is full" in refused.value.read()
        assert urllib.request.urlopen(base + "/_stcore/health", timeout=30).status == 200

        async def page() -> int:
            try:
                async with connect(base.replace("http", "ws") + "/_stcore/stream", subprotocols=["streamlit"]):
                    return 101
            except InvalidStatus as exc:
                return exc.response.status_code

        assert asyncio.run(page()) == 503
