"""Browser benchmark of one live session: chart refreshes drawn, training speed, blank charts, Pause latency.

Starts ``app.py`` with ``streamlit_server()``, opens ``?speed=2000&iterations=1000000`` in Debian's
headless Chromium, presses Start and measures inside the page (so round trips do not count):

- refreshes_per_s: changes of the loss chart's drawn title (it carries the iteration) per second;
  received_per_s: figures each chart's component was handed (drawn or not) per second;
- iterations_per_s: the ``Iteration N`` heading's growth over time;
- blank_fraction: 50 ms samples in which a ``div.plotly-live`` has no drawn plot (no ``.main-svg``)
  or fewer than the 5 chart boxes are on the page (blank_samples: how many; a busy page delays the
  timer, so fewer than 20 a second means the page's main thread is saturated);
- where the time goes: server and browser CPU, websocket traffic, the page's long tasks, the time
  plotly.js spends in ``Plotly.react`` per chart, the share of time each server thread holds the GIL
  (py-spy, if installed), and one fragment run's figure work (built here in-process, same code);
- Pause latency, 5 times (Start again in between): from the click (timed in the page) to the moment
  the heading shows the value it then keeps for 1 s (what the student sees); and the server's side:
  from the click to the arrival of the ``new_session`` message that starts the click's script run,
  whose Pause callback stops the trainer at once -- times the speed, the iterations after the click.
  Browser and Python read the same wall clock; the resolution is a few tens of ms (small negative
  values are noise). The heading at the click is itself a refresh or more old, so "shown" (final
  value - value at the click) overstates the iterations after the click.

``--no-message-cache`` runs the server with ``global.minCachedMessageSize=1e12``: Streamlit then never
sends "you have this already" references (ForwardMsg ``ref_hash``). With the default, the page
sometimes dies with "Cached ForwardMsg MISS" (Streamlit's message cache and fragment reruns disagree
on what the browser still holds); the benchmark reports that as ``error=`` with what it measured.

``--stream`` runs the server with SOFTMAX_STREAM=1 (the app's default since 4 December): after Start the
board follows the page's live stream (docs/stream.md) and no fragment runs; without it the server runs
with SOFTMAX_STREAM=0 (fragment reruns). Run the two beside each other, on a quiet machine. A chart that
does not change is not redrawn: to see every chart change every frame, train on minibatches
(``--query '?speed=2000&iterations=100000&batch_size=32'``). ``--window 1400x2200`` puts every chart on
screen (below the window a chart is redrawn once a second).

Run: ``python -m bench.browser_session [--seconds 10] [--repeats 5] [--stream] [--window WxH]``. Prints one
``name=value`` line per figure; asserts nothing about timing. Targets (the issue): >= 5 refreshes/s while training
>= 1000 it/s; Pause effective within 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testing.support import (
    ITERATION_JS,
    chromium_page,
    cpu_seconds,
    streamlit_server,
    wait_app_ready,
)

ROOT = Path(__file__).resolve().parent.parent

QUERY = "?speed=2000&iterations=1000000"
CHARTS = ("loss", "decision", "gradient_table", "gradient_history", "dscores")
ALL_DRAWN = f"() => document.querySelectorAll('div.plotly-live .main-svg').length >= {len(CHARTS)}"

# Samples the page for `seconds`: every animation frame it notes changes of the loss chart's drawn
# title and of the Iteration heading; every `periodMs` whether any chart box is blank. Long tasks
# (> 50 ms on the main thread) are summed as a measure of how busy the page is.
_SAMPLER = """async ([seconds, periodMs]) => {
  const heading = %s;
  const boxes = () => [...document.querySelectorAll('div.plotly-live')];
  const lossTitle = () =>
    document.querySelector('div.plotly-live[data-key="loss"] .gtitle')?.textContent ?? null;
  const seqs = () => Object.fromEntries(boxes().map((d) => [d.dataset.key, d._plotlyLiveSeq || 0]));
  let longMs = 0, longN = 0;
  const po = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) { longMs += e.duration; longN += 1; }
  });
  try { po.observe({ type: 'longtask' }); } catch (e) { /* not supported */ }
  // Time every Plotly.react call (its synchronous part, where plotly.js does its drawing) per chart.
  const P = window.Plotly, react = P.react, reactMs = {}, reactN = {};
  P.react = function (gd, ...rest) {
    const s = performance.now();
    try { return react.call(this, gd, ...rest); } finally {
      const k = gd.dataset?.key ?? '?';
      reactMs[k] = (reactMs[k] || 0) + performance.now() - s;
      reactN[k] = (reactN[k] || 0) + 1;
    }
  };
  const seq0 = seqs();
  const t0 = performance.now();
  let lastTitle = lossTitle(), lastIter = heading(), frames = 0;
  const titles = [[0, lastTitle]], iters = [[0, lastIter]], samples = [];
  return await new Promise((resolve) => {
    const frame = () => {
      frames += 1;
      const now = performance.now() - t0;
      const t = lossTitle();
      if (t !== lastTitle) { titles.push([now, t]); lastTitle = t; }
      const it = heading();
      if (it !== lastIter) { iters.push([now, it]); lastIter = it; }
      if (now < seconds * 1000) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    const timer = setInterval(() => {
      const bs = boxes();
      samples.push([performance.now() - t0, bs.length, bs.filter((b) => b.querySelector('.main-svg')).length]);
      if (performance.now() - t0 >= seconds * 1000) {
        clearInterval(timer);
        po.disconnect();
        P.react = react;
        resolve({ titles, iters, samples, frames, longMs, longN, seq0, seq1: seqs(), reactMs, reactN,
                  totalMs: performance.now() - t0 });
      }
    }, periodMs);
  });
}""" % ITERATION_JS

# Arms the Pause measurement: a capturing pointerdown listener timestamps the click and the heading shown
# then (and when that value first appeared); every animation frame logs heading changes.
_ARM_PAUSE = """() => {
  const heading = %s;
  const w = (window.__pause = { clickT: null, atClick: null, shownSince: performance.now(),
                                 value: heading(), changes: [] });
  const frame = () => {
    const v = heading(), now = performance.now();
    if (v !== w.value) {
      w.value = v;
      w.shownSince = now;
      if (w.clickT !== null) w.changes.push([now - w.clickT, v]);
    }
    if (!w.done) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  // pointerdown, the press itself, timed when the input arrived (ev.timeStamp), not when a busy page
  // got round to dispatching it: the wait in the input queue is part of what the student sees.
  document.addEventListener('pointerdown', (ev) => {
    if (w.clickT === null && ev.target.closest('button')?.innerText.trim() === 'Pause') {
      w.clickT = ev.timeStamp;
      w.clickEpochMs = performance.timeOrigin + ev.timeStamp;  // the wall clock, as Python's time.time()
      w.dispatchDelayMs = performance.now() - ev.timeStamp;
      w.atClick = w.value;
      w.atClickAge = w.clickT - w.shownSince;
    }
  }, { capture: true });
}""" % ITERATION_JS

# True once the heading has kept its value for 1 s after the click.
_SETTLED = """() => { const w = window.__pause;
  return w.clickT !== null && performance.now() - Math.max(w.clickT, w.shownSince) >= 1000; }"""


def browser_cpu_seconds(exclude: int) -> float:
    """CPU time of this process's Chromium descendants (the server's subtree ``exclude`` left out)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, stack = 0.0, [os.getpid()]
    while stack:
        for child in children.get(stack.pop(), []):
            if child == exclude:
                continue
            stack.append(child)
            try:
                with open(f"/proc/{child}/comm") as f:
                    if "chrom" in f.read():
                        total += cpu_seconds(child)
            except OSError:
                pass
    return total


