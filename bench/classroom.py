"""Classroom load: N students on one server, each pressing Start and watching the charts refresh.

Each student is a ``testing.wsclient.Session``: it loads the page over the websocket, presses
Start, and follows the page's ``run_every`` fragment like a browser. After a warm-up, a
measuring window gives, per session, chart refreshes per second (a refresh = a fragment run
that brought new loss-chart data), and over all sessions the gaps between refreshes; for the
server, CPU (``/proc/PID/stat`` utime + stime, in cores) and resident memory (VmRSS).

With ``--pages stream`` the students follow the page's live stream instead (the same app with
SOFTMAX_STREAM=1, docs/stream.md): each is a ``testing.streamclient.StreamTab`` that, after Start,
opens the stream, reports the first frame as the board does (the page then stops its timer), and
counts every frame as a refresh (a full frame or a delta). ``--pages stream-whole`` is the same with every
frame whole figures (SOFTMAX_STREAM_DELTAS=0): the baseline of the incremental frames.

The same is measured for bench/naive_page.py (the same page drawn with plain
``st.plotly_chart(go.Figure(...))``), so the figures show what the page's design buys. A sweep
over session counts finds how many students the real page holds at >= 2 refreshes/s (5th
percentile) with a 95th-percentile gap <= 1 s.

    python -m bench.classroom                          # real vs naive at 50 sessions, then a sweep
    python -m bench.classroom --sessions 20 --pages real --sweep ""
    python -m bench.classroom --pace after-finish      # wait an interval after each run (slower than a browser)
    python -m bench.classroom --pages real,stream --sessions 50 --sweep 50,100 --sweep-pages stream,real

Every run has a time budget and its server is stopped at the end; the bench ends by itself.
The client runs on the same machine (2 cores) and its own CPU use is printed next to the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from testing.streamclient import StreamTab
from testing.support import cpu_seconds, streamlit_server
from testing.wsclient import ProtocolError, Session

ROOT = Path(__file__).resolve().parent.parent

PAGES = {"real": "app.py", "stream": "app.py", "stream-whole": "app.py", "naive": "bench/naive_page.py"}
QUERY = "speed=50&iterations=100000&refresh=5"  # a student's defaults, with a run long enough to last
TARGET_RATE, TARGET_GAP, TARGET_MB = 2.0, 1.0, 30.0


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used (``/proc/stat``: everything but idle and iowait)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` (VmRSS), in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class Result:
    page: str
    sessions: int
    pace: str
    window: float
    training: int  # sessions whose Start worked and which were still connected at the end
    rate_median: float
    rate_p5: float
    gap_p95: float
    gap_max: float
    iters_median: float  # training iterations per second a session saw, median
    latency_median: float  # seconds from asking for a fragment run to its script_finished
    server_cores: float
    client_cores: float
    other_cores: float  # everything else on the machine meanwhile (other people's tests, browsers, builds)
    server_mb_s: float  # bytes sent to all sessions, MB/s
    rss_before: float
    rss_after: float

    @property
    def mb_per_session(self) -> float:
        return (self.rss_after - self.rss_before) / self.sessions

    @property
    def holds(self) -> bool:
        return self.training == self.sessions and self.rate_p5 >= TARGET_RATE and self.gap_p95 <= TARGET_GAP


def window_figures(session: Session, t0: float, t1: float) -> tuple[float, list[float]]:
    """Refreshes per second inside [t0, t1], and the gaps ending inside it: between refreshes, and
    from the last refresh to t1 (a session that stopped refreshing counts its wait so far)."""
    times = [t for t, _ in session.refreshes]
    inside = [t for t in times if t0 <= t <= t1]
    before = [t for t in times if t < t0][-1:]
    marks = before + inside
    gaps = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    if marks:
        gaps.append(t1 - marks[-1])
    return len(inside) / (t1 - t0), gaps


@dataclass(frozen=True)
class Counters:
    """The students' counters at one moment: each one's iteration and timed fragment runs, all bytes."""

    time: float
    iterations: list[int]
    runs: list[int]
    bytes: int

    @classmethod
    def read(cls, sessions: list[Session]) -> Counters:
        return cls(time.monotonic(), [s.iteration or 0 for s in sessions],
                   [len(s.stats.latencies) for s in sessions], sum(s.stats.bytes_received for s in sessions))


def session_figures(sessions: list[Session], started: list[bool], a: Counters, b: Counters) -> dict:
    """The students' side of a Result over the window from ``a`` to ``b`` (Result's field names)."""
    span = b.time - a.time
    latencies = [x for s, i in zip(sessions, a.runs, strict=True) for x in s.stats.latencies[i:]]
    rates, gaps = [], []
    for s in sessions:
        rate, g = window_figures(s, a.time, b.time)
        rates.append(rate)
        gaps.extend(g)
    return dict(
        window=span,
        training=sum(ok and s.closed_reason is None for ok, s in zip(started, sessions, strict=True)),
        rate_median=statistics.median(rates), rate_p5=float(np.percentile(rates, 5)),
        gap_p95=float(np.percentile(gaps, 95)) if gaps else float("inf"), gap_max=max(gaps, default=float("inf")),
        iters_median=statistics.median((y - x) / span for x, y in zip(a.iterations, b.iterations, strict=True)),
        latency_median=statistics.median(latencies) if latencies else float("inf"),
        server_mb_s=(b.bytes - a.bytes) / span / 1e6,
    )


async def start(session: Session, delay: float) -> bool:
    """A student presses Start (after ``delay``) and the tab follows the charts; False if it failed."""
    await asyncio.sleep(delay)
    try:
        await session.click("Start", timeout=120)
    except (ProtocolError, OSError) as exc:
        print(f"  a session could not start: {exc}", file=sys.stderr)
        return False
    session.follow()  # (a streaming page stops asking once its board has drawn a frame)
    if isinstance(session, StreamTab):
        try:
            await session.follow_stream(timeout=120)
        except (ProtocolError, OSError, TimeoutError) as exc:
            print(f"  a session could not follow its stream: {exc}", file=sys.stderr)
            return False
    return True


async def classroom(base: str, pid: int, page: str, n: int, query: str, pace: str,
                    warmup: float, window: float, ramp: float, visible: str | None = None) -> Result:
    # One tab loads the page first, so the imports it triggers are not counted per session.
    prime = Session(base, query)
    await prime.open(timeout=120)
    await prime.close()
    await asyncio.sleep(2)
    rss_before = rss_mb(pid)

    kind, extra = (StreamTab, {"visible": visible}) if page.startswith("stream") else (Session, {})
    sessions = [kind(base, query, pace=pace, **extra) for _ in range(n)]
    for i in range(0, n, 10):  # students open the link, ten at a time
        await asyncio.gather(*(s.open(timeout=120) for s in sessions[i : i + 10]))
    started = await asyncio.gather(*(start(s, ramp * i / n) for i, s in enumerate(sessions)))
    await asyncio.sleep(warmup)

    a, cpu0, own0, all0 = Counters.read(sessions), cpu_seconds(pid), time.process_time(), machine_busy_seconds()
    await asyncio.sleep(window)
    b, cpu1, own1, all1 = Counters.read(sessions), cpu_seconds(pid), time.process_time(), machine_busy_seconds()
    rss_after = rss_mb(pid)
    for s in sessions:
        s.abort()

    span = b.time - a.time
    return Result(
        page=page, sessions=n, pace=pace, **session_figures(sessions, started, a, b),
        server_cores=(cpu1 - cpu0) / span, client_cores=(own1 - own0) / span,
        other_cores=((all1 - all0) - (cpu1 - cpu0) - (own1 - own0)) / span,
        rss_before=rss_before, rss_after=rss_after,
    )


def run(page: str, n: int, args: argparse.Namespace, window: float) -> Result:
    """One server, one classroom; bounded by a time budget, the server stopped at the end."""
    env = {"OPENBLAS_NUM_THREADS": "1", "SOFTMAX_MAX_RUNNING": str(max(64, n)),
           "SOFTMAX_STREAM": "1" if page.startswith("stream") else "0",
           "SOFTMAX_STREAM_DELTAS": "0" if page == "stream-whole" else "1"}
    budget = 300 + args.warmup + window + args.ramp
    print(f"\n{page} page, {n} sessions, pace {args.pace}: warm-up {args.warmup:g} s, window {window:g} s ...",
          flush=True)
    app = args.real_app if page in ("real", "stream", "stream-whole") else PAGES[page]
    with streamlit_server(app=app, env=env) as (base, proc):
        result = asyncio.run(asyncio.wait_for(
            classroom(base, proc.pid, page, n, args.query, args.pace, args.warmup, window, args.ramp,
                      args.visible), budget))
        if proc.poll() is not None:
            raise RuntimeError(f"the {page} server died")
    print(HEADER + "\n" + row(result), flush=True)
    return result


COLUMNS = [  # (heading, width, format of one value)
    ("page", 6, lambda r: r.page), ("sessions", 8, lambda r: r.sessions), ("training", 8, lambda r: r.training),
    ("refresh/s med", 13, lambda r: f"{r.rate_median:.2f}"), ("p5", 5, lambda r: f"{r.rate_p5:.2f}"),
    ("gap p95 s", 9, lambda r: f"{r.gap_p95:.2f}"), ("gap max s", 9, lambda r: f"{r.gap_max:.2f}"),
    ("run ms", 6, lambda r: f"{r.latency_median * 1000:.0f}"), ("iter/s", 6, lambda r: f"{r.iters_median:.0f}"),
    ("server cores", 12, lambda r: f"{r.server_cores:.2f}"),
    ("client", 6, lambda r: f"{r.client_cores:.2f}"), ("others", 6, lambda r: f"{r.other_cores:.2f}"),
    ("MB/s out", 8, lambda r: f"{r.server_mb_s:.1f}"), ("RSS before MB", 13, lambda r: f"{r.rss_before:.0f}"),
    ("RSS after MB", 12, lambda r: f"{r.rss_after:.0f}"), ("MB/session", 10, lambda r: f"{r.mb_per_session:.1f}"),
    ("holds", 5, lambda r: "yes" if r.holds else "no"),
]
HEADER = " ".join(f"{name:>{width}}" for name, width, _ in COLUMNS)


def row(r: Result) -> str:
    return " ".join(f"{value(r):>{width}}" for _, width, value in COLUMNS)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=50, help="students in the comparison (default 50)")
    p.add_argument("--pages", default="real,stream,naive",
                   help="pages to compare: real (fragment reruns), stream (SOFTMAX_STREAM=1), stream-whole (the "
                        "stream with every frame whole: SOFTMAX_STREAM_DELTAS=0), naive (default real,stream,naive)")
    p.add_argument("--sweep", default="20,25,30,35,50", help="session counts to try on the real page ('' for none)")
    p.add_argument("--sweep-pages", default="real",
                   help="pages swept: real, stream and/or stream-whole (default real)")
    p.add_argument("--query", default=QUERY, help=f"each student's query string (default {QUERY})")
    p.add_argument("--pace", choices=("after-finish", "tick"), default="tick",
                   help="tick: every interval, never two in flight, as the browser's setInterval (default); "
                        "after-finish: next fragment run an interval after the last finished (slower)")
    p.add_argument("--warmup", type=float, default=15.0, help="seconds after the last Start before measuring")
    p.add_argument("--window", type=float, default=60.0, help="measuring window, seconds (default 60)")
    p.add_argument("--sweep-window", type=float, default=30.0, help="measuring window of the sweep runs")
    p.add_argument("--ramp", type=float, default=5.0, help="seconds over which the students press Start")
    p.add_argument("--visible", default=None,
                   help="stream pages: the charts each board says it has on screen, e.g. loss,decision (the first "
                        "row, what a 1280x720 screen shows); default: none said (every chart built every frame)")
    p.add_argument("--real-app", default=PAGES["real"], help="script served as the real page (for experiments)")
    args = p.parse_args(argv)

    print(f"targets: each session >= {TARGET_RATE:g} refreshes/s (5th percentile), 95th-percentile gap <= "
          f"{TARGET_GAP:g} s, <= {TARGET_MB:g} MB per session; query {args.query!r}")
    results = [run(page, args.sessions, args, args.window) for page in args.pages.split(",") if page]
    sweep = [int(n) for n in args.sweep.split(",") if n.strip()]
    held = []
    for page in [p for p in args.sweep_pages.split(",") if p]:
        for n in sweep:
            result = run(page, n, args, args.sweep_window)
            results.append(result)
            held.append((page, n, result.holds))

    if results:
        print("\n" + HEADER)
    for r in results:
        print(row(r))
    for page in dict.fromkeys(p for p, _, _ in held):
        tried = [n for p, n, _ in held if p == page]
        ok = [n for p, n, holds in held if p == page and holds]
        verdict = f"holds {max(ok)} sessions" if ok else "holds none of the counts tried"
        print(f"\nthe {page} page {verdict}",
              f"(tried {', '.join(map(str, tried))}; held: {', '.join(map(str, ok)) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
