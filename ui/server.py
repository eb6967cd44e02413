"""The page's ASGI middleware (``st.App(..., middleware=[...])`` in app.py): what the server itself
guards before Streamlit sees a request.

- Security headers on every HTML response (the page at ``/``): a Content-Security-Policy that lets
  the page load only from this server, no framing unless the operator lists the sites that may
  embed the page (``SOFTMAX_FRAME_ANCESTORS``), ``X-Content-Type-Options: nosniff`` on everything.
- ``/_stcore/metrics`` answers only loopback clients (a scraper on the same host or pod);
  everyone else gets 403.
- Uploads are capped: the page's one uploader takes a CSV of points of at most
  ``softmax.points.MAX_CSV_BYTES``; a larger upload (by its Content-Length, and by the bytes that
  actually arrive) gets 413 before Streamlit reads it, an upload without a length 411
  (``server.maxUploadSize`` in .streamlit/config.toml is Streamlit's own backstop). Streamlit keeps
  uploaded files in memory; the page parses them as data only and never writes them to disk.
- Open pages (websockets) are capped per process and per client address; a refused page gets
  503 to its handshake and the browser retries. A process that is full (``max_sessions`` pages
  open, or its memory past ``max_memory_mb``) answers a new visit to the page itself with a short
  503 page that says so and reloads in 30 s, which a balancer can retry on another replica.
- Each connection's incoming messages are paced by a token bucket: past a burst, the server reads
  that socket more slowly (TCP pushes back on the client); nothing is dropped.

``lifespan`` also puts a check in front of Streamlit's own handling of each message
(``checked_widget_states``): a widget value of a type its widget never sends, or one its own
deserializer cannot read, is dropped before Streamlit stores it. Streamlit deserializes widget
values before the page's script starts, so the page cannot catch these itself; left in, one such
value raised on every later run of the session.

A client's address is ``scope["client"]``: uvicorn's proxy-header middleware has already replaced
it by ``X-Forwarded-For`` when the connection comes from a trusted proxy (``FORWARDED_ALLOW_IPS``,
by default only 127.0.0.1). Behind a balancer on another host, set that to the balancer's address,
or every student counts as the balancer.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import hashlib
import ipaddress
import os
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from softmax.limits import ServerLimits
from softmax.points import MAX_CSV_BYTES

# The one inline script in Streamlit's index.html (``window.prerenderReady = false``) is allowed by
# its hash, computed from the file this Streamlit serves, so an upgrade that changes it still works.
INDEX_HTML = Path(streamlit.__file__).parent / "static" / "index.html"

# An upload's body: the page's CSV of points, in a multipart form with room for its headers.
UPLOAD_BYTES = MAX_CSV_BYTES + 16 * 1024
UPLOAD_PATH = "/_stcore/upload_file"

# Messages a connection may send at once, and per second after that. A browser sends one per
# chart refresh (at most 10/s), one per click or widget change, and a heartbeat.
BURST, PER_SECOND = 60, 30.0
# The server's own host (and a proxy on it that sends no X-Forwarded-For): not limited per address,
# as ui/sessions.py's LOCAL (it could be a whole classroom); the process-wide caps still apply.
LOCAL_HOSTS = ("127.0.0.1", "::1")


def inline_script_hashes(html: str) -> list[str]:
    """CSP source expressions ('sha256-...') for every inline <script> of a page."""
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S | re.I)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts]


def content_security_policy(frame_ancestors: tuple[str, ...] = ()) -> str:
    """The page's policy: everything from this server, nothing from anywhere else.

    Found in Chromium by removing each allowance and watching for violations while the page
    trains, draws, explains (KaTeX), takes a chart click, opens the share link and downloads the
    script (tests/test_browser_hardening.py keeps it at zero):
    - script-src: Streamlit's one inline script by its hash; blob: for the chart component's own
      module (Streamlit loads a components.v2 module from a blob: URL); 'unsafe-eval' for plotly.js,
      whose WebGL traces (regl) compile their drawing code with ``new Function``;
    - style-src 'unsafe-inline': emotion writes <style> elements, plotly.js style attributes;
    - img-src and font-src data:: KaTeX's and Streamlit's inlined images and fonts;
    - connect-src 'self': the websocket and fetches to this same host;
    - worker-src 'self', frame-src 'none': this page starts no worker and has no frame (Streamlit's
      own st.plotly_chart, deck.gl and graphviz elements would need worker-src blob:).
    """
    scripts = " ".join(["'self'", *inline_script_hashes(INDEX_HTML.read_text()), "blob:", "'unsafe-eval'"])
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "frame-src 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {ancestors}",
    ])


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Bucket:
    """A token bucket: ``take()`` returns how long to wait before the next message may be read."""

    def __init__(self, burst: float, rate: float) -> None:
        self.burst, self.rate = burst, rate
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


FULL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="30">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>This server is full</title>
<style>body{font:1.25rem/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}</style>
</head><body><h1>This server is full</h1>
<p>{why}. This page tries again by itself in 30 seconds; if it keeps coming back, tell your teacher.</p>
</body></html>
"""