def rate(points: list[list]) -> float:
    """Growth per second of the numeric values in [[ms, value], ...] (None values skipped)."""
    pts = [(t, v) for t, v in points if v is not None]
    if len(pts) < 2 or pts[-1][0] == pts[0][0]:
        return 0.0
    return (pts[-1][1] - pts[0][1]) / ((pts[-1][0] - pts[0][0]) / 1000)


def figure_cost_ms(iterations: int = 5000, repeats: int = 20) -> dict[str, float]:
    """Median ms for one fragment run's figure work: all_figures(snapshot) and the JSON sent per chart."""
    from softmax.config import Config
    from softmax.runner import Trainer
    from ui.plotly_live import figure_json
    from viz.figures import all_figures

    trainer = Trainer(Config(speed=2000.0, iterations=100_000))
    snap = trainer.step(iterations)
    build, encode, size = [], [], 0
    for _ in range(repeats):
        t = time.perf_counter()
        figs = all_figures(snap)
        t2 = time.perf_counter()
        size = sum(len(figure_json(f)) for f in figs.values())
        build.append((t2 - t) * 1000)
        encode.append((time.perf_counter() - t2) * 1000)
    return {"build": statistics.median(build), "encode": statistics.median(encode), "kb": size / 1024}


class Wire:
    """Websocket frames and bytes the page receives; when ``watch`` is set, the arrival times
    (``time.time()`` in Playwright's handler: the browser reports frames from its network layer,
    which a busy page does not hold up) of ``new_session`` messages, which start every full run."""

    def __init__(self, page) -> None:
        self.frames = self.bytes = self.opened = self.closed = 0
        self.watch = False
        self.new_sessions: list[float] = []
        page.on("websocket", self._open)

    def _open(self, ws) -> None:
        self.opened += 1
        ws.on("framereceived", self._frame)
        ws.on("close", self._close)

    def _close(self, _ws) -> None:
        self.closed += 1
        print(f"websocket closed at {time.strftime('%X')}", file=sys.stderr, flush=True)

    def _frame(self, payload) -> None:
        self.frames += 1
        self.bytes += len(payload)
        if self.watch and isinstance(payload, bytes):
            from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

            if ForwardMsg.FromString(payload).WhichOneof("type") == "new_session":
                self.new_sessions.append(time.time())


