"""The Docker image: reproducible inputs (locks, base image, build context), then built, run the
way the Kubernetes pod runs it, and its page loaded and trained in Chromium.

The first tests read files only (fast, no engine): the lock files cover their requirements files
and carry hashes, the build context is an allowlist that leaves out .env and keys. The container
test needs a container engine behind ``docker`` (on the project's machines, podman via
../shared/container/engine.sh, which ``.ci/run`` runs); without one it fails. It builds with the
base image pinned by digest (the local stand-in's own digest: the same build argument an operator
pins with) and runs the image with the pod's settings from deploy/k8s/deployment.yaml: read-only
root, a tmpfs at /tmp, every capability dropped, no privilege escalation, the pod's memory and CPU
limits (whether this machine's podman enforces those limits is not checked here).
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pytest
import yaml

from testing.support import ARTIFACTS, ROOT, STATUS_JS, chromium_page, free_port, wait_app_ready, wait_health

BUILD_TIMEOUT = 900  # pip installs streamlit inside the build
HEALTH_TIMEOUT = 120
TITLE = re.compile(r"softmax", re.IGNORECASE)  # the page's h1
NOT_IN_IMAGE = {"tests", "bench", "testing", "deploy", ".git", ".ci", "test-artifacts", "requirements-dev.txt",
                "requirements-dev.lock", "pyproject.toml", ".env"}
LOCKS = {"requirements.txt": "requirements.lock", "requirements-dev.txt": "requirements-dev.lock"}
LOCK_COMMAND = "bash deploy/lock.sh"
DEPLOYMENT = ROOT / "deploy" / "k8s" / "deployment.yaml"
NO_ENGINE = (
    "no container engine answers `docker info`; .ci/run installs one with "
    "`bash ../shared/container/engine.sh` (podman behind a `docker` shim; run it as root)"
)


# -- reproducible inputs (files only) --------------------------------------------------------------
def requirement_lines(path) -> list[str]:
    """The requirement lines of a pip requirements file, following ``-r`` includes."""
    lines = []
    for raw in (ROOT / path).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            lines += requirement_lines(line[3:].strip())
        elif line and not line.startswith("-"):
            lines.append(line)
    return lines


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a lock file written by ``uv pip compile --generate-hashes``."""
    text = (ROOT / path).read_text()
    entries = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", block)
        if m:
            entries[normalize(m.group(1))] = (m.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return entries


@pytest.mark.parametrize("requirements", sorted(LOCKS))
def test_each_lock_pins_its_requirements_with_hashes(requirements: str) -> None:
    lock_name = LOCKS[requirements]
    lock = read_lock(lock_name)
    text = (ROOT / lock_name).read_text()
    assert LOCK_COMMAND in text.split("\n", 3)[1], f"{lock_name}'s header does not name `{LOCK_COMMAND}`"
    body = [line for line in text.splitlines() if line and not line.lstrip().startswith(("#", "--hash"))]
    assert len(body) == len(lock), f"{lock_name}: lines that are not `name==version` entries: {body[:5]}"
    stale = []
    for line in requirement_lines(requirements):
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*([^\s;]+))?", line)
        name, pinned = normalize(m.group(1)), m.group(2)
        if name not in lock or (pinned and lock[name][0] != pinned):
            stale.append(f"{line} (lock: {lock.get(name, ('missing',))[0]})")
    assert not stale, f"{lock_name} is behind {requirements}: {stale}; run `{LOCK_COMMAND}`"
    unhashed = [name for name, (_, hashes) in lock.items() if not hashes]
    assert not unhashed, f"{lock_name}: entries without a hash: {unhashed}"


def test_the_dev_lock_installs_the_apps_locked_versions() -> None:
    """CI installs requirements-dev.lock, the image requirements.lock: the app's packages must be the same."""
    app, dev = read_lock("requirements.lock"), read_lock("requirements-dev.lock")
    differ = {name: (version, dev.get(name, ("missing",))[0])
              for name, (version, _) in app.items() if dev.get(name, (None,))[0] != version}
    assert not differ, f"requirements-dev.lock differs from requirements.lock: {differ}; run `{LOCK_COMMAND}`"
    assert set(dev) > set(app), "requirements-dev.lock holds no test packages"


def test_the_image_installs_the_lock_with_hashes_on_an_overridable_base() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    arg = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert arg and re.search(r"^FROM \$\{PYTHON_IMAGE\}$", dockerfile, re.MULTILINE), (
        "the base image is not the build argument PYTHON_IMAGE (to be pinned by digest)")
    install = re.search(r"^RUN pip install (.*)$", dockerfile, re.MULTILINE).group(1)
    assert "--require-hashes" in install and "requirements.lock" in install, install
    assert "requirements.txt" not in dockerfile, "the image installs from requirements.txt, not the lock"


