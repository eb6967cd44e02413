"""Soak: one student's tab streams the charts for ten minutes; the server's resident memory must stay flat.

The page runs with ``runner.postScriptGC = false`` (.streamlit/config.toml), so nothing collects
garbage after each fragment run; this shows whether memory creeps while a session streams.
Resident memory (VmRSS of the server) is sampled every 10 s; the first samples, while caches
and the allocator warm up, are reported but not judged. Target: the largest sample after the
warm-up at most 10 % above the first one after it.

    python -m bench.soak                  # 10 minutes
    python -m bench.soak --minutes 2
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from bench.classroom import rss_mb
from testing.support import cpu_seconds, streamlit_server, thread_count
from testing.wsclient import Session

ROOT = Path(__file__).resolve().parent.parent

TARGET_PCT = 10.0


async def soak(base: str, pid: int, seconds: float, warmup: float, every: float, query: str) -> list[tuple]:
    tab = Session(base, query)
    await tab.open()
    await tab.click("Start")
    tab.follow()
    t0 = time.monotonic()
    samples = []  # (seconds since Start, RSS MB, threads, iteration, refreshes so far, server CPU s)
    while True:
        elapsed = time.monotonic() - t0
        samples.append((elapsed, rss_mb(pid), thread_count(pid), tab.iteration, len(tab.refreshes), cpu_seconds(pid)))
        s = samples[-1]
        print(f"{s[0]:6.0f} s  RSS {s[1]:6.1f} MB  threads {s[2]:2d}  iteration {s[3]}  refreshes {s[4]}"
              f"{'  (warm-up)' if s[0] < warmup else ''}", flush=True)
        if not tab.connected:
            raise RuntimeError(f"the session was disconnected: {tab.closed_reason}")
        if elapsed >= seconds:
            break
        await asyncio.sleep(min(every, seconds - elapsed))
    await tab.close()
    return samples


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="how long the tab streams (default 10)")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds of samples not judged (default 60)")
    p.add_argument("--every", type=float, default=10.0, help="seconds between samples (default 10)")
    p.add_argument("--refresh", type=int, default=5, help="chart refreshes per second the tab asks for")
    args = p.parse_args(argv)

    seconds = args.minutes * 60
    # The run must outlast the soak: iterations / speed > the soak, and the server's per-run time cap too.
    speed = max(1, min(100, int(100_000 / (seconds + args.warmup + 120))))
    query = f"speed={speed}&iterations=100000&refresh={args.refresh}"
    env = {"OPENBLAS_NUM_THREADS": "1", "SOFTMAX_MAX_RUN_SECONDS": str(int(seconds + 600))}
    print(f"soak: one tab, {query}, {args.minutes:g} min, RSS every {args.every:g} s (first {args.warmup:g} s warm-up)")
    with streamlit_server(env=env) as (base, proc):
        samples = asyncio.run(asyncio.wait_for(soak(base, proc.pid, seconds, args.warmup, args.every, query),
                                               seconds + 300))
        if proc.poll() is not None:
            raise RuntimeError("the server died")

    judged = [s for s in samples if s[0] >= args.warmup]
    rss = [s[1] for s in judged]
    first = rss[0]
    drift = (max(rss) - first) / first * 100
    span = judged[-1][0] - judged[0][0]
    refresh_rate = (judged[-1][4] - judged[0][4]) / span if span else 0.0
    cores = (judged[-1][5] - judged[0][5]) / span if span else 0.0
    print(f"\nRSS after warm-up ({len(rss)} samples over {span:.0f} s): first {first:.1f} MB, min {min(rss):.1f}, "
          f"max {max(rss):.1f}; last {rss[-1]:.1f}; all samples min {min(s[1] for s in samples):.1f}, "
          f"max {max(s[1] for s in samples):.1f}")
    print(f"drift (max - first) / first = {drift:+.1f} % (target <= {TARGET_PCT:g} %): "
          f"{'flat' if drift <= TARGET_PCT else 'NOT flat'}; {refresh_rate:.2f} refreshes/s, server {cores:.2f} cores, "
          f"iteration {judged[-1][3]}")
    return 0 if drift <= TARGET_PCT else 1


if __name__ == "__main__":
    sys.exit(main())
