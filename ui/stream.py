"""The live stream: while a run trains, its charts and status line go to the page over a websocket
route of the app's own (``/_softmax/stream``), with no script or fragment run (docs/stream.md).

- A page connection gets a token (``secrets.token_urlsafe``) bound to its seat and its client
  address; Streamlit's release hook (the page's websocket closed) revokes it. The token is the only
  way in: it names one seat, so a stream cannot reach another session's run.
- The route checks the ``Origin`` against the ``Host`` (a page of another site cannot open it),
  then reads nothing: any message from the client closes the stream.
- While the seat's trainer runs, the route sends a frame at the page's refresh rate (the seat's
  share of the process's stream budget, ``Registry.refresh_rate``, read again every second):
  the board's charts (the figures the page itself draws, ui/charts.py) and the status line's values.
  One frame at a time: the next is built from the newest snapshot only once the previous one has
  left (uvicorn's send waits while the socket's buffer is full), so a client that falls behind
  skips frames and nothing queues. When training stops: a last frame, ``{"type": "stopped"}``, close.
- Frames are built in a small thread pool: building figures is numpy work, and the route runs on
  the event loop that serves every page.

On unless ``SOFTMAX_STREAM=0`` (``ServerLimits.stream``); without the route (AppTest, a plain
``streamlit run ui/page.py``) or a browser (the board reports its first frame), the page keeps
redrawing with fragment reruns.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from softmax.limits import ServerLimits
from softmax.snapshot import Snapshot
from ui import sessions

if TYPE_CHECKING:
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

PATH = "/_softmax/stream"
SEND_TIMEOUT = 30.0  # a client whose socket takes this long to take one frame is dropped
# Threads building frames, for every stream of the process. One: a second only fought the first and the
# training thread for Python's lock (50 students, three pairs of runs in one hour: 2.57-2.97 refreshes/s
# and 10-12 iterations/s a run with two, 2.73-3.13 and 14-19 with one; 100 students: 1.33 either way).
BUILDERS = 1
HIDDEN_S = 1.0  # a chart the board has off screen is built at most this often (board.js: HIDDEN_MS)
POLICY = 1008  # close code: no valid token, a foreign Origin, or input sent

log = logging.getLogger(__name__)
_pool: ThreadPoolExecutor | None = None  # made with the first stream, let go with the last (builders())
_mounted: str | None = None  # the route's path, once app.py has mounted it


def builders() -> ThreadPoolExecutor:
    """The pool that builds frames, made when a stream needs it. Called on the event loop only."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=BUILDERS, thread_name_prefix="softmax-frame")
    return _pool


def release_builders() -> None:
    """No stream is open: let the builder thread end once its frame in hand is built (a class that has gone
    home leaves no thread behind). Called on the event loop only."""
    global _pool
    if _pool is not None and HUB.open == 0:
        _pool.shutdown(wait=False)
        _pool = None


def status_fields(snap: Snapshot) -> dict[str, Any]:
    """The status line's values and their text, as the page prints them (``### Iteration N``, then
    ``loss L = data D + reg R · accuracy A``): every number from the snapshot, formatted once here."""
    return {
        "iteration": snap.iteration,
        "iterations": snap.config.iterations,
        "loss": snap.loss,
        "data_loss": snap.data_loss,
        "reg_loss": snap.reg_loss,
        "accuracy": snap.accuracy,
        "running": snap.running,
        "text": {
            "heading": f"Iteration {snap.iteration}",
            "loss": f"{snap.loss:.6f}",
            "data": f"{snap.data_loss:.6f}",
            "reg": f"{snap.reg_loss:.6g}",
            "accuracy": f"{snap.accuracy:.1%}",
            "progress": f"{snap.iteration} of {snap.config.iterations} iterations",
        },
    }


@dataclass(eq=False)
class Ticket:
    """One page connection's way into its run's stream."""

    seat: weakref.ref[sessions.Seat]
    address: str  # the client address of the page (sessions.LOCAL for the server's own host)
    picked: int | None = None  # what the board shows (the page updates them on every run)
    theme: str = "light"
    saved: tuple = ()  # runs saved for comparison (softmax.compare.SavedRun), on the loss chart
    visible: frozenset[str] | None = None  # the charts the board has on screen (None: all, or not said)
    generation: int = 0  # streams opened with this token: only the newest is served