def dockerignore_excludes(path: str, rules: list[str]) -> bool:
    """Docker's rule for one path: the last pattern that matches the path or one of its parent
    folders decides; ``!`` re-includes. (Patterns as used here: names, globs, ``**/``.)"""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule[1:] if negate else rule
        pattern = pattern.rstrip("/")
        pats = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        if any(fnmatch.fnmatchcase(c, p) or (p != pattern and fnmatch.fnmatchcase(c.rsplit("/", 1)[-1], p))
               for c in candidates for p in pats):
            excluded = not negate
    return excluded


def test_the_build_context_is_an_allowlist_without_secrets() -> None:
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    copied = re.findall(r"^COPY (?!--from)(\S+) ", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert "requirements.lock" in copied and "app.py" in copied, copied
    for source in copied:
        probe = source.rstrip("/") + ("/x.py" if source.endswith("/") else "")
        assert not dockerignore_excludes(probe, rules), f"the Dockerfile copies {source}, .dockerignore leaves it out"
    for secret in (".env", ".env.local", "softmax/.env", "deploy/tls/softmax.pem", "ui/tls.key", "cert.pem",
                   ".git/config", "tests/test_app.py", "bench/classroom.py", "test-artifacts/x.png",
                   "requirements-dev.lock", "softmax/__pycache__/model.cpython-311.pyc", "notes.txt"):
        assert dockerignore_excludes(secret, rules), f"{secret} would enter the build context"


# -- the container ---------------------------------------------------------------------------------
def pod_container() -> dict:
    """The app container of deploy/k8s/deployment.yaml (the settings the image must run with)."""
    deployment = next(d for d in yaml.safe_load_all(DEPLOYMENT.read_text()) if d and d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


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

    def build(self, *args: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        build_log = ARTIFACTS / "container-build.log"
        log(f"docker build {' '.join(args)} -t {self.tag} . (log: {build_log})")
        started = time.monotonic()
        with open(build_log, "w") as out:
            proc = subprocess.Popen(["docker", "build", *args, "-t", self.tag, "."], cwd=ROOT,
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

    def run(self, *flags: str) -> None:
        log(f"docker run -d --name {self.name} {' '.join(flags)} -p 127.0.0.1:{self.port}:8501 {self.tag}")
        docker("run", "-d", "--name", self.name, *flags, "-p", f"127.0.0.1:{self.port}:8501", self.tag)
        started = time.monotonic()
        try:
            wait_health(self.base, timeout=HEALTH_TIMEOUT)
        except TimeoutError as exc:
            logs = docker("logs", self.name, check=False)
            pytest.fail(f"{exc}\ncontainer logs:\n{logs.stdout}{logs.stderr}", pytrace=False)
        log(f"/_stcore/health ok after {time.monotonic() - started:.1f}s")

    def exec(self, *cmd: str, timeout: float = 60) -> str:
        return docker("exec", self.name, *cmd, timeout=timeout).stdout

    def logs(self) -> str:
        proc = docker("logs", self.name, check=False)
        return proc.stdout + proc.stderr

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


SERVER_ADDRESS = "softmax.test.invalid"  # stands in for the class's host (kustomization.yaml's configMap)


def pod_run_flags() -> list[str]:
    """`docker run` flags for what deploy/k8s/deployment.yaml asks of the container."""
    c = pod_container()
    security, limits = c["securityContext"], c["resources"]["limits"]
    (mount,) = c["volumeMounts"]
    assert mount["mountPath"] == "/tmp"
    flags = ["--memory", limits["memory"].replace("Mi", "m"), "--cpus", str(int(limits["cpu"].rstrip("m")) / 1000),
             "--tmpfs", "/tmp:rw,size=16m,mode=1777",
             "-e", f"STREAMLIT_BROWSER_SERVER_ADDRESS={SERVER_ADDRESS}"]
    if security["readOnlyRootFilesystem"]:
        flags.append("--read-only")
    if security["allowPrivilegeEscalation"] is False:
        flags += ["--security-opt", "no-new-privileges"]
    flags += [f"--cap-drop={cap}" for cap in security["capabilities"]["drop"]]
    flags += [arg for e in c["env"] if "value" in e for arg in ("-e", f"{e['name']}={e['value']}")]
    return flags


def local_base_digest() -> str:
    """The base image by digest, as an operator pins it: here the local stand-in's own digest."""
    default = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE).group(1)
    digests = docker("image", "inspect", default, "--format", "{{json .RepoDigests}}").stdout
    found = re.findall(r'"([^"]+@sha256:[0-9a-f]{64})"', digests)
    assert found, f"{default} has no digest here: {digests}"
    return found[0]


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


def check_hardened(c: Container) -> None:
    """Runs as the pod runs it: nothing writable but /tmp, no capabilities, no privilege gain, and
    Streamlit never looked its external address up (browser.serverAddress set, as the manifest does)."""
    status = c.exec("cat", "/proc/1/status")
    fields = dict(re.findall(r"^(\w+):\s+(.*)$", status, re.MULTILINE))
    assert int(fields["CapEff"], 16) == 0 and int(fields["CapPrm"], 16) == 0, (fields["CapEff"], fields["CapPrm"])
    assert fields["NoNewPrivs"] == "1", fields["NoNewPrivs"]
    # (podman adds tmpfs mounts of its own at /var/tmp and /run with --read-only; Docker does not.)
    for path in ("/app/probe", "/home/app/probe", "/usr/local/lib/probe", "/etc/probe"):
        proc = docker("exec", c.name, "touch", path, check=False)
        assert proc.returncode != 0 and "Read-only file system" in proc.stderr, f"{path} is writable: {proc.stderr}"
    c.exec("touch", "/tmp/probe")
    logs = c.logs()
    assert f"URL: http://{SERVER_ADDRESS}" in logs, logs[-2000:]
    assert "external IP" not in logs, "Streamlit tried to look up its external address (no egress in the pod)"
    log("read-only root, /tmp writable, no capabilities, NoNewPrivs, no external-IP look-up")


def check_pre_stop(c: Container) -> None:
    """The manifest's preStop command exists in the image and succeeds (as the kubelet would run it)."""
    command = pod_container()["lifecycle"]["preStop"]["exec"]["command"]
    started = time.monotonic()
    c.exec(*command, timeout=120)
    log(f"preStop {command} ran in {time.monotonic() - started:.1f}s")


def check_image_contents(c: Container) -> None:
    listing = set(c.exec("ls", "-A", "/app").split())
    assert {"app.py", "softmax", "ui", "viz"} <= listing, listing
    assert not listing & NOT_IN_IMAGE, f"/app holds files the app does not need: {listing & NOT_IN_IMAGE}"
    import plotly

    # plotly.js comes from the installed package through app.py's route: nothing written in the image
    with urllib.request.urlopen(f"{c.base}/vendor/plotly-{plotly.__version__}.min.js", timeout=10) as r:
        head = r.read(4096)
    assert b"plotly" in head.lower(), "the plotly.js route does not serve plotly.js"


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
            # Start must be there (a missing button fails here, it is not skipped), and the run must go on
            # by itself: the iteration grows between two readings and the loss falls below iteration 0's.
            page.wait_for_function(f"() => ({STATUS_JS})() !== null", timeout=60_000)
            start_at, start_loss = page.evaluate(STATUS_JS)
            assert start_at == 0 and start_loss > 0, (start_at, start_loss)
            page.get_by_role("button", name="Start", exact=True).click(timeout=30_000)
            # (null for a moment while the status line moves between the page and the live stream's board)
            first, _ = page.wait_for_function(f"() => {{ const s = ({STATUS_JS})(); return s?.[0] > 0 && s; }}",
                                              timeout=60_000).json_value()
            trained = (f"() => {{ const s = ({STATUS_JS})(); "
                       f"return s?.[0] > {first} && s[1] !== null && s[1] < {start_loss} && s; }}")
            later, loss = page.wait_for_function(trained, timeout=60_000).json_value()
            assert later > first > 0 and loss < start_loss
            log(f"Start clicked: iteration {first} -> {later}, loss {start_loss} -> {loss}")
            errors = page.locator("[data-testid='stException']")
            assert errors.count() == 0, f"the page shows an exception: {errors.first.inner_text()}"
        finally:
            page.screenshot(path=str(ARTIFACTS / "container.png"), full_page=True)


@pytest.mark.container
@pytest.mark.slow
@pytest.mark.browser
def test_image_builds_from_a_pinned_base_runs_like_the_pod_and_trains(container: Container) -> None:
    require_engine()
    podman = "podman" in docker("--version").stdout.lower()
    base = local_base_digest()
    container.build("--build-arg", f"PYTHON_IMAGE={base}")
    assert base in (ARTIFACTS / "container-build.log").read_text(), "the build did not start FROM the pinned digest"
    container.run(*pod_run_flags())
    check_not_root(container)
    check_hardened(container)
    check_image_contents(container)
    check_healthcheck(container, podman)
    check_page(container)
    check_pre_stop(container)
