"""A protocol client that follows the page's live stream like the board does (docs/stream.md).

``StreamTab`` is a ``testing.hostile.Tab`` that also reads the board's data (the chart component's
JSON) on every run, so it knows the stream's URL and token; ``follow_stream()`` opens the stream
with the page's Origin, reports its first frame as the board's ``stream`` state (after which the
page stops its timer) and records every frame; on ``{"type": "stopped"}`` it sends the board's
``stopped`` trigger, as the board does.

    tab = StreamTab(base, "speed=100&iterations=100000")
    await tab.open()
    await tab.click("Start")
    await tab.follow_stream()        # returns once the stream is open
    ...
    tab.frames                       # [(monotonic time, iteration, bytes), ...]: full frames and deltas
    tab.applied = Board()            # (before following) keep the board's figures: tab.applied.figures()
"""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from testing.frames import Board
from testing.hostile import Tab
from testing.wsclient import ProtocolError

BOARD = "charts"  # the Watch tab's board key (ui/charts.py)


def stream_url(base: str, stream: dict, token: str | None = None) -> str:
    """The websocket URL of a stream the board was given (its own token unless ``token``)."""
    host = urlsplit(base).netloc
    path = urlsplit(stream["url"]).path
    return f"ws://{host}{path}?token={token if token is not None else stream['token']}"


async def open_stream(base: str, stream: dict, *, token: str | None = None, origin: str | None = "same",
                      source: str | None = None, cookie: str | None = None, timeout: float = 30.0) -> ClientConnection:
    """Open a stream as a browser on ``base``'s page would (``origin="same"``), or as told; ``cookie``:
    the page's cookies, which a sticky balancer routes by (deploy/haproxy: SOFTMAX_LB)."""
    headers = {"Cookie": cookie} if cookie else {}
    if origin == "same":
        headers["Origin"] = base
    elif origin is not None:
        headers["Origin"] = origin
    extra = {"local_addr": (source, 0)} if source else {}
    return await connect(stream_url(base, stream, token), additional_headers=headers, compression=None,
                         max_size=None, ping_interval=None, open_timeout=timeout, close_timeout=2, **extra)


class StreamTab(Tab):
    """A tab whose board follows the live stream."""

    def __init__(self, *args, visible: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.visible = visible  # the charts the board says it has on screen (keys, comma-separated), if it says
        self.board: dict | None = None  # the board's latest data (without its figures)
        self.charts: list[dict] | None = None  # ... and its charts, as the page drew them last
        self.board_id: str | None = None
        self.frames: list[tuple[float, int, int]] = []  # (time, iteration, bytes) of every frame (full or delta)
        self.kinds: list[str] = []  # "frame" (full) or "delta", of each
        self.keys: list[set[str]] = []  # the charts each one carries
        self.stopped = False
        self.stream_ws: ClientConnection | None = None
        self._streamer: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()  # reruns the board asked for (they wait for the page)
        self.base = args[0] if args else kwargs["base_url"]
        self.applied: Board | None = None  # set to a Board() to keep the figures as the board would

    def _delta(self, msg: ForwardMsg) -> None:
        super()._delta(msg)
        if msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        if element.WhichOneof("type") == "bidi_component" and element.bidi_component.id.endswith(f"-{BOARD}"):
            data = json.loads(element.bidi_component.bytes)
            self.charts = data.pop("charts", None)
            self.board, self.board_id = data, element.bidi_component.id

    @property
    def stream(self) -> dict | None:
        return (self.board or {}).get("stream")

    @property
    def streaming(self) -> bool:
        """The page shows its status line in the board: it follows the stream, with no timer."""
        return bool(self.stream and self.stream.get("status"))

    @property
    def refreshes(self) -> list[tuple[float, int | None]]:
        """Chart refreshes: the page's own (fragment runs with new chart data), then the stream's frames."""
        return sorted([*self.stats.refreshes, *((t, i) for t, i, _ in self.frames)])

    async def report(self, state: dict) -> None:
        """Send the board's state (what ``setStateValue`` sends), as a fragment-less rerun."""
        if self.board_id is None:
            raise ProtocolError("no board on the page")
        ws = WidgetState()
        ws.id = self.board_id
        ws.json_value = json.dumps(state)
        await self.send_widgets([ws])

    async def trigger_stopped(self, seq: int) -> None:
        ws = WidgetState()
        ws.id = f"$$STREAMLIT_INTERNAL_KEY_{self.board_id}__events"
        ws.json_trigger_value = json.dumps({"stopped": seq})
        await self.send_widgets([ws])

    def cookie(self) -> str | None:
        """The cookies the page's websocket handshake set (a balancer's sticky cookie), as a browser
        would send them with the stream's handshake."""
        response = getattr(self._ws, "response", None)
        values = response.headers.get_all("Set-Cookie") if response is not None else []
        return "; ".join(v.split(";", 1)[0] for v in values) or None

    async def follow_stream(self, timeout: float = 60.0) -> None:
        """Open the stream the board was given; report the first frame; record the rest."""
        stream = self.stream
        if not stream or not stream.get("live"):
            raise ProtocolError(f"the board was given no live stream: {stream}")
        self.stream_ws = await open_stream(self.base, stream, source=self.source, cookie=self.cookie())
        first = asyncio.get_running_loop().create_future()
        self._streamer = asyncio.create_task(self._read_stream(self.stream_ws, stream["token"], first))
        await asyncio.wait_for(first, timeout)

    async def _read_stream(self, ws: ClientConnection, token: str, first: asyncio.Future) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                self.stats.bytes_received += len(raw)
                if frame.get("type") in ("frame", "delta"):  # a full frame, or what changed since the last
                    if self.applied is not None:
                        self.applied.take(frame)
                    self.iteration = frame["status"]["iteration"]
                    self.kinds.append(frame["type"])
                    self.keys.append({c["key"] for c in frame.get("charts", [])})
                    self.frames.append((time.monotonic(), self.iteration, len(raw)))
                    if not first.done():
                        first.set_result(None)
                        said = {} if self.visible is None else {"visible": self.visible}
                        self._spawn(self.report({"stream": token, **said}))
                elif frame.get("type") == "stopped":
                    self.stopped = True
                    self._spawn(self.trigger_stopped(frame.get("seq", 0)))
        except ConnectionClosed:
            pass
        finally:
            if not first.done():
                first.set_exception(ProtocolError(f"the stream closed before its first frame ({ws.close_code})"))

    def _spawn(self, rerun) -> None:
        async def quietly() -> None:
            try:
                await rerun
            except (ConnectionClosed, ProtocolError):
                pass  # the page went away meanwhile (a test dropping it)

        self._tasks.add(asyncio.create_task(quietly()))

    async def stop_stream(self) -> None:
        if self.stream_ws is not None:
            await self.stream_ws.close()
        if self._streamer is not None:
            await asyncio.gather(self._streamer, *self._tasks, return_exceptions=True)