def heading(page) -> int | None:
    return page.evaluate(ITERATION_JS)


APP_STATE = """() => { const a = document.querySelector('[data-testid=stApp]');
  return [a?.dataset.testConnectionState, a?.dataset.testScriptState]; }"""


def start_and_warm(page, warm_s: float) -> None:
    """Press Start and wait until the heading is moving, then let the run settle for warm_s."""
    before = heading(page) or 0
    click(page, "Start")
    page.wait_for_function(f"() => ({ITERATION_JS})() > {before}", timeout=30_000)
    time.sleep(warm_s)


def measure_live(page, proc, wire: Wire, seconds: float) -> dict[str, float]:
    """Sample the page while training; plus server/browser CPU and websocket traffic over the window."""
    cpu0, bcpu0, frames0, bytes0 = cpu_seconds(proc.pid), browser_cpu_seconds(proc.pid), wire.frames, wire.bytes
    t0 = time.monotonic()
    r = page.evaluate(_SAMPLER, [seconds, 50])
    page.wait_for_timeout(50)  # let queued websocket events reach the counters
    wall = time.monotonic() - t0
    secs = r["totalMs"] / 1000
    samples = r["samples"]
    blank = sum(n < len(CHARTS) or drawn < n for _, n, drawn in samples) / max(len(samples), 1)
    received = {k: (r["seq1"].get(k, 0) - r["seq0"].get(k, 0)) / secs for k in CHARTS}
    return {
        "refreshes_per_s": (len(r["titles"]) - 1) / secs,
        "iterations_per_s": rate(r["iters"]),
        "heading_updates_per_s": (len(r["iters"]) - 1) / secs,
        "blank_fraction": blank,
        "blank_samples": len(samples),
        "server_cpu_fraction": (cpu_seconds(proc.pid) - cpu0) / wall,
        "browser_cpu_fraction": (browser_cpu_seconds(proc.pid) - bcpu0) / wall,
        "ws_frames_per_s": (wire.frames - frames0) / wall,
        "ws_kb_per_s": (wire.bytes - bytes0) / 1024 / wall,
        "page_longtask_ms_per_s": r["longMs"] / secs,
        "page_frames_per_s": r["frames"] / secs,
        "plotly_react_ms_per_s": sum(r["reactMs"].values()) / secs,
        **{f"plotly_react_ms_per_call[{k}]": r["reactMs"].get(k, 0) / max(r["reactN"].get(k, 0), 1) for k in CHARTS},
        **{f"drawn_per_s[{k}]": r["reactN"].get(k, 0) / secs for k in CHARTS},
        **{f"received_per_s[{k}]": v for k, v in received.items()},
    }