# glibc's mallopt parameters (malloc.h): blocks up to this size come from the heap, not mmap; the heap's free
# top is given back to the system only past this much.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEEP_BLOCKS, KEEP_TOP = 32 << 20, 64 << 20


def keep_freed_memory() -> bool:
    """Let glibc's malloc reuse the memory numpy frees instead of giving it back to the system at once.

    By default a block over 128 KiB (growing with what is freed, up to 32 MiB) is mmapped and unmapped, and
    the heap's top is trimmed past twice that: the arrays of a frame (a net's hidden layer over the plane's
    grid: 6 400 cells x 100 units, 5 MB) were mapped, faulted in page by page and unmapped again on every frame,
    1 400 page faults and a third of the frame's CPU. Up to KEEP_BLOCKS a block now comes from the heap, and
    up to KEEP_TOP of free heap stays mapped (memory the process used a moment ago, kept for the next frame).
    False where this is not glibc (the settings are then the allocator's own); the same can be set from the
    environment (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP_BLOCKS)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_TOP))


def resident_mib() -> float:
    """This process's resident memory in MiB (Linux), or 0 where /proc is not there."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class Guard:
    """Pure ASGI middleware: headers, the metrics guard, no uploads, page caps, message pacing."""

    def __init__(self, app: ASGIApp, limits: ServerLimits | None = None, burst: float = BURST,
                 per_second: float = PER_SECOND) -> None:
        self.app = app
        self.limits = limits or ServerLimits()
        self.burst, self.per_second = burst, per_second
        self.csp = content_security_policy(self.limits.frame_ancestors)
        self.open_pages: Counter[str] = Counter()  # client address -> open websockets
        self.new_pages: dict[str, Bucket] = {}  # client address -> its bucket of new pages
        self.refused = 0
        self.memory = resident_mib  # where the memory is read (a test puts in its own)
        self._memory_at, self._memory_mib = -1.0, 0.0
        base = (streamlit.config.get_option("server.baseUrlPath") or "").strip("/")
        self.page_paths = {f"/{base}/", f"/{base}"} if base else {"/"}

    def full(self) -> str | None:
        """Why this process takes no new page, or None."""
        if sum(self.open_pages.values()) >= self.limits.max_sessions:
            return f"this server has {self.limits.max_sessions} pages open, its limit"
        if self.limits.max_memory_mb:
            now = time.monotonic()
            if now - self._memory_at > 1.0:  # one read of /proc a second is plenty
                self._memory_at, self._memory_mib = now, self.memory()
            if self._memory_mib >= self.limits.max_memory_mb:
                return f"this server's memory is at its limit ({self.limits.max_memory_mb} MiB)"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    # -- HTTP ------------------------------------------------------------------------
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        client = (scope.get("client") or (None,))[0]
        if path.endswith("/_stcore/metrics") and not is_loopback(client):
            await self.plain(send, 403, "metrics are served to this host only\n")
            return
        if UPLOAD_PATH in path and scope.get("method") not in ("OPTIONS", "DELETE"):
            refused = self.upload_refused(scope)
            if refused:
                await self.plain(send, *refused)
                return
            receive = capped(receive, UPLOAD_BYTES)
        if path in self.page_paths and scope.get("method") in ("GET", "HEAD") and (why := self.full()):
            self.refused += 1
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"retry-after", b"30"),
                                    (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"),
                                    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'")]})
            body = FULL_PAGE.replace("{why}", why[0].upper() + why[1:])
            await send({"type": "http.response.body", "body": body.encode()})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"x-content-type-options", b"x-frame-options")]
                headers.append((b"x-content-type-options", b"nosniff"))
                content_type = dict((k.lower(), v) for k, v in headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    headers.append((b"content-security-policy", self.csp.encode()))
                    headers.append((b"referrer-policy", b"same-origin"))
                    if not self.limits.frame_ancestors:
                        headers.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)

    @staticmethod
    def upload_refused(scope: Scope) -> tuple[int, str] | None:
        """(status, text) refusing an upload, or None to let it through (a PUT of a declared, small size)."""
        if scope.get("method") != "PUT":
            return 405, "uploads are PUT\n"
        lengths = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if len(lengths) != 1 or not lengths[0].isdigit():
            return 411, "an upload must say its length\n"
        if int(lengths[0]) > UPLOAD_BYTES:
            return 413, f"a file of at most {MAX_CSV_BYTES // 1024} KB\n"
        return None

    @staticmethod
    async def plain(send: Send, status: int, text: str) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"x-content-type-options", b"nosniff")]})
        await send({"type": "http.response.body", "body": text.encode()})

    # -- websockets --------------------------------------------------------------------
    def admit(self, address: str) -> str | None:
        """Why a new page from ``address`` is refused, or None to let it in."""
        if why := self.full():
            return why
        if address in LOCAL_HOSTS:
            return None
        if self.open_pages[address] >= self.limits.max_sessions_per_address:
            return f"{self.limits.max_sessions_per_address} pages are open from your address, the limit"
        # Pages opened (and dropped) in a stream: each leaves a session behind for a reconnect.
        per_minute = self.limits.new_pages_per_minute
        bucket = self.new_pages.get(address)
        if bucket is None:
            if len(self.new_pages) > 10_000:  # forget the addresses whose buckets are full again
                now = time.monotonic()
                self.new_pages = {a: b for a, b in self.new_pages.items()
                                  if b.tokens + (now - b.at) * b.rate < b.burst}
            bucket = self.new_pages[address] = Bucket(per_minute, per_minute / 60)
        if bucket.take() > 0:
            bucket.tokens += 1  # a refused page costs nothing
            return f"more than {per_minute} pages a minute from your address, the limit"
        return None

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not scope.get("path", "").endswith("/_stcore/stream"):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("?",))[0]
        why = self.admit(address)
        if why is not None:
            self.refused += 1
            await self.refuse(scope, send, why)
            return
        self.open_pages[address] += 1
        bucket = Bucket(self.burst, self.per_second)

        async def paced() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                wait = bucket.take()
                if wait > 0:
                    await asyncio.sleep(wait)
            return message

        try:
            await self.app(scope, paced, send)
        finally:
            self.open_pages[address] -= 1
            if self.open_pages[address] <= 0:
                del self.open_pages[address]

    @staticmethod
    async def refuse(scope: Scope, send: Send, why: str) -> None:
        """503 to the handshake where the server supports it (uvicorn does), else a plain refusal."""
        if "websocket.http.response" in (scope.get("extensions") or {}):
            await send({"type": "websocket.http.response.start", "status": 503,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"retry-after", b"30")]})
            await send({"type": "websocket.http.response.body", "body": f"{why}; try again in a minute\n".encode()})
        else:
            await send({"type": "websocket.close", "code": 1013})


