"""Two app replicas behind HAProxy (compose.yaml + deploy/compose.tls.yaml): every browser stays on
its own replica, over HTTPS, with the containers hardened and one client address held to its limits.

A Streamlit session -- its script state, its reconnects, the files its download buttons serve
under /media/ -- lives in one process's memory. Here ``docker compose up --scale app=2`` runs the
real images (app + deploy/haproxy) as compose.yaml configures them (read-only roots, no
capabilities, no privilege escalation, memory and CPU limits) with HAProxy terminating TLS (a
certificate made for the test), and independent browsers (separate Playwright contexts, so
separate cookie jars) check what the balancer must guarantee:

- the browsers are spread over both replicas, and every request of one browser (page, assets,
  websocket handshakes, downloads) is answered by that browser's replica;
- the exported script a session offers for download exists on its own replica only;
- closing the websocket (a network blip) reconnects to the same replica and the run goes on;
- stopping one replica leaves the other's students connected and training, new students land
  on the survivor, and the stopped replica's students reconnect to it (with a fresh session).

- plain HTTP redirects to HTTPS and the sticky cookie is Secure; /_stcore/metrics is refused in
  every spelling the server would still route to it;
- a class of 30 loading the page at once from one address gets through; the per-address limits
  refuse the 121st page, requests past the rate limit, connections past the cap.

Every test sets up what it uses (its own browsers, opened and closed by a fixture) and puts back
what it changes (a stopped replica is started again, a client that hit a limit waits until the
balancer forgets it), so the tests pass in any order. The cluster is shared by the module.

The balancer marks every response with ``X-Served-By: <slot> <replica address>``; the address
names the replica (``docker inspect`` maps it to its container).

Needs a container engine behind ``docker`` with ``docker compose`` (podman + podman-compose via
../shared/container/engine.sh on the project's machines). Measured here (2 cores): both images
built in 50-110 s, the whole module 2.7 min on a quiet machine, 4.5 min beside other test runs.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from testing.support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ITERATION_JS, ROOT, free_port, wait_app_ready
from tests.test_container import BUILD_TIMEOUT, HEALTH_TIMEOUT, docker, require_engine

pytestmark = [pytest.mark.container, pytest.mark.slow, pytest.mark.browser]

REPLICAS = 2
STUDENTS = 4  # opened one after another: HAProxy's leastconn alternates them over the replicas
# The 'Explain the gradient' tab holds the download button; a slow, long run that keeps training
# through the whole module, redrawn once a second to spare this machine's two cores.
QUERY = "?view=Explain+the+gradient&speed=20&iterations=100000&refresh=1"
DOWNLOAD = "Download this run as a Python script"
STICKY_COOKIE = "SOFTMAX_LB"  # deploy/haproxy/haproxy.cfg
METRICS_SPELLINGS = ["/_stcore/metrics", "/_stcore/metrics/", "/_stcore/metrics?x=1", "/_stcore/%6detrics",
                     "/_stcore/%6Detrics", "/_stcore%2fmetrics", "/%5fstcore/metrics", "/_stcore/metrics%2f"]
METRICS_BODY = b"session_events"  # in Streamlit's metrics answer
LB_DEFAULTS = {"MAX_CONN": 500, "MAX_PAGES": 120, "MAX_REQ_RATE": 8000}  # compose.yaml's defaults
CLASS = 30  # students behind one NAT address
# Remembers every WebSocket the page opens, so a test can close them like a network blip would.
TRACK_SOCKETS = """(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__sockets.push(this); }
  };
})();"""
OPEN_SOCKETS_JS = "() => window.__sockets.filter(s => s.readyState === WebSocket.OPEN).length"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"


def log(msg: str) -> None:
    print(f"[replicas] {msg}", file=sys.stderr, flush=True)


def replica_of(served_by: str | None) -> str | None:
    """The replica's address in an ``X-Served-By: app-1 10.89.0.3:8501`` header."""
    return served_by.split()[-1] if served_by else None


