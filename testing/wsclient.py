"""A small asyncio client for Streamlit's websocket protocol: each ``Session`` is one simulated browser tab.

It speaks what the page's frontend speaks (Streamlit 1.67, ``/_stcore/stream``, subprotocol
``streamlit``): protobuf ``BackMsg`` up, ``ForwardMsg`` down. It understands just enough of the
page to load it, press a button by its label, follow a ``run_every`` fragment like a browser,
and tell a chart refresh from a run that redrew the same data. It can drop the connection the
way a closed laptop or a network blip does (no close frame) and reconnect to the same session.

    session = Session("http://127.0.0.1:8501", "speed=100&iterations=100000")
    await session.open()             # connect and run the page once
    await session.click("Start")
    session.follow()                 # rerun the fragment every auto_rerun interval
    await asyncio.sleep(10)
    session.refreshes                # [(monotonic time, iteration), ...]
    session.abort()                  # TCP gone, no websocket close handshake
    await session.reconnect()        # same session id, then a full rerun, as the frontend does

How the handshake carries state (streamlit/web/server/starlette/starlette_websocket.py,
``_parse_subprotocols``): ``Sec-WebSocket-Protocol: streamlit, <xsrf token>, <session id>``.
The server selects the first entry; the second is checked against the ``_streamlit_xsrf``
cookie only to trust an auth cookie (this page has none, so a placeholder is sent); the
third, when it names a disconnected session still inside ``server.disconnectedSessionTTL``,
reattaches this connection to that session and its ``st.session_state``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

FINISHED_EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
ITERATION = re.compile(r"^#+\s*Iteration (\d+)")
XSRF_PLACEHOLDER = "no-xsrf"  # keeps the session id in the third position; see the module docstring
CHARTS = ("bidi_component", "plotly_chart")


class ProtocolError(RuntimeError):
    """The server did something this client does not expect (or did not answer in time)."""


@dataclass
class RunRecord:
    """What one script run (full or fragment) delivered, collected as its messages arrive."""

    fragment_ids: tuple[str, ...] = ()
    chart: bytes | None = None  # payload of the run's first chart element (the loss chart on our pages)
    iteration: int | None = None


@dataclass
class Stats:
    """Counters a benchmark can read; times are ``time.monotonic()``."""

    runs: int = 0  # script runs that finished (any status but "finished early for a rerun")
    fragment_runs_sent: int = 0
    bytes_received: int = 0
    messages: int = 0
    refreshes: list[tuple[float, int | None]] = field(default_factory=list)  # (time, iteration)
    latencies: list[float] = field(default_factory=list)  # seconds from asking for a run to its script_finished


class Session:
    """One browser tab on a Streamlit page.

    Args:
        base_url: ``http://host:port`` of the server.
        query: the page's query string without ``?`` (the frontend sends it with every rerun;
            the page may change it, and the new one is used from then on, like the address bar).
        pace: how the fragment is followed. ``"after-finish"``: wait the ``auto_rerun`` interval
            after each run finishes, then ask for the next one (never two runs in flight).
            ``"tick"``: ask every interval, like the frontend's ``setInterval``, but never while a
            run is still in flight (the server would only coalesce the extra requests).
    """

    def __init__(self, base_url: str, query: str = "", *, pace: str = "after-finish") -> None:
        if pace not in ("after-finish", "tick"):
            raise ValueError(f"pace must be 'after-finish' or 'tick', got {pace!r}")
        self.url = base_url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        self.query = query.lstrip("?")
        self.pace = pace
        self.session_id: str | None = None
        self.page_script_hash = ""
        self.buttons: dict[str, str] = {}  # label -> widget id, from the deltas that drew them
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval in seconds
        self.iteration: int | None = None  # the latest "### Iteration N" heading
        self.page_iteration: int | None = None  # the same, never set by anything but the page (a stream's frames)
        self.stats = Stats()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._follower: asyncio.Task | None = None
        self._run = RunRecord()
        self._last_chart: bytes | None = None
        self._idle = asyncio.Event()  # no run in flight that we asked for
        self._idle.set()
        self._changed = asyncio.Event()  # any message arrived (for wait_until)
        self._finished_at = 0.0
        self._sent_at = 0.0
        self.closed_reason: str | None = None

    # -- connection ----------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._ws is not None and self._reader is not None and not self._reader.done()

    async def connect(self, session_id: str | None = None, timeout: float = 30.0) -> None:
        """Open the websocket; with ``session_id``, ask the server to reattach to that session."""
        protocols = ["streamlit"] + ([XSRF_PLACEHOLDER, session_id] if session_id else [])
        self._ws = await connect(self.url, subprotocols=protocols, compression=None, max_size=None,
                                 ping_interval=None, open_timeout=timeout, close_timeout=2)
        self.closed_reason = None
        self._idle.set()
        self._reader = asyncio.create_task(self._read(self._ws))

    async def open(self, timeout: float = 60.0) -> None:
        """Connect and run the page once, like loading its URL; returns when that run finished."""
        await self.connect(timeout=timeout)
        await self.rerun()
        await self.wait_idle(timeout)
        if not self.session_id:
            raise ProtocolError("no new_session message with a session id")

    def abort(self) -> None:
        """Drop the connection abruptly: the TCP socket closes with no websocket close frame, as
        when a tab's network goes away (the server sees code 1006 at once). A laptop put to sleep
        sends not even that: the server then notices only by its websocket ping (30 s + 30 s)."""
        self.stop_following()
        if self._ws is not None:
            self._ws.transport.abort()

    async def close(self) -> None:
        """Close politely (a close frame), as a browser closing the tab does."""
        self.stop_following()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def reconnect(self, timeout: float = 60.0) -> None:
        """Connect again with the previous session id, then rerun the page as the frontend does
        after a reconnect; returns when that run finished."""
        if not self.session_id:
            raise ProtocolError("never connected: no session id to reconnect to")
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.connect(self.session_id, timeout=timeout)
        await self.rerun()
        await self.wait_idle(timeout)

    # -- sending -----------------------------------------------------------------------
    async def rerun(self, triggers: tuple[str, ...] = (), fragment_id: str = "", auto: bool = False) -> None:
        """Send ``rerun_script``: the whole page, or one fragment; ``triggers`` are widget ids of
        buttons pressed (a button click is a ``trigger_value`` widget state)."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_script_hash
        state.widget_states.SetInParent()
        for widget_id in triggers:
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            widget.trigger_value = True
        if fragment_id:
            state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        if self._ws is None:
            raise ProtocolError("not connected")
        self._idle.clear()
        self._sent_at = time.monotonic()
        await self._ws.send(msg.SerializeToString())

    async def click(self, label: str, timeout: float = 60.0) -> None:
        """Press the button labelled ``label`` and wait for the rerun it causes to finish."""
        widget_id = self.buttons.get(label)
        if widget_id is None:
            raise ProtocolError(f"no button {label!r} on the page (have {sorted(self.buttons)})")
        await self.wait_idle(timeout)
        await self.rerun(triggers=(widget_id,))
        await self.wait_idle(timeout)

    # -- following fragments ---------------------------------------------------------
    def follow(self) -> None:
        """Rerun every ``run_every`` fragment the page asks for, until ``stop_following()``."""
        if self._follower is None or self._follower.done():
            self._follower = asyncio.create_task(self._follow())

    def stop_following(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            self._follower = None

    async def _follow(self) -> None:
        while self.connected:
            await self._idle.wait()
            if not self.auto_reruns:
                await self._wait_message()
                continue
            fragment_id, interval = next(iter(self.auto_reruns.items()))
            if self.pace == "tick":
                due = max(self._sent_at + interval, self._finished_at)
            else:
                due = self._finished_at + interval
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if self._idle.is_set() and fragment_id in self.auto_reruns and self.connected:
                self.stats.fragment_runs_sent += 1
                try:
                    await self.rerun(fragment_id=fragment_id, auto=True)
                except ConnectionClosed:
                    return

    # -- waiting -------------------------------------------------------------------------
    async def _wait_message(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    async def wait_idle(self, timeout: float = 60.0) -> None:
        """Until the run last asked for has finished."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            state = self.closed_reason or "connected"
            raise ProtocolError(f"no script_finished within {timeout} s ({state})") from None

    async def wait_until(self, predicate: Callable[[Session], bool], timeout: float = 60.0, what: str = "") -> None:
        """Until ``predicate(self)`` holds, checked after every message."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError(f"timed out after {timeout} s waiting for {what or predicate}"
                                    f" (iteration {self.iteration}, {self.closed_reason or 'connected'})")
            try:
                await asyncio.wait_for(self._wait_message(), left)
            except TimeoutError:
                pass

    # -- receiving ---------------------------------------------------------------------
    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self.stats.messages += 1
                self.stats.bytes_received += len(raw)
                self._handle(msg)
                self._changed.set()
            self.closed_reason = f"closed by the server ({ws.close_code})"
        except ConnectionClosed as exc:
            self.closed_reason = f"connection lost ({exc})"
        finally:
            self._idle.set()  # nothing more will finish on this connection
            self._changed.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            fragment_ids = tuple(msg.metadata.run.fragment_ids)
            self._run = RunRecord(fragment_ids=fragment_ids)
            session_id = msg.new_session.initialize.session_id
            if session_id:
                self.session_id = session_id
            self.page_script_hash = msg.new_session.page_script_hash or self.page_script_hash
            if not fragment_ids:  # a full run redraws the page: the frontend drops its timers
                self.auto_reruns.clear()
        elif kind == "delta":
            self._delta(msg)
        elif kind == "auto_rerun":
            self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self.auto_reruns.pop(fragment_id, None)
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "script_finished" and msg.script_finished != FINISHED_EARLY_FOR_RERUN:
            self._finish()

    def _delta(self, msg: ForwardMsg) -> None:
        if msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "button":
            self.buttons[element.button.label] = element.button.id
        elif kind == "markdown":
            m = ITERATION.match(element.markdown.body)
            if m:
                self._run.iteration = self.iteration = self.page_iteration = int(m.group(1))
        elif kind in CHARTS and self._run.chart is None:
            chart = element.bidi_component.bytes if kind == "bidi_component" else element.plotly_chart.spec.encode()
            self._run.chart = chart

    def _finish(self) -> None:
        now = time.monotonic()
        self.stats.runs += 1
        chart = self._run.chart
        if chart is not None and chart != self._last_chart:
            if self._last_chart is not None:  # the first drawing is a load, not a refresh
                self.stats.refreshes.append((now, self._run.iteration))
            self._last_chart = chart
        if not self._idle.is_set():
            self.stats.latencies.append(now - self._sent_at)
        self._finished_at = now
        self._idle.set()

    @property
    def refreshes(self) -> list[tuple[float, int | None]]:
        """``(time, iteration)`` of every run that brought new chart data (not the page's first drawing)."""
        return self.stats.refreshes
