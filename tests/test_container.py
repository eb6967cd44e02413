"""Build the Docker image, run it, and load the page it serves in Chromium.

Needs a container engine behind ``docker`` (on the project's machines, podman via
../shared/container/engine.sh, which ``.ci/run`` runs). Without one the test fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field

import pytest

from tests.support import ARTIFACTS, ROOT, chromium_page, free_port, wait_app_ready, wait_health

BUILD_TIMEOUT = 900  # pip installs streamlit inside the build
HEALTH_TIMEOUT = 120
TITLE = re.compile(r"softmax", re.IGNORECASE)  # the page's h1
NOT_IN_IMAGE = {"tests", "bench", ".git", ".ci", "test-artifacts", "requirements-dev.txt", "pyproject.toml"}
NO_ENGINE = (
    "no container engine answers `docker info`; .ci/run installs one with "
    "`bash ../shared/container/engine.sh` (podman behind a `docker` shim; run it as root)"
)


def log(msg: str) -> None:
    print(f"[container] {msg}", file=sys.stderr, flush=True)


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return proc


def require_engine() -> None:
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"{NO_ENGINE} ({exc})", pytrace=False)
    if info.returncode != 0:
        pytest.fail(f"{NO_ENGINE}\n{info.stderr.strip()}", pytrace=False)


@dataclass
class Container:
    """Names for one image and one container; ``cleanup`` removes whatever was created."""

    tag: str
    name: str
    port: int = field(default_factory=free_port)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def build(self) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        build_log = ARTIFACTS / "container-build.log"
        log(f"docker build -t {self.tag} . (log: {build_log})")
        started = time.monotonic()
        with open(build_log, "w") as out:
            proc = subprocess.Popen(["docker", "build", "-t", self.tag, "."], cwd=ROOT,
                                    stdout=out, stderr=subprocess.STDOUT)
            try:
                rc = proc.wait(timeout=BUILD_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"docker build took more than {BUILD_TIMEOUT}s; see {build_log}", pytrace=False)
        tail = "\n".join(build_log.read_text(errors="replace").splitlines()[-30:])
        if rc != 0:
            pytest.fail(f"docker build exited {rc}; see {build_log}:\n{tail}", pytrace=False)
        log(f"built in {time.monotonic() - started:.0f}s")

    def run(self) -> None:
        log(f"docker run -d --name {self.name} -p 127.0.0.1:{self.port}:8501 {self.tag}")
        docker("run", "-d", "--name", self.name, "-p", f"127.0.0.1:{self.port}:8501", self.tag)
        started = time.monotonic()
        try:
            wait_health(self.base, timeout=HEALTH_TIMEOUT)
        except TimeoutError as exc:
            logs = docker("logs", self.name, check=False)
            pytest.fail(f"{exc}\ncontainer logs:\n{logs.stdout}{logs.stderr}", pytrace=False)
        log(f"/_stcore/health ok after {time.monotonic() - started:.1f}s")

    def exec(self, *cmd: str) -> str:
        return docker("exec", self.name, *cmd).stdout

    def cleanup(self) -> None:
        try:
            logs = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True, timeout=60)
            if logs.returncode == 0:
                ARTIFACTS.mkdir(exist_ok=True)
                (ARTIFACTS / "container.log").write_text(logs.stdout + logs.stderr)
            for cmd in (["rm", "-f", self.name], ["rmi", "-f", self.tag]):
                subprocess.run(["docker", *cmd], capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log(f"cleanup: {exc}")


@pytest.fixture
def container():
    suffix = uuid.uuid4().hex[:10]
    c = Container(tag=f"softmax-demo-test-{suffix}", name=f"softmax-demo-test-{suffix}")
    try:
        yield c
    finally:
        c.cleanup()


def check_not_root(c: Container) -> None:
    uid = c.exec("id", "-u").strip()
    assert uid != "0", "docker exec runs as root: the image has no non-root USER"
    status = c.exec("cat", "/proc/1/status")
    cmdline = c.exec("cat", "/proc/1/cmdline").replace("\0", " ")
    uids = re.search(r"^Uid:\s+(.*)$", status, re.MULTILINE).group(1).split()
    assert "streamlit" in cmdline, f"PID 1 is not the Streamlit server: {cmdline}"
    assert "0" not in uids, f"the server process runs as root: Uid {uids}"
    log(f"server runs as uid {uids[0]}: {cmdline.strip()}")


def check_image_contents(c: Container) -> None:
    listing = set(c.exec("ls", "-A", "/app").split())
    assert {"app.py", "softmax", "static"} <= listing, listing
    assert not listing & NOT_IN_IMAGE, f"/app holds files the app does not need: {listing & NOT_IN_IMAGE}"
    with urllib.request.urlopen(f"{c.base}/app/static/plotly.min.js", timeout=10) as r:
        head = r.read(4096)
    assert b"plotly" in head.lower(), "static/plotly.min.js is not plotly.js"


def check_healthcheck(c: Container, podman: bool) -> None:
    health = docker("image", "inspect", c.tag, "--format", "{{json .Config.Healthcheck}}").stdout
    assert "/_stcore/health" in health, f"the image has no HEALTHCHECK on /_stcore/health: {health}"
    if podman:
        # podman here has no systemd timer to run it: run it once by hand.
        hc = docker("healthcheck", "run", c.name, check=False)
        assert hc.returncode == 0, f"HEALTHCHECK failed: {hc.stdout}{hc.stderr}"
        log("docker healthcheck run: healthy")
        return
    deadline = time.monotonic() + 120
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", c.name, "--format", "{{.State.Health.Status}}").stdout.strip()
        if status == "healthy":
            log("docker inspect: healthy")
            return
        time.sleep(2)
    pytest.fail(f"container health is {status!r}, not healthy", pytrace=False)


def check_page(c: Container) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        try:
            page.goto(c.base)
            wait_app_ready(page)
            assert page.locator("[data-testid='stApp']").count() == 1
            h1 = page.locator("h1").first
            h1.wait_for(timeout=30_000)
            title = h1.inner_text().strip()
            assert TITLE.search(title), f"unexpected page title {title!r}"
            log(f"page title: {title!r}")
            start = page.get_by_role("button", name=re.compile(r"\bStart\b"))
            if start.count():
                start.first.click()
                page.get_by_text(re.compile(r"Iteration [1-9]")).first.wait_for(timeout=60_000)
                log("Start clicked: iterations are running")
            errors = page.locator("[data-testid='stException']")
            assert errors.count() == 0, f"the page shows an exception: {errors.first.inner_text()}"
        finally:
            page.screenshot(path=str(ARTIFACTS / "container.png"), full_page=True)


@pytest.mark.container
@pytest.mark.slow
@pytest.mark.browser
def test_image_builds_runs_and_serves_the_page(container: Container) -> None:
    require_engine()
    podman = "podman" in docker("--version").stdout.lower()
    container.build()
    container.run()
    check_not_root(container)
    check_image_contents(container)
    check_healthcheck(container, podman)
    check_page(container)
