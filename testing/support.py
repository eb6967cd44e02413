"""Helpers for tests that start real servers and browsers on loopback."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(base_url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Poll /_stcore/health until it answers ok."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{base_url} not healthy after {timeout}s: {last}")


@contextlib.contextmanager
def streamlit_server(app: str = "app.py", env: dict | None = None, extra_args: list[str] | None = None, *,
                     root: Path = ROOT, port: int | None = None, timeout: float = 60.0):
    """Run ``streamlit run app`` in ``root`` on a loopback port (a free one unless given); yields
    (base_url, Popen). Stopped by its pid on exit."""
    port = port or free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"streamlit-{port}.log", "w")
    cmd = [
        sys.executable, "-m", "streamlit", "run", app,
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        *(extra_args or []),
    ]
    proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_health(base, timeout=timeout, proc=proc)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def chromium_page(width: int = 1400, height: int = 1000, color_scheme: str = "light"):
    """A Playwright page in Debian's headless Chromium; closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=color_scheme)
            yield context.new_page()
        finally:
            browser.close()


def wait_app_ready(page, timeout_ms: int = 60_000) -> None:
    """Wait until the Streamlit app is connected and its script has finished running."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout_ms)
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout_ms)


def thread_count(pid: int) -> int:
    """How many threads (tasks) the process ``pid`` has now, Python's and native ones alike."""
    return len(os.listdir(f"/proc/{pid}/task"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process ``pid`` has used so far, all its threads included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The number in the page's ``Iteration N`` heading, or null before it is drawn.
ITERATION_JS = """() => {
  for (const h of document.querySelectorAll('h3')) {
    const m = /^\\s*Iteration (\\d+)/.exec(h.textContent);
    if (m) return Number(m[1]);
  }
  return null;
}"""


# The page's status as [iteration, loss]: the ``Iteration N`` heading and the ``loss X`` under it
# (the loss null on a plane with no points), or null before it is drawn.
STATUS_JS = """() => {
  for (const h of document.querySelectorAll('h3')) {
    const m = /^\\s*Iteration (\\d+)/.exec(h.textContent);
    if (!m) continue;
    // the page's status line, or the same line on the board while it follows the live stream
    const box = h.closest("[data-testid='stMarkdownContainer']") || h.closest('.plotly-board-status')
      || h.parentElement;
    const loss = /loss\\s+([0-9.]+)/.exec(box.textContent);
    return [Number(m[1]), loss ? Number(loss[1]) : null];
  }
  return null;
}"""
