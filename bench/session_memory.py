"""Memory per session at the largest settings a server allows, for sizing pods (deploy/sizing.py).

Students (``testing.wsclient.Session``) join one server in steps: each opens the page with the largest
settings (10 classes x 500 points, speed 10 000, 100 000 iterations), presses Start and follows the
chart refreshes like a browser. After each step has trained for a while the server's resident memory
is read (VmRSS, and its peak VmHWM, from /proc), and /_stcore/health is polled all along with the
readiness probe's timeout (deploy/k8s/deployment.yaml: 5 s), so the figures say whether a loaded
pod would stay ready. Then every student drops off at once (a Wi-Fi blip: no close frame): the
sessions wait out the reconnect window (server.disconnectedSessionTTL, 120 s) in memory, and what
the process still holds after that window is the allocator's share.

    python -m bench.session_memory                      # steps of 10 up to 30 students
    python -m bench.session_memory --steps 5,10,20 --train 30
    python -m bench.session_memory --query 'speed=50'   # another load (default: the largest settings)
    python -m bench.session_memory --stream             # the students follow the live stream (SOFTMAX_STREAM=1)

The figures it prints are the per-student inputs of deploy/sizing.py: --idle-mib, --session-mib.
Every run has a time budget; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.classroom import rss_mb, start
from testing.streamclient import StreamTab
from testing.support import cpu_seconds, streamlit_server
from testing.wsclient import Session

ROOT = Path(__file__).resolve().parent.parent

LARGEST = "dataset=spiral&classes=10&points_per_class=500&speed=10000&iterations=100000&refresh=5"
PROBE_TIMEOUT = 5.0  # the readiness probe's timeoutSeconds (deploy/k8s/deployment.yaml)
OLD_PROBE_TIMEOUT = 3.0  # before issue #18: 3 s, and 2 failures took the pod out
MIB = 1024 * 1024


def peak_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB (MiB, as /proc counts)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


@dataclass
class HealthLog:
    """Answers of /_stcore/health polled like a readiness probe: seconds each took (None: no answer in time)."""

    times: list[float | None] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(t is None for t in self.times)

    @property
    def worst_run_of_failures(self) -> int:
        worst = run = 0
        for t in self.times:
            run = run + 1 if t is None else 0
            worst = max(worst, run)
        return worst

    def summary(self) -> str:
        ok = sorted(t for t in self.times if t is not None)
        if not ok:
            return f"{len(self.times)} probes, none answered within {PROBE_TIMEOUT:g} s"
        p99 = ok[min(len(ok) - 1, int(0.99 * len(ok)))]
        old = sum(t is None or t > OLD_PROBE_TIMEOUT for t in self.times)
        return (f"{len(self.times)} probes: median {statistics.median(ok) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                f"max {ok[-1] * 1000:.0f} ms; {self.failures} over {PROBE_TIMEOUT:g} s "
                f"(at most {self.worst_run_of_failures} in a row; the probe allows 5); "
                f"{old} over the old probe's {OLD_PROBE_TIMEOUT:g} s")


async def poll_health(base: str, log: HealthLog, period: float, stop: asyncio.Event) -> None:
    """Ask /_stcore/health every ``period`` seconds with the probe's timeout, from a thread (the way
    the kubelet asks: its own connection, nothing shared with the students' event loop)."""

    def ask() -> float | None:
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=PROBE_TIMEOUT) as r:
                ok = r.read().strip() == b"ok"
        except OSError:
            return None
        took = time.monotonic() - t0
        return took if ok and took <= PROBE_TIMEOUT else None

    while not stop.is_set():
        log.times.append(await asyncio.to_thread(ask))
        try:
            await asyncio.wait_for(stop.wait(), period)
        except TimeoutError:
            pass


@dataclass
class Step:
    students: int
    rss: float
    peak: float
    cores: float
    training: int
    iterations_per_s: float


