"""Twenty browser sessions train at once, then vanish: the training thread ends with the last of them.

Every run of the process is stepped by one thread (``softmax.runner``); it exists while some run trains.

The server's thread count (``/proc/<pid>/task``) is the measure. Streamlit grows some thread
pools of its own, so the baseline is what the server keeps after 20 *idle* sessions opened and
closed -- measured here, not assumed. Seen on this machine (2 cores): a cold server has 4-5
threads (main, 3 ThreadPoolExecutor workers, ...); after idle sessions one or two more (an OpenBLAS
helper once the page has imported numpy, one AnyIO file-serving worker). While pages load, AnyIO
keeps up to 28 file-serving workers (``ANYIO_STATIC_FILE_THREAD_TOKENS``) and drops one only when a
later file request finds it idle for 10 s (``WorkerThread.MAX_IDLE_TIME``); so each count below is
taken right after a GET of ``/`` (a file response), once the page loads are over 10 s old. With
that, the count after the training sessions close must come back to the idle baseline exactly.

The pages get a stub in place of plotly.js (4.6 MB to parse, five charts to draw per refresh):
the server does exactly the same work, and twenty pages load in a third of the time.
"""

from __future__ import annotations

import sys
import time
import urllib.request

import pytest

from testing.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ITERATION_JS,
    streamlit_server,
    thread_count,
    wait_app_ready,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS = 20
# refresh=1: one fragment run a second per session. The threads under test do not depend on it, and
# at the default 5/s twenty sessions ask the two cores for 100 fragment runs a second: only slower.
QUERY = "?speed=50&iterations=100000&refresh=1"
ANYIO_IDLE_S = 10  # anyio's WorkerThread.MAX_IDLE_TIME
SETTLE_S = 30  # how long closed sessions get to release their trainers
BATCH = 5  # pages loading at once: all twenty together starve each other past any timeout
T0 = time.monotonic()

# Enough of plotly.js for ui/plotly_live.py's component: react() resolves, nothing is drawn.
PLOTLY_STUB = """window.Plotly = {
  react(div) { div.on ??= () => {}; return Promise.resolve(div); },
  purge() {}, Plots: { resize() {} },
};"""


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


def pruned_thread_count(base: str, pid: int) -> int:
    """The server's thread count right after a file request (which lets AnyIO drop idle workers)."""
    with urllib.request.urlopen(f"{base}/", timeout=10) as r:
        r.read()
    return thread_count(pid)


def open_sessions(browser, base: str, n: int):
    """One context with n pages of the app (n Streamlit sessions), all loaded and idle."""
    context = browser.new_context(viewport={"width": 900, "height": 700})
    context.set_default_timeout(120_000)
    context.route("**/app/static/plotly.min.js*",
                  lambda route: route.fulfill(body=PLOTLY_STUB, content_type="text/javascript"))
    pages = []
    for first in range(0, n, BATCH):
        batch = [context.new_page() for _ in range(min(BATCH, n - first))]
        for page in batch:  # start the batch's loads first: they proceed side by side
            page.goto(f"{base}/{QUERY}", wait_until="commit")
        for i, page in enumerate(batch, start=first):
            try:
                wait_app_ready(page, timeout_ms=120_000)
                # widgets arrive in lazily loaded chunks, after the script state says notRunning
                start_button(page).wait_for(timeout=120_000)
            except Exception:
                raise AssertionError(f"page {i} did not load: {describe(page)}") from None
        pages += batch
    return context, pages


def describe(page) -> str:
    """The page's connection and script state, and what it shows (Streamlit's error dialog, if any)."""
    state = page.evaluate("""() => { const a = document.querySelector('[data-testid=stApp]');
        return [a?.dataset.testConnectionState, a?.dataset.testScriptState]; }""")
    dialog = page.locator("[data-testid=stDialog]")
    shows = dialog.inner_text() if dialog.count() else page.inner_text("body")
    return f"state {state}, shows {shows[:600]!r}"


def start_button(page):
    return page.get_by_role("button", name="Start", exact=True)


def wait_for_count(base: str, pid: int, done, timeout: float) -> list[int]:
    """Poll the (pruned) thread count once a second until ``done(count)`` or timeout; returns all counts."""
    counts = [pruned_thread_count(base, pid)]
    deadline = time.monotonic() + timeout
    while not done(counts[-1]) and time.monotonic() < deadline:
        time.sleep(1.0)
        counts.append(pruned_thread_count(base, pid))
    return counts


def test_training_threads_end_when_sessions_close() -> None:
    from playwright.sync_api import sync_playwright

    t0 = time.monotonic()
    with streamlit_server() as (base, proc), sync_playwright() as pw:
        pid = proc.pid
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            cold = pruned_thread_count(base, pid)
            log(f"server up, {cold} threads")

            # What Streamlit itself keeps: 20 idle sessions opened and closed, Start never pressed.
            context, _ = open_sessions(browser, base, SESSIONS)
            idle_open = thread_count(pid)
            log(f"{SESSIONS} idle sessions open, {idle_open} threads")
            context.close()
            time.sleep(ANYIO_IDLE_S + 1)
            idle = wait_for_count(base, pid, lambda c: False, timeout=2)  # three pruned readings
            assert len(set(idle)) == 1, f"thread count not steady after idle sessions closed: {idle}"
            baseline = idle[-1]
            log(f"idle sessions closed, {baseline} threads")

            # 20 sessions training, all on the process's one training thread.
            context, pages = open_sessions(browser, base, SESSIONS)
            log(f"{SESSIONS} more sessions open")
            for page in pages:
                start_button(page).click()
            log("Start clicked in every page")
            # Each session's heading advances (its run trains); pages are polled in turn, not one by one.
            first = [page.evaluate(ITERATION_JS) or 0 for page in pages]
            waiting, deadline = set(range(SESSIONS)), time.monotonic() + 180
            while waiting and time.monotonic() < deadline:
                waiting = {i for i in waiting if (pages[i].evaluate(ITERATION_JS) or 0) <= first[i]}
                time.sleep(0.5)
            if waiting:
                raise AssertionError(f"sessions {sorted(waiting)} are not training; training threads: "
                                     f"{thread_count(pid) - baseline}; session {min(waiting)}: "
                                     f"{describe(pages[min(waiting)])}")
            log("every session is training")
            training = max(wait_for_count(base, pid, lambda c: c >= baseline + 1, timeout=10))
            assert baseline + 1 <= training < baseline + SESSIONS // 2, (
                f"{SESSIONS} sessions training on {training - baseline} threads above the baseline {baseline}: "
                "one training thread expected")

            # Gone without Pause: the browser closes every tab at once.
            closed_at = time.monotonic()
            context.close()
            after = wait_for_count(base, pid, lambda c: c <= baseline, timeout=SETTLE_S)
            settle = time.monotonic() - closed_at
            print(f"\nthreads: cold {cold}, {SESSIONS} idle sessions open {idle_open}, after they closed "
                  f"{baseline} (tolerance +{baseline - cold} over cold), {SESSIONS} training {training}, "
                  f"after close {after[-1]} within {settle:.1f} s (readings {after}); "
                  f"test {time.monotonic() - t0:.0f} s")
            assert after[-1] <= baseline, (
                f"{after[-1] - baseline} threads left {SETTLE_S} s after the sessions closed "
                f"(baseline {baseline}, readings {after})")
            assert proc.poll() is None, "the server died"
        finally:
            browser.close()
