"""The live stream (ui/stream.py, docs/stream.md) on a real server with SOFTMAX_STREAM=1, spoken to
by protocol clients: it starts with Start, updates while training, stops with Pause; a wrong token, a
stale token, a token used from another address and a foreign Origin are refused; input ends it; many
abrupt disconnects leave no thread or busy loop behind."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from testing.browser import page_server
from testing.frames import Board
from testing.hostile import serve
from testing.streamclient import StreamTab, open_stream
from testing.support import cpu_seconds, thread_count

QUERY = "speed=200&iterations=100000&refresh=5"


server = page_server({"SOFTMAX_STREAM": "1", "SOFTMAX_STREAM_DELTAS": "1"}, launch=serve, process=True)


async def started(base: str, source: str | None = None) -> StreamTab:
    tab = StreamTab(base, QUERY, source=source)
    await tab.open()
    await tab.click("Start")
    return tab


async def refused(base: str, stream: dict, **kwargs) -> int:
    """The HTTP status a refused handshake got (fails if the stream opens)."""
    try:
        ws = await open_stream(base, stream, **kwargs)
    except InvalidStatus as exc:
        return exc.response.status_code
    await ws.close()
    raise AssertionError(f"the stream opened with {kwargs}")


def test_the_stream_starts_with_start_updates_while_training_and_stops_with_pause(server, loop):
    base, _ = server

    async def check():
        tab = StreamTab(base, QUERY)
        await tab.open()
        assert tab.stream and not tab.stream["live"], tab.stream  # offered, not live, before Start
        await tab.click("Start")
        assert tab.stream["live"] and not tab.streaming  # the timer redraws until the board has a frame
        assert tab.auto_reruns
        await tab.follow_stream()
        await tab.wait_until(lambda t: t.streaming, 30, "the page to hand the status line to the board")
        await tab.wait_idle()
        await asyncio.sleep(0.5)
        assert not tab.auto_reruns, "the page still polls while its board follows the stream"
        runs = tab.stats.runs
        await asyncio.sleep(3)
        assert tab.stats.runs == runs, "script runs while streaming"
        recent = [f for f in tab.frames if f[0] > time.monotonic() - 3]
        iterations = [f[1] for f in recent]
        assert len(recent) >= 6 and iterations == sorted(iterations) and iterations[-1] > iterations[0], recent
        assert len(recent) <= 3 * 5 + 3, f"{len(recent)} frames in 3 s at 5 refreshes a second"
        await tab.click("Pause")
        # the heading the page drew on Pause (tab.iteration follows the frames too, and a frame built before the
        # Pause may arrive after the page's answer)
        paused = tab.page_iteration
        await tab.wait_until(lambda t: t.stopped, 5, "the stream's stopped message")
        await asyncio.sleep(0.5)
        assert tab.frames[-1][1] == paused, (tab.frames[-1], paused)  # the last frame is where it stopped
        assert not tab.stream["live"] and not tab.streaming and not tab.auto_reruns
        await tab.stop_stream()
        # Start again: the board's first frame is known, so the page goes straight to the stream
        await tab.click("Start")
        assert tab.streaming and not tab.auto_reruns
        tab.frames.clear()
        await tab.follow_stream()
        assert tab.frames[0][1] >= paused
        await tab.click("Pause")
        await tab.stop_stream()
        await tab.close()

    loop.run_until_complete(check())


def test_the_delta_frames_add_up_to_the_figures_the_page_draws_of_the_same_snapshot(server, loop):
    """A full frame, then deltas (docs/stream.md); applied as the board applies them (testing/frames.py), they
    give the figures the page itself draws once paused, chart by chart, at the same iteration."""
    base, _ = server

    async def check():
        tab = StreamTab(base, QUERY)
        tab.applied = Board()
        await tab.open()
        await tab.click("Start")
        await tab.follow_stream()
        await tab.wait_until(lambda t: len(t.frames) >= 8, 30, "a few frames")
        await tab.click("Pause")
        await tab.wait_until(lambda t: t.stopped, 5, "the stream's stopped message")
        await asyncio.sleep(0.5)
        assert tab.kinds[0] == "frame" and set(tab.kinds[1:]) == {"delta"}, tab.kinds
        sizes = [size for _, _, size in tab.frames]
        assert max(sizes[1:]) < 0.8 * sizes[0], sizes  # (early in a run most of the regions and colours change)
        assert tab.applied.status["iteration"] == tab.iteration == tab.frames[-1][1]
        page = {c["key"]: c["figure"] for c in tab.charts}
        assert list(tab.applied.figures()) == list(page)
        for key, fig in tab.applied.figures().items():
            assert fig == page[key], key
        await tab.stop_stream()
        await tab.close()

    loop.run_until_complete(check())


def test_charts_the_board_has_off_screen_come_once_a_second(server, loop):
    """The board says it shows the loss and the decision regions only (a projector's first screen): the
    deltas carry the others about once a second, those two every frame."""
    base, _ = server

    async def check():
        tab = StreamTab(base, QUERY, visible="loss,decision")
        await tab.open()
        await tab.click("Start")
        await tab.follow_stream()
        await tab.wait_until(lambda t: t.streaming, 30, "the page to hand the status line to the board")
        await asyncio.sleep(1.5)  # (the report's rerun has told the hub)
        start = len(tab.frames)
        await asyncio.sleep(4)
        keys, times = tab.keys[start:], [t for t, _, _ in tab.frames[start:]]
        await tab.click("Pause")
        await tab.stop_stream()
        await tab.close()
        assert len(keys) >= 12, len(keys)
        assert sum("loss" in k for k in keys) == len(keys)
        dscores = [t for t, k in zip(times, keys, strict=True) if "dscores" in k]
        assert 2 <= len(dscores) <= 6, (len(keys), len(dscores))  # about one a second of 4
        assert min(b - a for a, b in zip(dscores, dscores[1:], strict=False)) > 0.7, dscores

    loop.run_until_complete(check())


def test_a_run_that_ends_by_itself_ends_its_stream_and_the_page_redraws(server, loop):
    base, _ = server

    async def check():
        tab = StreamTab(base, "speed=10000&iterations=3000&refresh=5")
        await tab.open()
        await tab.click("Start")
        await tab.follow_stream()
        await tab.wait_until(lambda t: t.stopped, 30, "the stream's stopped message")
        await tab.wait_until(lambda t: t.iteration == 3000 and not t.stream["live"], 30, "the page's redraw")
        assert tab.frames[-1][1] == 3000
        await tab.stop_stream()
        await tab.close()

    loop.run_until_complete(check())


def test_wrong_stale_foreign_and_other_address_tokens_are_refused(server, loop):
    base, _ = server

    async def check():
        tab = await started(base, source="127.0.0.2")
        stream = tab.stream
        assert await refused(base, stream, token="x" * 32, source="127.0.0.2") == 403
        assert await refused(base, stream, token="", source="127.0.0.2") == 403
        assert await refused(base, stream, origin="http://evil.example", source="127.0.0.2") == 403
        assert await refused(base, stream, origin=None, source="127.0.0.2") == 403
        assert await refused(base, stream, source="127.0.0.3") == 403  # the token of a page elsewhere
        # another session's token is that session's stream and nothing else
        other = await started(base, source="127.0.0.2")
        ws = await open_stream(base, other.stream, source="127.0.0.2")
        frame = json.loads(await ws.recv())
        await ws.close()
        await tab.click("Pause")
        mine = await open_stream(base, stream, source="127.0.0.2")
        assert json.loads(await mine.recv())["status"]["iteration"] == tab.iteration
        assert json.loads(await mine.recv())["type"] == "stopped"
        await mine.close()
        assert frame["status"]["iteration"] != tab.iteration or frame["status"]["running"]
        # the page gone, its token is dead, and its open stream ends
        await other.click("Pause")
        await other.click("Start")
        live = await open_stream(base, other.stream, source="127.0.0.2")
        await live.recv()
        other.abort()
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(100):
                await asyncio.wait_for(live.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert await refused(base, other.stream, source="127.0.0.2") == 403
        await tab.close()

    loop.run_until_complete(check())


def test_the_stream_takes_no_input_and_one_stream_per_page(server, loop):
    base, _ = server

    async def check():
        tab = await started(base)
        ws = await open_stream(base, tab.stream)
        await ws.recv()
        await ws.send("hello")
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(100):
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd.code == 1008
        first = await open_stream(base, tab.stream)
        await first.recv()
        second = await open_stream(base, tab.stream)
        await second.recv()
        with pytest.raises(ConnectionClosed):  # the newer stream wins
            for _ in range(100):
                await asyncio.wait_for(first.recv(), 10)
        await second.close()
        await tab.click("Pause")
        await tab.close()

    loop.run_until_complete(check())


def test_many_abrupt_disconnects_leave_no_thread_or_busy_loop(server, loop):
    base, proc = server

    async def check():
        warm = await started(base)  # (what the first stream of a process loads stays loaded)
        await warm.follow_stream()
        await warm.click("Pause")
        await warm.stop_stream()
        await warm.close()
        await asyncio.sleep(1)
        baseline = thread_count(proc.pid)
        tabs = []
        for _ in range(30):
            tab = await started(base)
            await tab.follow_stream()
            tabs.append(tab)
        for i, tab in enumerate(tabs):  # the stream alone, or the page and its stream, with no close frame
            tab.stream_ws.transport.abort()
            if i % 2:
                tab.abort()
        for tab in tabs[::2]:  # the pages that stayed see their stream lost: back to their timer
            await tab.wait_until(lambda t: t.connected, 5)
            await tab.click("Pause")
            tab.abort()
        # the frame builder's thread ends with the last stream, the training thread with the last run
        most = baseline
        deadline = time.monotonic() + 60
        while thread_count(proc.pid) > most and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert thread_count(proc.pid) <= most, (thread_count(proc.pid), baseline)
        cpu = cpu_seconds(proc.pid)
        await asyncio.sleep(3)
        assert cpu_seconds(proc.pid) - cpu < 0.5, "the server keeps working for pages that are gone"
        tab = await started(base)  # and it still serves
        await tab.follow_stream()
        await tab.click("Pause")
        await tab.stop_stream()
        await tab.close()

    loop.run_until_complete(check())


def test_a_network_blip_resumes_the_run_and_its_stream_with_a_new_token(server, loop):
    base, _ = server

    async def check():
        tab = await started(base)
        await tab.follow_stream()
        await tab.wait_until(lambda t: t.streaming, 30, "the board to take the status line")
        old = tab.stream["token"]
        tab.abort()  # the Wi-Fi drops: no close frame; the release hook revokes the token
        await tab.stop_stream()
        assert await refused(base, {**tab.stream, "token": old}) == 403
        before = tab.frames[-1][1]
        await tab.reconnect()  # same session: its run resumes, with a new token for the new connection
        assert tab.stream["live"] and tab.stream["token"] != old
        tab.frames.clear()
        await tab.follow_stream()
        await asyncio.sleep(1.0)
        assert tab.frames[-1][1] > before
        await tab.click("Pause")
        await tab.stop_stream()
        await tab.close()

    loop.run_until_complete(check())


class _Socket:
    """The parts of a Starlette WebSocket the endpoint uses: a local client with a valid token and Origin."""

    def __init__(self, token: str) -> None:
        self.query_params = {"token": token}
        self.headers = {"origin": "http://127.0.0.1:8501", "host": "127.0.0.1:8501"}
        self.client = None
        self.closed: int | None = None

    async def accept(self) -> None:
        pass

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = code

    async def receive(self) -> dict:
        await asyncio.Event().wait()  # the board sends nothing


@pytest.mark.parametrize("raised,level,says", [
    (ValueError("a chart's figure could not be diffed"), "WARNING", "ended by an error"),
    (TimeoutError(), "INFO", "a frame took over 30 s to leave"),
    (ConnectionResetError(), "INFO", "the client went (ConnectionResetError)"),
])
def test_a_stream_ended_by_an_error_says_so_in_the_servers_log(monkeypatch, caplog, raised, level, says):
    """The stream's loop must not swallow its own faults: a bug is logged with its traceback, a client that left
    or fell behind in one line; the hub's count of open streams comes back either way."""
    import logging

    from testing.frames import FakeSeat
    from ui import sessions, stream

    async def failing(ws, token, generation, limits) -> None:
        raise raised

    seat = FakeSeat()
    seat.address = sessions.LOCAL
    token = stream.HUB.issue(seat)
    monkeypatch.setattr(stream, "pump", failing)
    caplog.set_level(logging.INFO, logger="ui.stream")
    try:
        before = stream.HUB.open
        asyncio.run(stream.endpoint(_Socket(token), limits=None))
        assert stream.HUB.open == before
    finally:
        stream.HUB.revoke(token)
    [record] = [r for r in caplog.records if r.name == "ui.stream"]
    assert record.levelname == level and says in record.getMessage()
    assert (record.exc_info is not None) == (level == "WARNING")
