"""Two app replicas behind HAProxy (compose.yaml): every browser stays on its own replica.

A Streamlit session -- its script state, its reconnects, the files its download buttons serve
under /media/ -- lives in one process's memory. Here ``docker compose up --scale app=2`` runs the
real images (app + deploy/haproxy) and independent browsers (separate Playwright contexts, so
separate cookie jars) check what the balancer must guarantee:

- the browsers are spread over both replicas, and every request of one browser (page, assets,
  websocket handshakes, downloads) is answered by that browser's replica;
- the exported script a session offers for download exists on its own replica only;
- closing the websocket (a network blip) reconnects to the same replica and the run goes on;
- stopping one replica leaves the other's students connected and training, new students land
  on the survivor, and the stopped replica's students reconnect to it (with a fresh session).

The balancer marks every response with ``X-Served-By: <slot> <replica address>``; the address
names the replica (``docker inspect`` maps it to its container).

Needs a container engine behind ``docker`` with ``docker compose`` (podman + podman-compose via
../shared/container/engine.sh on the project's machines). Measured here (2 cores): both images
built in 50-110 s, the whole module 2.7 min on a quiet machine, 4.5 min beside other test runs.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

import pytest

from tests.support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ITERATION_JS, ROOT, free_port, wait_app_ready, wait_health
from tests.test_container import BUILD_TIMEOUT, HEALTH_TIMEOUT, docker, require_engine

pytestmark = [pytest.mark.container, pytest.mark.slow, pytest.mark.browser]

REPLICAS = 2
STUDENTS = 4  # opened one after another: HAProxy's leastconn alternates them over the replicas
# The 'Explain the gradient' tab holds the download button; a slow, long run that keeps training
# through the whole module, redrawn once a second to spare this machine's two cores.
QUERY = "?view=Explain+the+gradient&speed=20&iterations=100000&refresh=1"
DOWNLOAD = "Download this run as a Python script"
STICKY_COOKIE = "SOFTMAX_LB"  # deploy/haproxy/haproxy.cfg
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


def served_by(url: str, cookie: str | None = None) -> tuple[int, str | None, bytes]:
    """GET through the balancer (a fresh client, or one holding a stickiness cookie):
    (status, replica, body)."""
    req = urllib.request.Request(url, headers={"Cookie": f"{STICKY_COOKIE}={cookie}"} if cookie else {})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
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

    @property
    def project(self) -> str:
        return f"softmaxreplicas{self.suffix}"

    @property
    def images(self) -> dict[str, str]:
        return {"SOFTMAX_IMAGE": f"softmax-replicas-test-{self.suffix}",
                "SOFTMAX_LB_IMAGE": f"softmax-haproxy-test-{self.suffix}"}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def compose(self, *args: str, timeout: float = 300, out=None) -> subprocess.CompletedProcess:
        env = {**os.environ, **self.env, **self.images, "STREAMLIT_SERVER_COOKIE_SECRET": self.secret,
               "SOFTMAX_PORT": str(self.port), "SOFTMAX_BIND": "127.0.0.1"}
        cmd = ["docker", "compose", "-p", self.project, "-f", str(ROOT / "compose.yaml"), *args]
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
            wait_health(self.base, timeout=HEALTH_TIMEOUT)
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


def open_students(browser, base: str, seeds: dict[str, int]) -> list[Student]:
    """New browsers with the app open, each training its own run (its own seed: its own exported script).

    Each page's websocket is open before the next page is requested, so the balancer's leastconn
    sees it; the slow part (rendering, starting) then proceeds side by side."""
    started = time.monotonic()
    students = []
    for name, seed in seeds.items():
        context = browser.new_context(viewport={"width": 1100, "height": 800}, accept_downloads=True)
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
    c = Cluster()
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
    b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()
        pw.stop()


@pytest.fixture(scope="module")
def classroom(cluster: Cluster, browser) -> list[Student]:
    """STUDENTS browsers, loaded one after another, each training its own run."""
    students = open_students(browser, cluster.base, {f"student {i}": i for i in range(STUDENTS)})
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
    published = docker("port", lbs[0]).stdout.strip()
    assert published.endswith(f"127.0.0.1:{cluster.port}"), f"the balancer publishes {published!r}"


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
    # The cookie names the replica: one value per replica, different between replicas.
    assert all(len(v) == 1 and None not in v for v in cookies.values()), cookies
    assert len({next(iter(v)) for v in cookies.values()}) == REPLICAS, cookies
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


def test_stopping_one_replica_leaves_the_others_students_alone(
        cluster: Cluster, browser, classroom: list[Student]) -> None:
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
    newcomers = open_students(browser, cluster.base, {f"new student {i}": STUDENTS + i for i in range(2)})
    try:
        for new in newcomers:
            assert new.replica == survivor and set(new.handshakes) == {survivor}, (
                f"{new.name}: page from {new.replica}, websocket from {new.handshakes}")
    finally:
        for new in newcomers:
            new.context.close()
