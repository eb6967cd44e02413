"""What the server guards before Streamlit sees a request (ui/server.py; issue #12, items 4 and 6).

The middleware is checked in-process on a stand-in app (headers, the metrics guard, uploads, page
caps, message pacing), then in a real server started as the Dockerfile starts it (``streamlit
run app.py``): its headers on ``/``, ``/_stcore/metrics`` for loopback only, uploads capped, plotly.js
served from the installed plotly package (``/vendor/plotly-VERSION.min.js``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import urllib.error
import urllib.request

import pytest

from softmax.limits import ServerLimits
from testing.hostile import Tab, serve
from ui.server import (
    UPLOAD_BYTES,
    Bucket,
    Guard,
    UploadTooLarge,
    content_security_policy,
    inline_script_hashes,
    is_loopback,
)

ROUTES = {"/": (b"text/html; charset=utf-8", b"<html><script>window.x = 1</script></html>"),
          "/_stcore/metrics": (b"text/plain", b"sessions 3"),
          "/_stcore/upload_file/s/f": (b"text/plain", b"stored")}


async def stand_in_app(scope, receive, send):
    """A stand-in for Streamlit: a few HTTP routes, and a websocket that stays open until closed."""
    if scope["type"] == "http":
        content_type, body = ROUTES.get(scope["path"], (b"text/plain", b"not found"))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})
        await send({"type": "http.response.body", "body": body})
    else:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass


class Response:
    def __init__(self, sent: list[dict]) -> None:
        start = sent[0]
        self.status_code = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        self.body = b"".join(m.get("body", b"") for m in sent[1:])


def request(guard: Guard, path: str, client=("203.0.113.7", 5000), method: str = "GET", headers=(),
            body: bytes = b"x" * 100) -> Response:
    return asyncio.run(arequest(guard, path, client, method, headers, body))


async def arequest(guard: Guard, path: str, client=("203.0.113.7", 5000), method: str = "GET", headers=(),
                   body: bytes = b"x" * 100) -> Response:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "method": method, "client": client, "headers": list(headers)}
    await guard(scope, receive, send)
    return Response(sent)


def stand_in(limits: ServerLimits | None = None, **kw) -> Guard:
    return Guard(stand_in_app, limits or ServerLimits(), **kw)


class Page:
    """One websocket to the guard, held open until ``close()``; ``accepted`` says if it got in."""

    def __init__(self, guard: Guard, host: str) -> None:
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.sent: list[dict] = []
        scope = {"type": "websocket", "path": "/_stcore/stream", "client": (host, 1), "headers": [],
                 "extensions": {"websocket.http.response": {}}}
        self.inbox.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.ensure_future(guard(scope, self.inbox.get, self._send))

    async def _send(self, message):
        self.sent.append(message)

    @property
    def accepted(self) -> bool:
        return any(m["type"] == "websocket.accept" for m in self.sent)

    @property
    def refused(self) -> bool:
        return any(m["type"] == "websocket.http.response.start" and m["status"] == 503 for m in self.sent)

    async def close(self) -> None:
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await self.task


def test_the_page_gets_security_headers():
    r = request(stand_in(), "/")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    # nothing from another host: every source is 'self', a hash, data:/blob: or a keyword
    for directive in csp.split(";"):
        for source in directive.split()[1:]:
            assert source in ("'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'", "data:", "blob:") or \
                source.startswith("'sha256-"), source


def test_other_responses_get_nosniff_but_no_page_policy():
    r = request(stand_in(), "/_stcore/metrics", client=("127.0.0.1", 5000))
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in r.headers


def test_framing_is_allowed_only_where_the_operator_lists_it():
    limits = ServerLimits(frame_ancestors=("https://course.example.edu",))
    r = request(stand_in(limits), "/")
    assert "frame-ancestors https://course.example.edu" in r.headers["content-security-policy"]
    assert "x-frame-options" not in r.headers  # it cannot name a site; the CSP does


def test_the_inline_script_is_allowed_by_its_hash_only():
    digest = base64.b64encode(hashlib.sha256(b"window.x = 1").digest()).decode()
    assert inline_script_hashes("<script>window.x = 1</script><script src='a.js'></script>") == [f"'sha256-{digest}'"]
    assert "'unsafe-inline'" not in content_security_policy().split("script-src")[1].split(";")[0]


@pytest.mark.parametrize("client,status", [(("127.0.0.1", 1), 200), (("::1", 1), 200), (("127.0.0.2", 1), 200),
                                           (("10.0.0.5", 1), 403), (("203.0.113.7", 1), 403)])
def test_metrics_answer_loopback_only(client, status):
    assert request(stand_in(), "/_stcore/metrics", client=client).status_code == status


def test_uploads_are_capped_at_the_size_of_a_csv_of_points():
    """The page's one uploader takes a CSV of points: a PUT that says a small length reaches Streamlit; a
    larger one, one without a length, or one whose bytes outgrow what it said, does not."""
    path, client = "/_stcore/upload_file/s/f", ("127.0.0.1", 1)
    small = request(stand_in(), path, client=client, method="PUT", headers=[(b"content-length", b"100")])
    assert small.status_code == 200 and small.body == b"stored"
    large = request(stand_in(), path, client=client, method="PUT",
                    headers=[(b"content-length", str(UPLOAD_BYTES + 1).encode())])
    assert large.status_code == 413 and large.body != b"stored"
    assert request(stand_in(), path, client=client, method="PUT").status_code == 411
    assert request(stand_in(), path, client=client, method="POST",
                   headers=[(b"content-length", b"100")]).status_code == 405

    async def lying_app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        await stand_in_app(scope, receive, send)

    chunks = iter([b"x" * UPLOAD_BYTES, b"x"])

    async def receive():
        return {"type": "http.request", "body": next(chunks), "more_body": True}

    scope = {"type": "http", "path": path, "method": "PUT", "client": client,
             "headers": [(b"content-length", b"100")]}
    with pytest.raises(UploadTooLarge):
        asyncio.run(Guard(lying_app)(scope, receive, lambda m: asyncio.sleep(0)))


def test_pages_per_address_and_per_process_are_capped():
    async def scenario():
        guard = stand_in(ServerLimits(max_sessions=3, max_sessions_per_address=2))
        a = [Page(guard, "203.0.113.7") for _ in range(3)]
        await asyncio.sleep(0.05)
        assert [p.accepted for p in a] == [True, True, False] and a[2].refused  # 2 per address
        b = [Page(guard, "198.51.100.9") for _ in range(2)]
        await asyncio.sleep(0.05)
        assert [p.accepted for p in b] == [True, False] and b[1].refused  # 3 in the process
        for p in [*a[:2], b[0]]:
            await p.close()
        assert guard.refused == 2 and not guard.open_pages  # every page that closed is counted out
        again = Page(guard, "203.0.113.7")
        await asyncio.sleep(0.05)
        assert again.accepted
        await again.close()

    asyncio.run(scenario())


def test_pages_opened_in_a_stream_are_paced_per_address():
    """Opening and dropping pages in a stream leaves a session behind each time (kept for a
    reconnect): past the burst, an address gets new_pages_per_minute of them."""

    async def scenario():
        guard = stand_in(ServerLimits(new_pages_per_minute=5))
        opened = []
        for _ in range(8):
            page = Page(guard, "203.0.113.7")
            await asyncio.sleep(0.01)
            opened.append(page.accepted)
            if page.accepted:
                await page.close()
        assert opened == [True] * 5 + [False] * 3
        other = Page(guard, "198.51.100.9")  # another address is not affected
        await asyncio.sleep(0.01)
        assert other.accepted
        await other.close()

    asyncio.run(scenario())


def test_the_server_host_itself_is_not_capped_per_address():
    async def scenario():
        guard = stand_in(ServerLimits(max_sessions=10, max_sessions_per_address=1))
        pages = [Page(guard, "127.0.0.1") for _ in range(3)]
        await asyncio.sleep(0.05)
        assert all(p.accepted for p in pages) and guard.open_pages["127.0.0.1"] == 3
        for p in pages:
            await p.close()

    asyncio.run(scenario())


def test_a_flooding_connection_is_read_at_the_paced_rate():
    """60 messages at once, then 30 a second: reading the 70th waits ~1/3 s (the socket pushes back)."""

    async def scenario():
        guard = stand_in(burst=60, per_second=30)
        page = Page(guard, "203.0.113.7")
        for _ in range(70):
            page.inbox.put_nowait({"type": "websocket.receive", "bytes": b"x"})
        await asyncio.sleep(0.05)
        assert page.inbox.qsize() > 0  # not all read yet: the guard sleeps between them
        await page.close()

    asyncio.run(scenario())


def test_a_flood_of_messages_is_read_at_the_paced_rate():
    bucket = Bucket(burst=5, rate=10)
    waits = [bucket.take() for _ in range(25)]
    assert waits[:5] == [0.0] * 5
    assert waits[-1] == pytest.approx(2.0, abs=0.05)  # 20 past the burst, at 10 a second


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("::1", True), ("127.8.9.10", True), ("10.0.0.1", False),
                                       ("localhost", False), (None, False), ("", False)])
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


# -- a real server, started as the image starts it ---------------------------------------------------
@pytest.fixture(scope="module")
def server():
    with serve(env={"SOFTMAX_FRAME_ANCESTORS": ""}) as (base, proc):
        tab = Tab(base)
        asyncio.run(tab.open())
        yield base


def get(url: str, headers: dict | None = None, method: str = "GET", data: bytes | None = None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}, method=method, data=data),
                                    timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


@pytest.mark.slow
def test_the_served_page_has_its_headers(server):
    status, headers, body = get(f"{server}/")
    assert status == 200 and b"<html" in body
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    # the hash in the policy is the hash of the inline script the server actually sends
    for source in inline_script_hashes(body.decode()):
        assert source in headers["content-security-policy"]


@pytest.mark.slow
def test_metrics_from_outside_are_refused_and_from_this_host_served(server):
    status, _, body = get(f"{server}/_stcore/metrics")
    assert status == 200 and b"session" in body
    # a client behind a proxy on this host (uvicorn trusts 127.0.0.1's X-Forwarded-For): an outsider
    status, _, _ = get(f"{server}/_stcore/metrics", {"X-Forwarded-For": "203.0.113.7"})
    assert status == 403


@pytest.mark.slow
def test_uploads_larger_than_a_csv_of_points_are_refused_by_the_server(server):
    """Refused on its headers, before a byte of the body is read (a client sending the body would see the
    connection close under it)."""
    import http.client
    from urllib.parse import urlsplit

    conn = http.client.HTTPConnection(urlsplit(server).netloc, timeout=30)
    try:
        conn.putrequest("PUT", "/_stcore/upload_file/abc/def")
        conn.putheader("Content-Length", str(UPLOAD_BYTES + 1))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()


@pytest.mark.slow
def test_plotly_is_served_from_the_installed_package(server):
    import plotly

    status, headers, body = get(f"{server}/vendor/plotly-{plotly.__version__}.min.js")
    assert status == 200 and len(body) > 1_000_000 and headers["x-content-type-options"] == "nosniff"
    _, headers, _ = get(f"{server}/app/static/plotly.min.js")  # nothing is written next to the page:
    assert headers["content-type"].startswith("text/html")  # the path is the page's own fallback


@pytest.mark.slow
def test_health_is_public(server):
    status, _, body = get(f"{server}/_stcore/health", {"X-Forwarded-For": "203.0.113.7"})
    assert status == 200 and body.strip() == b"ok"


def test_csp_directives_are_well_formed():
    csp = content_security_policy(("https://a.example", "'self'"))
    names = [d.split()[0] for d in csp.split("; ")]
    assert len(names) == len(set(names))
    assert re.fullmatch(r"[a-z-]+( [^;]+)?(; [a-z-]+( [^;]+)?)*", csp), csp
    assert json.dumps(csp)  # plain ASCII text


def test_a_full_process_answers_a_new_visit_with_a_clear_page():
    """max_sessions pages open: a new visit to the page gets a 503 page that says so in words (and reloads by
    itself), not a page whose websocket is then refused; assets and health still answer."""

    async def scenario():
        guard = stand_in(ServerLimits(max_sessions=2))
        assert (await arequest(guard, "/")).status_code == 200
        pages = [Page(guard, "203.0.113.7"), Page(guard, "198.51.100.9")]
        await asyncio.sleep(0.05)
        assert all(p.accepted for p in pages)
        r = await arequest(guard, "/")
        assert r.status_code == 503 and r.headers["retry-after"] == "30"
        assert b"This server is full" in r.body and b"2 pages open" in r.body and b"<script" not in r.body
        assert r.headers["content-type"].startswith("text/html") and r.headers["cache-control"] == "no-store"
        assert (await arequest(guard, "/_stcore/health")).status_code == 200  # the balancer's check: still up
        assert (await arequest(guard, "/static/app.js")).status_code == 200  # a student on it loads on
        await pages[0].close()
        assert (await arequest(guard, "/")).status_code == 200  # room again

    asyncio.run(scenario())


def test_memory_past_the_limit_takes_no_new_page_and_none_is_set_by_default():
    guard = stand_in(ServerLimits(max_memory_mb=500))
    guard.memory = lambda: 499.0
    assert request(guard, "/").status_code == 200
    guard = stand_in(ServerLimits(max_memory_mb=500))
    guard.memory = lambda: 512.0
    r = request(guard, "/")
    assert r.status_code == 503 and b"memory is at its limit (500 MiB)" in r.body

    async def websocket_refused():
        page = Page(guard, "203.0.113.7")
        await asyncio.sleep(0.05)
        assert not page.accepted and page.refused

    asyncio.run(websocket_refused())
    unlimited = stand_in()
    unlimited.memory = lambda: 1e9
    assert request(unlimited, "/").status_code == 200