async def measure(base: str, pid: int, steps: list[int], query: str, train: float, ttl_wait: float,
                  kind: type[Session] = Session) -> None:
    prime = Session(base, query)  # the imports a first page triggers are not a student's
    await prime.open(timeout=120)
    await prime.close()
    await asyncio.sleep(3)
    idle = rss_mb(pid)
    print(f"idle process after one page load: RSS {idle:.0f} MiB", flush=True)

    health, stop = HealthLog(), asyncio.Event()
    poller = asyncio.create_task(poll_health(base, health, 2.0, stop))
    sessions: list[Session] = []
    results: list[Step] = []
    try:
        for n in steps:
            new = [kind(base, query) for _ in range(n - len(sessions))]
            for i in range(0, len(new), 10):
                await asyncio.gather(*(s.open(timeout=120) for s in new[i: i + 10]))
            started = await asyncio.gather(*(start(s, 0.1 * i) for i, s in enumerate(new)))
            if not all(started):
                print(f"  {started.count(False)} of {len(new)} could not start", flush=True)
            sessions += new
            it0, cpu0, t0 = sum(s.iteration or 0 for s in sessions), cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(train)
            it1, cpu1, t1 = sum(s.iteration or 0 for s in sessions), cpu_seconds(pid), time.monotonic()
            step = Step(n, rss_mb(pid), peak_mb(pid), (cpu1 - cpu0) / (t1 - t0),
                        sum(s.closed_reason is None for s in sessions), (it1 - it0) / (t1 - t0) / n)
            results.append(step)
            print(f"{n:3d} students training {train:g} s: RSS {step.rss:.0f} MiB (peak {step.peak:.0f}), "
                  f"{(step.rss - idle) / n:.1f} MiB per student over idle; server {step.cores:.2f} cores, "
                  f"{step.iterations_per_s:.0f} iterations/s per student; {step.training} connected", flush=True)
        for s in sessions:
            s.abort()
        await asyncio.sleep(5)
        held = rss_mb(pid)
        print(f"all {len(sessions)} dropped at once (no close frame): RSS {held:.0f} MiB 5 s later "
              f"(their sessions wait out the reconnect window)", flush=True)
    finally:
        stop.set()
        await poller
    print(f"health while loaded: {health.summary()}", flush=True)
    await asyncio.sleep(ttl_wait)
    after = rss_mb(pid)
    print(f"{ttl_wait:.0f} s later (past the reconnect window): RSS {after:.0f} MiB, peak {peak_mb(pid):.0f} MiB",
          flush=True)

    # Per student: the slope between the steps (what one more student costs) and the average over idle.
    if len(results) >= 2:
        slopes = [(b.rss - a.rss) / (b.students - a.students) for a, b in zip(results, results[1:], strict=False)]
        print(f"\nper additional student: {', '.join(f'{x:.1f}' for x in slopes)} MiB between the steps")
    last = results[-1]
    print(f"sizing inputs: --idle-mib {idle:.0f} --session-mib {(last.rss - idle) / last.students:.1f}"
          f" (at {last.students} students; peak {last.peak:.0f} MiB)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", default="10,20,30", help="students after each step, ascending (default 10,20,30)")
    p.add_argument("--query", default=LARGEST, help=f"each student's query string (default {LARGEST})")
    p.add_argument("--train", type=float, default=20.0, help="seconds each step trains before reading memory")
    p.add_argument("--ttl-wait", type=float, default=130.0,
                   help="seconds to wait after the drop (the reconnect window is 120 s)")
    p.add_argument("--stream", action="store_true", help="serve the live stream and follow it (docs/stream.md)")
    args = p.parse_args(argv)
    steps = sorted(int(n) for n in args.steps.split(",") if n.strip())
    env = {"OPENBLAS_NUM_THREADS": "1", "SOFTMAX_MAX_RUNNING": str(max(64, steps[-1])),
           "SOFTMAX_STREAM": "1" if args.stream else "0"}
    budget = 300 + len(steps) * (args.train + 60) + args.ttl_wait
    print(f"query {args.query!r}; steps {steps}; budget {budget:.0f} s", flush=True)
    with streamlit_server(env=env) as (base, proc):
        kind = StreamTab if args.stream else Session
        asyncio.run(asyncio.wait_for(
            measure(base, proc.pid, steps, args.query, args.train, args.ttl_wait, kind), budget))
        if proc.poll() is not None:
            raise RuntimeError("the server died")
    return 0


if __name__ == "__main__":
    sys.exit(main())