# -- widget values a browser never sends ----------------------------------------------------------
NUMBERS = ("int_value", "double_value")  # a number_input is declared double_value; int ones send int_value
_dropped: Counter[str] = Counter()  # session id -> widget values dropped since the page last looked
_dropped_lock = threading.Lock()


class UploadTooLarge(Exception):
    """More bytes arrived than an upload may hold (whatever its Content-Length said)."""


def capped(receive: Receive, most: int) -> Receive:
    """``receive`` for a request whose body may hold at most ``most`` bytes: past them, the request fails
    (the server answers 500 and drops the connection) before Streamlit has stored anything."""
    seen = 0

    async def receive_capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > most:
                raise UploadTooLarge(f"an upload of more than {most} bytes")
        return message

    return receive_capped


def _expected(declared: str | None, sent: str | None) -> bool:
    if declared is None or sent is None:
        return sent is None  # a cleared value (None) is always allowed
    return sent == declared or (declared in NUMBERS and sent in NUMBERS)


def check_widget_states(state: Any, widget_states: Any) -> int:
    """Remove from ``widget_states`` (a WidgetStates proto) every value its widget would not send:
    an unknown widget, a value of another type, or one the widget's own deserializer raises on.
    ``state`` is the session's SessionState. Returns how many were removed."""
    from streamlit.runtime.state.common import unpack_widget_state_value

    keep, dropped = [], 0
    for ws in widget_states.widgets:
        meta = state.get_widget_metadata(ws.id)
        sent = ws.WhichOneof("value")
        ok = meta is not None and _expected(meta.value_type, sent)
        if ok and sent is not None:
            try:
                meta.deserializer(unpack_widget_state_value(ws))
            except Exception:
                ok = False
        if ok:
            keep.append(ws)
        else:
            dropped += 1
    if dropped:
        del widget_states.widgets[:]
        widget_states.widgets.extend(keep)
    return dropped


def take_dropped(session_id: str) -> int:
    """How many of this session's widget values were dropped since the last call (the page says so)."""
    with _dropped_lock:
        return _dropped.pop(session_id, 0)


def guard_backmsgs(runtime: Any) -> None:
    """Check every rerun's widget states before Streamlit handles the message (wraps the runtime's
    ``handle_backmsg``, which the websocket route calls for every message of a session)."""
    original = runtime.handle_backmsg

    def handle_backmsg(session_id: str, msg: Any, *args: Any, **kwargs: Any) -> Any:
        if msg.WhichOneof("type") == "rerun_script":
            session = runtime.get_app_session(session_id)
            if session is not None:
                dropped = check_widget_states(session.session_state, msg.rerun_script.widget_states)
                if dropped:
                    with _dropped_lock:
                        _dropped[session_id] += dropped
        return original(session_id, msg, *args, **kwargs)

    runtime.handle_backmsg = handle_backmsg


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """``st.App(lifespan=...)``: runs once the runtime has started."""
    from streamlit.runtime import Runtime

    guard_backmsgs(Runtime.instance())
    yield


def middleware(limits: ServerLimits) -> list[Any]:
    """The list for ``st.App(..., middleware=...)``."""
    from starlette.middleware import Middleware

    return [Middleware(Guard, limits=limits)]