def trouble(page, what: str) -> RuntimeError:
    """An error saying what the page shows (Streamlit's connection-error dialog, if any)."""
    dialog = page.locator("[data-testid=stDialog]")
    shows = dialog.inner_text() if dialog.count() else page.inner_text("section.stMain")
    return RuntimeError(f"{what}: app state {page.evaluate(APP_STATE)}, heading {heading(page)}, "
                        f"page shows: {shows[:800]!r}")


def click(page, label: str) -> None:
    """Click a button; if it cannot be clicked, say what the page shows instead."""
    try:
        page.get_by_role("button", name=label, exact=True).click(timeout=30_000)
    except Exception:
        raise trouble(page, f"cannot press {label}") from None


def measure_pause(page, wire: Wire, speed: float) -> dict[str, float]:
    """Click Pause; time until the heading shows the value it keeps for 1 s, and iterations after the click."""
    page.evaluate(_ARM_PAUSE)
    wire.new_sessions.clear()
    wire.watch = True
    click(page, "Pause")
    page.wait_for_function(_SETTLED, timeout=30_000, polling=50)
    wire.watch = False
    w = page.evaluate("() => { const w = window.__pause; w.done = true; return w; }")
    if page.evaluate(APP_STATE)[0] != "CONNECTED":  # a heading frozen by a lost connection is no pause
        raise trouble(page, "connection lost after Pause")
    changes = w["changes"]
    final = changes[-1][1] if changes else w["atClick"]
    settled_s = changes[-1][0] / 1000 if changes else 0.0
    # The server starts the Pause click's run (whose callback pauses the trainer) as it sends new_session.
    clicked = w["clickEpochMs"] / 1000
    after = [t - clicked for t in wire.new_sessions if t >= clicked - 0.05]
    server_s = after[0] if after else float("nan")
    return {"settled_s": settled_s, "dispatch_s": w["dispatchDelayMs"] / 1000,
            "first_change_s": changes[0][0] / 1000 if changes else 0.0,
            "server_s": server_s, "iters_server": speed * server_s,
            "iters_shown": final - w["atClick"], "changes": len(changes), "final": final}


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def gil_profile(pid: int, seconds: float) -> dict[str, float] | None:
    """Share of time each kind of server thread holds the GIL (py-spy --gil), or None without py-spy."""
    exe = shutil.which("py-spy")
    if exe is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        rate = 100
        subprocess.run([exe, "record", "--gil", "--threads", "--nonblocking", "-r", str(rate), "-f", "raw",
                        "-d", str(int(seconds)), "-o", out.name, "-p", str(pid)], capture_output=True, check=False)
        shares: dict[str, float] = {}
        for line in Path(out.name).read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            thread = stack.split(";", 1)[0].split(": ", 1)[-1]
            kind = ("trainer" if "softmax-trainer" in thread else "script_runs" if "ScriptRunner" in thread
                    else "event_loop" if "MainThread" in thread else "other")
            shares[kind] = shares.get(kind, 0.0) + int(count) / (rate * int(seconds))
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the live measurement")
    parser.add_argument("--repeats", type=int, default=5, help="Pause measurements")
    parser.add_argument("--no-message-cache", action="store_true",
                        help="run the server with global.minCachedMessageSize=1e12 (no ForwardMsg references)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy GIL profile of the server")
    parser.add_argument("--query", default=QUERY, help=f"the page's query string (default {QUERY})")
    parser.add_argument("--stream", action="store_true", help="SOFTMAX_STREAM=1: the charts follow the live stream")
    parser.add_argument("--window", default="1400x1000",
                        help="the browser window, WIDTHxHEIGHT (default 1400x1000; 1400x2200: every chart on screen)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.window.lower().split("x"))
    query = args.query
    speed = float(query.split("speed=")[1].split("&")[0])
    env = {"STREAMLIT_GLOBAL_MIN_CACHED_MESSAGE_SIZE": "1e12"} if args.no_message_cache else {}
    env["SOFTMAX_STREAM"] = "1" if args.stream else "0"

    load0 = loadavg()
    pauses, gil, error = [], None, None
    with streamlit_server(env=env) as (base, proc), chromium_page(width, height) as page:
        wire = Wire(page)
        page.goto(f"{base}/{query}")
        wait_app_ready(page)
        page.wait_for_function(ALL_DRAWN, timeout=60_000)
        idle_cpu0, t_idle = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(2.0)
        idle_cpu = (cpu_seconds(proc.pid) - idle_cpu0) / (time.monotonic() - t_idle)

        start_and_warm(page, warm_s=1.0)
        live = measure_live(page, proc, wire, args.seconds)
        if not args.no_profile:
            gil = gil_profile(proc.pid, 5)

        try:
            for i in range(args.repeats):
                if i:
                    if (heading(page) or 0) > 80_000:  # keep clear of the 100000-iteration cap
                        click(page, "Reset")
                        page.wait_for_function(f"() => ({ITERATION_JS})() === 0", timeout=30_000)
                    start_and_warm(page, warm_s=1.5)
                pauses.append(measure_pause(page, wire, speed))
        except RuntimeError as exc:  # the page lost its connection: report it with what was measured
            error = str(exc)
        ended_at = heading(page)

    print(f"query={query} (iterations is capped at the setting's maximum, 100000)")
    print(f"machine: {os.cpu_count()} cores, load average {load0} before, {loadavg()} after (1 min)")
    if args.no_message_cache:
        print("server: global.minCachedMessageSize=1e12 (ForwardMsg cache references off)")
    for name, value in live.items():
        print(f"{name}={value:.3f}" if isinstance(value, float) else f"{name}={value}")
    print(f"server_cpu_fraction_idle={idle_cpu:.3f}")
    for kind, share in sorted((gil or {}).items()):
        print(f"server_gil_share[{kind}]={share:.3f}")
    if pauses:
        settled = [p["settled_s"] for p in pauses]
        print(f"pause_latency_s_median={statistics.median(settled):.3f}")
        print(f"pause_latency_s_all={','.join(f'{s:.3f}' for s in settled)}")
        print(f"pause_input_dispatch_delay_s_median={statistics.median(p['dispatch_s'] for p in pauses):.3f}")
        print(f"pause_first_change_s_median={statistics.median(p['first_change_s'] for p in pauses):.3f}")
        server = [p["server_s"] for p in pauses]
        print(f"pause_server_response_s_median={statistics.median(server):.3f}")
        print(f"pause_server_response_s_all={','.join(f'{s:.3f}' for s in server)}")
        print(f"pause_iterations_after_click_median={statistics.median(p['iters_server'] for p in pauses):.0f}")
        print(f"pause_iterations_after_click_shown_median={statistics.median(p['iters_shown'] for p in pauses):.0f}")
        print(f"pause_heading_changes_after_click={','.join(str(p['changes']) for p in pauses)}")
    print(f"pause_measurements={len(pauses)} of {args.repeats}")
    if error:
        print(f"error={error}")
    print(f"final_iteration={ended_at}")
    print(f"websockets_opened={wire.opened} websockets_closed={wire.closed}")
    cost = figure_cost_ms()
    print(f"fragment_figures_build_ms={cost['build']:.1f}")
    print(f"fragment_figures_json_ms={cost['encode']:.1f}")
    print(f"fragment_figures_json_kb={cost['kb']:.1f}")
    if error:
        sys.exit(1)


if __name__ == "__main__":
    main()