def header(headers: dict, name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


TLS = ssl.create_default_context()  # the cluster fixture makes it trust the test's certificate


def served_by(url: str, cookie: str | None = None) -> tuple[int, str | None, bytes]:
    """GET through the balancer (a fresh client, or one holding a stickiness cookie):
    (status, replica, body)."""
    req = urllib.request.Request(url, headers={"Cookie": f"{STICKY_COOKIE}={cookie}"} if cookie else {})
    try:
        with urllib.request.urlopen(req, timeout=15, context=TLS if url.startswith("https:") else None) as r:
            return r.status, replica_of(r.headers.get("X-Served-By")), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, replica_of(exc.headers.get("X-Served-By")), exc.read()


@dataclass
class Cluster:
    """One compose project (its own images, network and published port); ``down`` removes it all."""

    replicas: int = REPLICAS
    env: dict[str, str] = field(default_factory=dict)  # more compose variables (e.g. SOFTMAX_MAX_RUNNING)
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    port: int = field(default_factory=free_port)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    log_name: str | None = "replicas.log"  # the containers' logs are saved here (test-artifacts/) by down()
    tls: bool = False  # HTTPS (deploy/compose.tls.yaml) with a certificate made for the cluster
    tls_port: int = field(default_factory=free_port)
    tls_dir: Path | None = None

    def make_certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1 (openssl), as the PEM the balancer reads (uid 10002)."""
        self.tls_dir = Path(tempfile.mkdtemp(prefix="softmax-tls-"))
        cert, key, pem = (self.tls_dir / name for name in ("cert.pem", "key.pem", "softmax.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
        pem.write_bytes(cert.read_bytes() + key.read_bytes())
        os.chown(pem, 10002, 10002)  # deploy/haproxy/Dockerfile's user
        pem.chmod(0o600)
        TLS.load_verify_locations(cafile=str(cert))

    @property
    def project(self) -> str:
        return f"softmaxreplicas{self.suffix}"

    @property
    def images(self) -> dict[str, str]:
        return {"SOFTMAX_IMAGE": f"softmax-replicas-test-{self.suffix}",
                "SOFTMAX_LB_IMAGE": f"softmax-haproxy-test-{self.suffix}"}

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}" if self.tls else self.http_base

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def compose(self, *args: str, timeout: float = 300, out=None) -> subprocess.CompletedProcess:
        env = {**os.environ, **self.env, **self.images, "STREAMLIT_SERVER_COOKIE_SECRET": self.secret,
               "SOFTMAX_PORT": str(self.port), "SOFTMAX_BIND": "127.0.0.1"}
        files = ["-f", str(ROOT / "compose.yaml")]
        if self.tls:
            if self.tls_dir is None:
                self.make_certificate()
            env |= {"SOFTMAX_TLS_PEM": str(self.tls_dir / "softmax.pem"), "SOFTMAX_TLS_PORT": str(self.tls_port)}
            files += ["-f", str(ROOT / "deploy" / "compose.tls.yaml")]
        cmd = ["docker", "compose", "-p", self.project, *files, *args]
        if out is None:
            return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        return subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)

    def build(self) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        build_log = ARTIFACTS / "replicas-build.log"
        log(f"docker compose build (log: {build_log})")
        started = time.monotonic()
        with open(build_log, "w") as out:
            try:
                rc = self.compose("build", timeout=BUILD_TIMEOUT, out=out).returncode
            except subprocess.TimeoutExpired:
                pytest.fail(f"docker compose build took more than {BUILD_TIMEOUT}s; see {build_log}", pytrace=False)
        if rc != 0:
            tail = "\n".join(build_log.read_text(errors="replace").splitlines()[-30:])
            pytest.fail(f"docker compose build exited {rc}; see {build_log}:\n{tail}", pytrace=False)
        log(f"images built in {time.monotonic() - started:.0f}s")

    def up(self) -> None:
        started = time.monotonic()
        proc = self.compose("up", "-d", "--no-build", "--scale", f"app={self.replicas}")
        if proc.returncode != 0:
            pytest.fail(f"docker compose up exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
        try:
            seen = self.wait_replicas(self.replicas, timeout=HEALTH_TIMEOUT)
        except TimeoutError as exc:
            pytest.fail(f"{exc}\n{self.logs()}", pytrace=False)
        log(f"{self.replicas} replicas answer through the balancer after {time.monotonic() - started:.1f}s: {seen}")

    def wait_replicas(self, n: int, timeout: float) -> set[str]:
        """Fresh clients (no cookie) until the balancer has answered from n distinct replicas."""
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, replica, body = served_by(f"{self.base}/_stcore/health")
                if status == 200 and body.strip() == b"ok" and replica:
                    seen.add(replica)
            except OSError:
                pass
            if len(seen) >= n:
                return seen
            time.sleep(0.2)
        raise TimeoutError(f"the balancer answered from {len(seen)} of {n} replicas in {timeout}s: {seen}")

    def containers(self, service: str) -> list[str]:
        out = docker("ps", "-a", "--filter", f"label=com.docker.compose.project={self.project}",
                     "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Names}}").stdout
        return sorted(out.split())

    def replica_containers(self) -> dict[str, str]:
        """Replica address (as in X-Served-By) -> container name."""
        found = {}
        for name in self.containers("app"):
            ip = docker("inspect", name, "--format",
                        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}").stdout.strip()
            found[f"{ip}:8501"] = name
        return found

    def logs(self) -> str:
        parts = []
        for name in self.containers("lb") + self.containers("app"):
            proc = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=60)
            parts.append(f"--- {name} ---\n{proc.stdout}{proc.stderr}")
        return "\n".join(parts)

    def down(self, keep_images: bool = False) -> None:
        """Containers and network gone (logs saved first); the images too unless ``keep_images``."""
        try:
            if self.log_name:
                ARTIFACTS.mkdir(exist_ok=True)
                (ARTIFACTS / self.log_name).write_text(self.logs())
        except (OSError, subprocess.TimeoutExpired) as exc:
            log(f"saving logs: {exc}")
        started = time.monotonic()
        try:
            # --remove-orphans: podman-compose's down otherwise removes only replica 1 of a scaled service.
            proc = self.compose("down", "-t", "5", "--remove-orphans", timeout=180)
            if proc.returncode != 0:
                log(f"docker compose down exited {proc.returncode}: {proc.stderr[-2000:]}")
            leftover = subprocess.run(
                ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}"],
                capture_output=True, text=True, timeout=60).stdout.split()
            cmds = [["rm", "-f", *leftover]] if leftover else []
            cmds.append(["network", "rm", f"{self.project}_default"])
            if not keep_images:
                cmds.append(["rmi", "-f", *self.images.values()])
            for cmd in cmds:
                subprocess.run(["docker", *cmd], capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log(f"cleanup: {exc}")
        if self.tls_dir is not None and not keep_images:
            shutil.rmtree(self.tls_dir, ignore_errors=True)
            self.tls_dir = None
        log(f"down{'' if keep_images else ' and images removed'} in {time.monotonic() - started:.0f}s")


@dataclass
class Student:
    """One browser of its own (a Playwright context: its own cookies) with the app open."""

    name: str
    context: object
    page: object
    handshakes: list[str | None] = field(default_factory=list)  # replica of each websocket handshake
    responses: list[tuple[str, str | None]] = field(default_factory=list)  # (url, replica) of HTTP responses

    @property
    def replica(self) -> str | None:
        """The replica that answered the page itself."""
        return next((r for url, r in self.responses if "/_stcore/" not in url and "/static/" not in url), None)

    @property
    def cookie(self) -> str | None:
        return next((c["value"] for c in self.context.cookies() if c["name"] == STICKY_COOKIE), None)

    def iteration(self) -> int:
        return self.page.evaluate(ITERATION_JS) or 0

    def open_sockets(self) -> int:
        return self.page.evaluate(OPEN_SOCKETS_JS)

    def sockets(self) -> int:
        return self.page.evaluate("() => window.__sockets.length")

    def wait_training(self, above: int, timeout_ms: int = 120_000) -> int:
        self.page.wait_for_function(f"() => ({ITERATION_JS})() > {above}", timeout=timeout_ms)
        return self.iteration()


# Every student of the module gets a seed of its own: an exported script is named by a hash of its
# content, so two sessions with the same seed would serve the same /media/ URL -- and a session of
# an earlier test stays in its replica's memory for the reconnect window (120 s).
SEEDS = itertools.count(1)


def new_seeds(names: list[str]) -> dict[str, int]:
    return {name: next(SEEDS) for name in names}


def open_students(browser, base: str, seeds: dict[str, int]) -> list[Student]:
    """New browsers with the app open, each training its own run (its own seed: its own exported script).

    Each page's websocket is open before the next page is requested, so the balancer's leastconn
    sees it; the slow part (rendering, starting) then proceeds side by side."""
    started = time.monotonic()
    students = []
    for name, seed in seeds.items():
        context = browser.new_context(viewport={"width": 1100, "height": 800}, accept_downloads=True,
                                      ignore_https_errors=True)  # the test's own certificate
        context.set_default_timeout(120_000)
        context.add_init_script(TRACK_SOCKETS)
        page = context.new_page()
        student = Student(name, context, page)
        cdp = context.new_cdp_session(page)  # Chromium: websocket handshake headers are only seen here
        cdp.send("Network.enable")
        cdp.on("Network.webSocketHandshakeResponseReceived",
               lambda e, s=student: s.handshakes.append(replica_of(header(e["response"]["headers"], "x-served-by"))))
        page.on("response", lambda r, s=student: s.responses.append(
            (r.url, replica_of(header(r.headers, "x-served-by")))) if r.url.startswith(base) else None)
        page.goto(f"{base}/{QUERY}&seed={seed}")
        page.wait_for_function(f"() => ({OPEN_SOCKETS_JS})() >= 1")
        students.append(student)
    for s in students:
        wait_app_ready(s.page, timeout_ms=120_000)
        s.page.get_by_role("button", name="Start", exact=True).click()
    for s in students:
        s.wait_training(0)
        log(f"{s.name}: on replica {s.replica}, cookie {STICKY_COOKIE}={s.cookie}")
    log(f"{len(students)} browsers training after {time.monotonic() - started:.1f}s")
    return students


@pytest.fixture(scope="module")
def cluster():
    require_engine()
    c = Cluster(tls=True, env={"SOFTMAX_STREAM": "1"})  # (the classroom's Explain tab does not stream)
    try:
        c.build()
        c.up()
        yield c
    finally:
        c.down()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    # The test's certificate is self-signed: contexts ignore that (ignore_https_errors), and so must
    # Chromium's download manager, which does not look at the context's setting.
    b = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                           args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"])
    try:
        yield b
    finally:
        b.close()
        pw.stop()


@pytest.fixture
def classroom(cluster: Cluster, browser) -> list[Student]:
    """STUDENTS new browsers for one test, loaded one after another, each training its own run; closed after."""
    students = open_students(browser, cluster.base, new_seeds([f"student {i}" for i in range(STUDENTS)]))
    yield students
    for s in students:
        s.context.close()


def by_replica(students: list[Student]) -> dict[str, list[Student]]:
    groups: dict[str, list[Student]] = {}
    for s in students:
        groups.setdefault(s.replica, []).append(s)
    return groups


def test_replicas_share_one_cookie_secret_and_only_the_balancer_is_published(cluster: Cluster) -> None:
    apps, lbs = cluster.containers("app"), cluster.containers("lb")
    assert len(apps) == REPLICAS and len(lbs) == 1, (apps, lbs)
    for name in apps:
        environ = docker("exec", name, "cat", "/proc/1/environ").stdout.split("\0")
        assert f"STREAMLIT_SERVER_COOKIE_SECRET={cluster.secret}" in environ, f"{name}: the secret is not shared"
        assert not docker("port", name).stdout.strip(), f"{name} publishes a port of its own"
    shown = docker("exec", apps[0], "streamlit", "config", "show", timeout=120).stdout
    assert re.search(rf'^cookieSecret = "{re.escape(cluster.secret)}"$', shown, re.MULTILINE), (
        "Streamlit does not read server.cookieSecret from STREAMLIT_SERVER_COOKIE_SECRET")
    published = sorted(docker("port", lbs[0]).stdout.split("\n"))
    published = [line.strip() for line in published if line.strip()]
    expected = sorted([f"8080/tcp -> 127.0.0.1:{cluster.port}", f"8443/tcp -> 127.0.0.1:{cluster.tls_port}"])
    assert published == expected, f"the balancer publishes {published}"


def test_the_containers_run_read_only_without_capabilities_and_with_limits(cluster: Cluster) -> None:
    """compose.yaml's hardening, as the processes see it: no capability, no privilege gain, nothing
    writable but the app's /tmp; and the engine holds the memory, CPU and process limits."""
    expected = {"app": (2272 * 2**20, 1.1), "lb": (256 * 2**20, 1.0)}
    for service, (memory, cpus) in expected.items():
        for name in cluster.containers(service):
            status = docker("exec", name, "cat", "/proc/1/status").stdout
            fields = dict(re.findall(r"^(\w+):\s+(.*)$", status, re.MULTILINE))
            assert int(fields["CapEff"], 16) == 0 and int(fields["CapPrm"], 16) == 0, (name, fields["CapEff"])
            assert fields["NoNewPrivs"] == "1", name
            denied = docker("exec", name, "touch", "/probe", check=False)
            assert denied.returncode != 0 and "Read-only file system" in denied.stderr, f"{name}: / is writable"
            host = docker("inspect", name, "--format",
                          "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}").stdout.split()
            assert int(host[0]) == memory and int(host[1]) == int(cpus * 1e9) and int(host[2]) > 0, (name, host)
    for name in cluster.containers("app"):
        docker("exec", name, "touch", "/tmp/probe")  # the one writable place, a small tmpfs
        uid = docker("exec", name, "id", "-u").stdout.strip()
        assert uid == "10001", f"{name} runs as {uid}"
    log("app and balancer: read-only, CapEff 0, NoNewPrivs 1, limits set")


def test_browsers_spread_over_both_replicas_and_stick_to_theirs(cluster: Cluster, classroom: list[Student]) -> None:
    groups = by_replica(classroom)
    assert None not in groups, "a page came without X-Served-By"
    assert set(groups) == set(cluster.replica_containers()), (
        f"students landed on {sorted(groups)}; replicas are {cluster.replica_containers()}")
    cookies = {}
    for s in classroom:
        others = {(url, r) for url, r in s.responses if r != s.replica}
        assert not others, f"{s.name} (replica {s.replica}) got answers from elsewhere: {sorted(others)[:5]}"
        assert s.handshakes and set(s.handshakes) == {s.replica}, (
            f"{s.name}: websocket handshakes from {s.handshakes}, page from {s.replica}")
        cookies.setdefault(s.replica, set()).add(s.cookie)
    # The cookie names the replica: one value per replica, different between replicas. Over HTTPS it
    # is Secure (never sent over plain HTTP) and HttpOnly.
    assert all(len(v) == 1 and None not in v for v in cookies.values()), cookies
    assert len({next(iter(v)) for v in cookies.values()}) == REPLICAS, cookies
    for s in classroom:
        (sticky,) = [c for c in s.context.cookies() if c["name"] == STICKY_COOKIE]
        assert sticky["secure"] and sticky["httpOnly"] and sticky["sameSite"] == "Lax", sticky
    # And they train through the balancer: every page's iteration keeps rising.
    for s in classroom:
        s.wait_training(s.iteration())
    log(f"{len(classroom)} students over replicas {[(r, len(g)) for r, g in groups.items()]}; cookies {cookies}")


def test_each_download_is_served_by_its_sessions_replica(cluster: Cluster, classroom: list[Student]) -> None:
    groups = by_replica(classroom)
    for s in classroom:
        with s.page.expect_download() as info:
            s.page.get_by_role("button", name=DOWNLOAD).click()
        download = info.value
        url = download.url
        assert url.startswith(f"{cluster.base}/media/"), url
        script = open(download.path(), encoding="utf-8").read()
        assert "softmax" in script.lower() and "import numpy" in script, script[:300]
        # The same file again, with this browser's cookies: from this browser's replica.
        again = s.context.request.get(url)
        assert again.status == 200, f"{s.name}: {url} -> {again.status}"
        assert replica_of(again.headers.get("x-served-by")) == s.replica
        assert again.text() == script
        # The file lives in that replica's memory only: a browser held by the other replica gets a 404.
        other = next(o for r, g in groups.items() if r != s.replica for o in g)
        status, replica, _ = served_by(url, other.cookie)
        assert (status, replica) == (404, other.replica), (
            f"{url} of {s.name} (replica {s.replica}) asked via {other.name}'s replica: {status} from {replica}")
        log(f"{s.name}: {url.removeprefix(cluster.base)} from {s.replica}; 404 from {other.replica}")


def test_a_run_survives_a_websocket_reconnect(classroom: list[Student]) -> None:
    for s in classroom:
        before, sockets, handshakes = s.iteration(), s.sockets(), len(s.handshakes)
        s.page.evaluate("() => window.__sockets.forEach(s => s.close())")  # like a network blip
        s.page.wait_for_function(
            f"() => window.__sockets.length > {sockets} && window.__sockets.at(-1).readyState === WebSocket.OPEN")
        s.page.wait_for_selector(CONNECTED)
        s.page.wait_for_timeout(200)  # let the handshake's CDP event arrive
        assert len(s.handshakes) > handshakes and s.handshakes[-1] == s.replica, (
            f"{s.name} reconnected to {s.handshakes[handshakes:]}, its session is on {s.replica}")
        # The same session: the run goes on from where it was (a new session would show iteration 0, idle).
        seen = [s.iteration()]
        after = s.wait_training(max(seen[0], before), timeout_ms=60_000)
        seen.append(after)
        assert min(seen) >= before, f"{s.name}: iteration {before} before the reconnect, then {seen}"
        log(f"{s.name}: reconnected to {s.replica}; iteration {before} -> {after}")


# The board's state: the stream frames it drew, and its status line (shown while it follows the stream).
BOARD_JS = """() => {
  const b = document.querySelector('.plotly-board'), st = document.querySelector('.plotly-board-status');
  return {seq: b ? (b._streamSeq ?? null) : null, status: st ? st.innerText : null};
}"""


def test_the_live_stream_goes_through_the_balancer_to_the_pages_replica(cluster: Cluster, browser) -> None:
    """SOFTMAX_STREAM=1: a training Watch tab's board opens /_softmax/stream through HAProxy; the sticky
    cookie takes it to the page's own replica (a stream's token exists in that process only), frames
    arrive, and Pause hands the status line back to the page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600}, ignore_https_errors=True)
    context.set_default_timeout(120_000)
    try:
        page = context.new_page()
        urls, streams, pages = {}, [], []
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.webSocketCreated", lambda e: urls.__setitem__(e["requestId"], e["url"]))
        cdp.on("Network.webSocketHandshakeResponseReceived", lambda e: (
            streams if "/_softmax/stream" in urls.get(e["requestId"], "") else pages).append(
            (e["response"]["status"], replica_of(header(e["response"]["headers"], "x-served-by")))))
        page.goto(f"{cluster.base}/?speed=50&iterations=100000&seed={next(SEEDS)}")
        wait_app_ready(page, timeout_ms=120_000)
        page.get_by_role("button", name="Start", exact=True).click()
        page.wait_for_function(f"() => ({BOARD_JS})().status !== null")  # the board follows the stream
        first = page.evaluate(BOARD_JS)["seq"]
        page.wait_for_function(f"() => ({BOARD_JS})().seq >= {first + 3}")  # and keeps drawing its frames
        assert "Iteration" in page.evaluate(BOARD_JS)["status"]
        replica = pages[0][1]
        assert replica and all(r == replica for _, r in pages), pages
        assert streams and all(s == (101, replica) for s in streams), (
            f"stream handshakes {streams}; the page's replica {replica}")
        page.get_by_role("button", name="Pause", exact=True).click()
        page.wait_for_function(f"() => ({BOARD_JS})().status === null", timeout=15_000)
        log(f"stream through the balancer on {replica}: {len(streams)} handshake(s), frames up to seq "
            f"{page.evaluate(BOARD_JS)['seq']}")
    finally:
        context.close()


def test_stopping_one_replica_leaves_the_others_students_alone(
        cluster: Cluster, browser, classroom: list[Student], restart_stopped_replicas) -> None:
    containers = cluster.replica_containers()
    victim = classroom[0].replica
    (survivor,) = set(containers) - {victim}
    hit = [s for s in classroom if s.replica == victim]
    spared = [s for s in classroom if s.replica == survivor]
    assert hit and spared
    before = {s.name: (s.iteration(), s.sockets()) for s in spared}
    hit_sockets = {s.name: s.sockets() for s in hit}

    started = time.monotonic()
    docker("stop", "-t", "10", containers[victim], timeout=60)
    log(f"stopped {containers[victim]} ({victim}) in {time.monotonic() - started:.1f}s")

    # The survivor's students: connected all along, on the websocket they had, still training.
    # Meanwhile the stopped replica's students reconnect -- to the survivor, with a new session
    # (their runs lived in the stopped process).
    reconnected: dict[str, float] = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for s in spared:
            assert s.page.locator(CONNECTED).count() == 1, f"{s.name} lost its connection"
            assert s.sockets() == before[s.name][1] and s.open_sockets() == 1, f"{s.name} had to reconnect"
        for s in hit:
            if s.name not in reconnected and s.sockets() > hit_sockets[s.name] and s.open_sockets() == 1:
                reconnected[s.name] = time.monotonic() - started
        time.sleep(0.5)
    for s in spared:
        now = s.wait_training(before[s.name][0], timeout_ms=30_000)
        log(f"{s.name} on {survivor}: iteration {before[s.name][0]} -> {now}, no reconnect")
    for s in hit:
        s.page.wait_for_function(f"() => window.__sockets.length > {hit_sockets[s.name]} "
                                 "&& window.__sockets.at(-1).readyState === WebSocket.OPEN", timeout=60_000)
        reconnected.setdefault(s.name, time.monotonic() - started)
        s.page.wait_for_selector(CONNECTED, timeout=60_000)
        s.page.wait_for_timeout(200)  # let the handshake's CDP event arrive
        assert s.handshakes[-1] == survivor, f"{s.name} reconnected to {s.handshakes[-1]}"
        status, replica, _ = served_by(f"{cluster.base}/_stcore/health", s.cookie)
        assert (status, replica) == (200, survivor), f"{s.name}'s cookie now leads to {replica} ({status})"
        log(f"{s.name} of the stopped replica: on {survivor} {reconnected[s.name]:.1f}s after the stop "
            f"(iteration {s.iteration()}: a new session)")

    # New students land on the survivor and can train.
    newcomers = open_students(browser, cluster.base, new_seeds([f"new student {i}" for i in range(2)]))
    try:
        for new in newcomers:
            assert new.replica == survivor and set(new.handshakes) == {survivor}, (
                f"{new.name}: page from {new.replica}, websocket from {new.handshakes}")
    finally:
        for new in newcomers:
            new.context.close()


@pytest.fixture
def restart_stopped_replicas(cluster: Cluster):
    """After a test that stops replicas: start them again and wait until the balancer uses them."""
    yield
    stopped = [name for name in cluster.containers("app")
               if docker("inspect", name, "--format", "{{.State.Running}}").stdout.strip() != "true"]
    for name in stopped:
        docker("start", name, timeout=120)
    if stopped:
        cluster.wait_replicas(cluster.replicas, timeout=HEALTH_TIMEOUT)
        log(f"started {stopped} again")


# -- the balancer's own rules ------------------------------------------------------------------------
def test_plain_http_redirects_to_https(cluster: Cluster) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=15)
    try:
        conn.request("GET", "/?preset=cs231n")
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status == 301, response.status
    assert response.getheader("Location") == f"{cluster.base}/?preset=cs231n", response.getheader("Location")
    assert response.getheader("Set-Cookie") is None, "a cookie was set over plain HTTP"
    status, replica, body = served_by(f"{cluster.base}/_stcore/health")
    assert (status, body.strip()) == (200, b"ok") and replica


def test_the_metrics_are_refused_through_the_balancer_however_spelt(cluster: Cluster) -> None:
    # The replicas do serve it (so a 403 below is the balancer's doing, not a missing page).
    app = cluster.containers("app")[0]
    inside = docker("exec", app, "python", "-c", "import urllib.request; print(urllib.request.urlopen("
                    "'http://127.0.0.1:8501/_stcore/metrics', timeout=10).read().decode())").stdout
    # (which metrics come first depends on what the replica served before: read them all)
    assert METRICS_BODY.decode() in inside, inside[:300]
    for spelling in METRICS_SPELLINGS:
        status, replica, body = served_by(cluster.base + spelling)
        assert status == 403 and METRICS_BODY not in body and replica is None, (spelling, status, body[:200])
    log(f"/_stcore/metrics refused (403) in {len(METRICS_SPELLINGS)} spellings")


def page_load_paths(browser, base: str) -> list[str]:
    """The paths one browser with an empty cache requests to load the page (the websocket aside)."""
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        urls: list[str] = []
        page.on("request", lambda r: urls.append(r.url) if r.url.startswith(base) else None)
        page.goto(f"{base}/")
        wait_app_ready(page, timeout_ms=120_000)
        page.wait_for_timeout(1000)
    finally:
        context.close()
    return [u[len(base):] for u in urls if "/_stcore/stream" not in u]


def fetch_over_one_connection(base: str, paths: list[str]) -> list[int]:
    """GET each path in turn over one keep-alive HTTPS connection (a browser's connection); statuses,
    or -1 where the connection was refused or dropped."""
    parts = urlsplit(base)
    statuses = []
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=TLS, timeout=60)
    try:
        for path in paths:
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                statuses.append(response.status)
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=TLS, timeout=60)
            except (OSError, http.client.HTTPException):
                statuses.append(-1)
                conn.close()
                conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=TLS, timeout=60)
    finally:
        conn.close()
    return statuses


def run_async(coro):
    """asyncio.run in a thread of its own (Playwright's sync API holds an event loop in this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def open_pages(base: str, n: int, hold: float = 0.0) -> tuple[int, list[int]]:
    """Open n websockets to /_stcore/stream (n pages), hold them, close them: (opened, refusal statuses)."""
    url = base.replace("https://", "wss://", 1) + "/_stcore/stream"
    sockets, refused = [], []
    try:
        for _ in range(n):
            try:
                sockets.append(await connect(url, ssl=TLS, subprotocols=["streamlit"], open_timeout=30,
                                             ping_interval=None))
            except InvalidStatus as exc:
                refused.append(exc.response.status_code)
        await asyncio.sleep(hold)
        return len(sockets), refused
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def test_a_class_behind_one_address_loads_the_page_at_once(
        cluster: Cluster, browser, forgotten_by_the_balancer) -> None:
    """CLASS students behind one NAT address (all of the test's traffic comes from one address) open
    the page at the same moment with empty caches: every request is answered, every page connects."""
    paths = page_load_paths(browser, cluster.base)
    assert len(paths) > 20 and "/" in paths[0], paths[:5]
    per_connection = [paths[i::6] for i in range(6)]  # a browser opens up to 6 connections per host
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=6 * CLASS) as pool:
        results = list(pool.map(lambda chunk: fetch_over_one_connection(cluster.base, chunk),
                                per_connection * CLASS))
    statuses = [s for r in results for s in r]
    took = time.monotonic() - started
    refused = [s for s in statuses if s not in (200, 304)]
    assert not refused, f"{len(refused)} of {len(statuses)} requests refused or failed: {sorted(set(refused))}"
    opened, refused_pages = run_async(open_pages(cluster.base, CLASS))
    assert (opened, refused_pages) == (CLASS, []), (opened, refused_pages)
    log(f"{CLASS} page loads from one address: {len(statuses)} requests over {6 * CLASS} connections in "
        f"{took:.1f}s, {CLASS} pages connected; none refused")


@pytest.fixture
def forgotten_by_the_balancer():
    """After a test that pushes one address past a limit: wait until the balancer's 10 s rates have
    decayed to nothing (two periods), so the next test starts with a clean slate."""
    yield
    time.sleep(21)


def test_one_address_gets_at_most_its_pages(cluster: Cluster, forgotten_by_the_balancer) -> None:
    limit = LB_DEFAULTS["MAX_PAGES"]
    opened, refused = run_async(open_pages(cluster.base, limit + 3))
    assert opened == limit and refused == [429, 429, 429], (opened, refused)
    # The balancer's limit counts open pages only: once they closed, a page from the address is let in
    # again. (Each replica's own budget of new pages per address, 60 a minute, refills one a second:
    # its 503 is that other limit, so wait for it; a 429 would be the balancer still counting.)
    deadline = time.monotonic() + 30
    while True:
        opened, refused = run_async(open_pages(cluster.base, 1))
        if refused != [503] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (opened, refused) == (1, [])
    log(f"{limit} pages from one address open, the next 3 refused with 429; one again after they closed")


def test_one_address_gets_at_most_its_request_rate(cluster: Cluster, forgotten_by_the_balancer) -> None:
    limit = LB_DEFAULTS["MAX_REQ_RATE"]
    statuses = fetch_over_one_connection(cluster.base, ["/_stcore/metrics"] * (limit + 100))
    first = statuses.index(429) if 429 in statuses else None
    assert first is not None and set(statuses[:first]) == {403} and set(statuses[first:]) == {429}, (
        first, sorted(set(statuses)))
    assert first >= limit - 200, f"refused after {first} requests; the limit is {limit} per 10 s"
    log(f"requests from one address: 429 from request {first + 1} on (limit {limit} per 10 s)")


def test_one_address_gets_at_most_its_connections(cluster: Cluster, forgotten_by_the_balancer) -> None:
    limit = LB_DEFAULTS["MAX_CONN"]
    sockets = []
    try:
        for _ in range(limit + 5):
            sockets.append(socket.create_connection(("127.0.0.1", cluster.port), timeout=10))
        time.sleep(1)
        closed = 0
        for s in sockets:
            s.settimeout(0.05)
            try:
                closed += s.recv(1) == b""
            except TimeoutError:
                pass
            except OSError:
                closed += 1
    finally:
        for s in sockets:
            s.close()
    assert closed == 5, f"{closed} of {limit + 5} connections closed by the balancer (limit {limit})"
    time.sleep(1)
    status, _, _ = served_by(f"{cluster.base}/_stcore/health")
    assert status == 200
    log(f"{limit} connections from one address held, the next 5 closed at once")