class Hub:
    """The tokens of the open pages of this process (thread-safe: the page's script threads issue and
    update them, the release hook revokes them on the event loop)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: dict[str, Ticket] = {}
        self.open = 0  # streams being served now (tests and benches read it)
        self.served = 0  # streams accepted since the process started

    def issue(self, seat: sessions.Seat) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tickets[token] = Ticket(weakref.ref(seat), seat.address)
        return token

    def revoke(self, token: str) -> None:
        """The page's connection closed: the token dies, and its open streams end within a tick."""
        with self._lock:
            self._tickets.pop(token, None)

    def ticket(self, token: str) -> Ticket | None:
        with self._lock:
            return self._tickets.get(token) if isinstance(token, str) else None

    def show(self, token: str, picked: int | None, theme: str, saved: tuple = (),
             visible: frozenset[str] | None = None) -> None:
        """What the page's board shows now (its picked example, its theme, the runs saved for comparison,
        the charts it has on screen): the next frames follow it."""
        with self._lock:
            ticket = self._tickets.get(token)
            if ticket is not None:
                ticket.picked, ticket.theme, ticket.saved, ticket.visible = picked, theme, saved, visible

    def tokens(self) -> int:
        with self._lock:
            return len(self._tickets)


HUB = Hub()


def mounted() -> str | None:
    """The stream's URL path on this server, if app.py mounted the route with the stream on."""
    return _mounted


def origin_ok(headers: Any) -> bool:
    """The browser's Origin names the host the page was served from (a scheme and the same host:port)."""
    origin, host = headers.get("origin"), headers.get("host")
    if not origin or not host:
        return False
    url = urlsplit(origin)
    return url.scheme in ("http", "https") and url.netloc.lower() == host.lower()


def client_address(ws: WebSocket) -> str:
    """As ui/sessions.py names it: the server's own host is sessions.LOCAL."""
    host = ws.client.host if ws.client else ""
    return sessions.LOCAL if host in ("127.0.0.1", "::1", "") else host


def build_frame(seat: sessions.Seat, ticket: Ticket, seq: int) -> tuple[str, int, bool] | None:
    """(a full frame's JSON, its iteration, still running) of the seat's newest snapshot; None once the
    run is set aside."""
    return Frames().build(seat, ticket, seq)


class Frames:
    """One stream's frames: a full frame first, then deltas against the figures the board holds
    (docs/stream.md). A full frame again when what the board shows changes (its example, its theme, the
    saved runs) or its charts do (another set, another size); a reconnect is a new stream, so a full frame.
    While the board says which charts it has on screen (``Ticket.visible``), a delta builds only those, and
    each of the others once every HIDDEN_S (as often as the board draws a chart off screen).
    Built in the pool, one at a time per stream."""

    def __init__(self, incremental: bool = True) -> None:
        self.incremental = incremental
        self.view: tuple | None = None  # (picked, theme, saved runs) of the frames sent
        self.metas: list[dict] = []  # each chart's place on the board, in order
        self.figures: dict[str, dict] = {}  # each chart's figure as the board holds it now
        self.built_at: dict[str, float] = {}  # when each chart's figure the board holds was built
        self.pending: tuple | None = None  # what the frame built changes, until it is sent

    def build(self, seat: sessions.Seat, ticket: Ticket, seq: int,
              now: float | None = None) -> tuple[str, int, bool] | None:
        """(the frame's JSON, its iteration, still running) of the seat's newest snapshot; None once the
        run is set aside. Runs in the pool."""
        from ui.charts import panels
        from ui.plotly_live import figure_spec
        from viz.figures import chart_names

        trainer = seat.trainer
        if trainer is None:
            return None
        now = time.monotonic() if now is None else now
        running = trainer.running  # read first: if False, the snapshot below is the last one
        snap = trainer.snapshot
        view = (ticket.picked, ticket.theme, ticket.saved)
        visible = ticket.visible
        names = chart_names(snap)
        held = {m["key"]: m for m in self.metas}
        incremental = self.incremental and view == self.view and names == list(held)
        only = None
        if incremental and visible is not None:
            only = {n for n in names if n in visible or now - self.built_at.get(n, -HIDDEN_S) >= HIDDEN_S}
        charts = panels(snap, *view[:2], saved=view[2], only=only)
        built = {p.key: p.meta() for p in charts}
        status = status_fields(snap)
        if incremental and all(meta == held[key] for key, meta in built.items()):
            fresh = {p.key: figure_spec(p.figure) for p in charts}
            frame = self.delta(seq, status, fresh)
            metas = [built.get(n, held[n]) for n in names]
            figures = {**self.figures, **fresh}
        else:
            if only is not None:  # a chart moved or resized: all of them again, whole
                charts = panels(snap, *view[:2], saved=view[2])
                built = {p.key: p.meta() for p in charts}
            metas = list(built.values())
            figures = {p.key: figure_spec(p.figure) for p in charts}
            frame = self.full(seq, status, metas, figures)
        self.pending = (view, metas, figures, list(built), now)
        return frame, snap.iteration, running

    def sent(self) -> None:
        """The frame last built has been handed to the socket: the board holds its figures now (a frame
        built and not sent, the same iteration again, changes nothing)."""
        if self.pending is not None:
            self.view, self.metas, self.figures, built, now = self.pending
            self.built_at.update(dict.fromkeys(built, now))
            self.pending = None

    @staticmethod
    def full(seq: int, status: dict, metas: list[dict], figures: dict[str, dict]) -> str:
        from ui.plotly_live import to_json

        charts = [{**meta, "figure": figures[meta["key"]]} for meta in metas]
        return to_json({"type": "frame", "seq": seq, "status": status, "charts": charts})

    def delta(self, seq: int, status: dict, figures: dict[str, dict]) -> str:
        from ui.delta import diff
        from ui.plotly_live import to_json

        charts = []
        for key, fig in figures.items():
            ops = diff(self.figures[key], fig)
            if ops:
                charts.append({"key": key, "ops": ops})
        return to_json({"type": "delta", "seq": seq, "status": status, "charts": charts})


async def pump(ws: WebSocket, token: str, generation: int, limits: ServerLimits) -> None:
    """Send frames while the run trains; a last one and "stopped" when it stops."""
    loop = asyncio.get_running_loop()
    registry = sessions.registry(limits)
    sent: tuple | None = None  # (iteration, picked, theme, saved runs) of the last frame sent
    seq, rate, rate_at = 0, 1.0, 0.0
    frames = Frames(limits.stream_deltas)
    while True:
        tick = time.monotonic()
        ticket = HUB.ticket(token)
        seat = ticket.seat() if ticket is not None else None
        if seat is None or ticket.generation != generation:  # the page left, or opened a newer stream
            await ws.close(POLICY, "the page's session ended" if seat is None else "a newer stream")
            return
        if seat.trainer is None:
            break
        if tick - rate_at >= 1.0:  # the class grows and shrinks: follow this page's fair share
            rate, rate_at = registry.refresh_rate(seat, seat.trainer.config.refresh, streaming=True), tick
        built = await loop.run_in_executor(builders(), frames.build, seat, ticket, seq)
        if built is None:
            break
        frame, iteration, running = built
        if (iteration, ticket.picked, ticket.theme, ticket.saved) != sent:
            await asyncio.wait_for(ws.send_text(frame), SEND_TIMEOUT)  # waits while the socket is full
            frames.sent()
            seq += 1
            sent = (iteration, ticket.picked, ticket.theme, ticket.saved)
        if not running:
            break
        await asyncio.sleep(max(0.0, tick + 1.0 / rate - time.monotonic()))
    await ws.send_text(json.dumps({"type": "stopped", "seq": seq}))
    await ws.close(1000)


async def endpoint(ws: WebSocket, limits: ServerLimits) -> None:
    token = ws.query_params.get("token", "")
    ticket = HUB.ticket(token)
    if not origin_ok(ws.headers) or ticket is None or ticket.address != client_address(ws):
        await ws.close(POLICY)  # before accept: the handshake gets 403
        return
    await ws.accept()
    HUB.open += 1
    HUB.served += 1
    ticket.generation += 1
    sender = asyncio.ensure_future(pump(ws, token, ticket.generation, limits))
    reader = asyncio.ensure_future(ws.receive())  # the client sends nothing: anything it sends ends it
    try:
        done, _ = await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        if reader in done and not sender.done():
            sender.cancel()
            message = reader.result()
            if message.get("type") == "websocket.receive":
                await ws.close(POLICY, "this stream takes no input")
        elif sender in done:
            sender.result()  # (raises what ended it)
    except Exception as exc:  # nothing to tell the client, which has gone or is dropped: the log says why
        gone = _client_gone(exc)
        if gone:
            log.info("stream of %s ended: %s", client_address(ws), gone)
        else:  # a bug (a frame that could not be built or sent): the stream ends, the page falls back to reruns
            log.warning("stream of %s ended by an error", client_address(ws), exc_info=exc)
    finally:
        for task in (sender, reader):
            task.cancel()
        await asyncio.gather(sender, reader, return_exceptions=True)
        HUB.open -= 1
        release_builders()


def _client_gone(exc: BaseException) -> str | None:
    """Why a stream ended without a fault of ours (the client went, or fell SEND_TIMEOUT behind); None for
    anything else."""
    from starlette.websockets import WebSocketDisconnect

    if isinstance(exc, TimeoutError):  # (asyncio.wait_for raises it; an OSError, so tested first)
        return f"a frame took over {SEND_TIMEOUT:g} s to leave"
    if isinstance(exc, (WebSocketDisconnect, OSError)):  # (uvicorn's ClientDisconnected is an OSError)
        return f"the client went ({type(exc).__name__})"
    return None


def stream_route(limits: ServerLimits, base_url_path: str | None = None) -> WebSocketRoute:
    """The stream's route, for ``st.App(routes=[...])``; the page offers the stream once it is mounted."""
    global _mounted
    import streamlit as st
    from starlette.routing import WebSocketRoute

    base = st.get_option("server.baseUrlPath") if base_url_path is None else base_url_path
    base = (base or "").strip("/")
    path = (f"/{base}" if base else "") + PATH

    async def handler(ws: WebSocket) -> None:
        await endpoint(ws, limits)

    _mounted = path
    return WebSocketRoute(path, handler)
