"""A client that opens pages and drops them in a stream: how much memory does the server hold?

Each page dropped is kept by Streamlit for a reconnect (``server.disconnectedSessionTTL``, 120 s),
with its run. One client from 127.0.0.2 opens a page with the largest run (5 000 points) and
drops it (TCP gone) R times a second for T seconds; the server's resident memory is sampled
every second, and at the end a student from another address checks that it can still open the
page. Before the fix the issue measured ~2 GB held at 33 pages a second.

    python -m bench.churn                          # this checkout
    python -m bench.churn --root /tmp/before       # another checkout
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from testing.hostile import Tab, serve

ROOT = Path(__file__).resolve().parent.parent

HEAVY = "points_per_class=500&classes=10"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


async def one(base: str) -> bool:
    tab = Tab(base, HEAVY, source="127.0.0.2")
    try:
        await tab.open(timeout=30)
        return True
    except Exception:
        return False
    finally:
        tab.abort()


async def churn(base: str, pid: int, rate: float, seconds: float) -> dict:
    before = rss_mb(pid)
    samples, tasks, t0 = [], [], time.monotonic()
    next_sample = t0
    while (now := time.monotonic()) < t0 + seconds:
        tasks.append(asyncio.create_task(one(base)))
        if now >= next_sample:
            samples.append(rss_mb(pid))
            next_sample += 1.0
        await asyncio.sleep(1.0 / rate)
    opened = sum(await asyncio.gather(*tasks))
    samples.append(rss_mb(pid))
    student = Tab(base, "", source="127.0.0.3")
    await student.open(timeout=60)
    student.abort()
    return dict(tried=len(tasks), opened=opened, rss_before=before, rss_peak=max(samples), rss_end=samples[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=33.0, help="pages opened and dropped a second (default 33)")
    p.add_argument("--seconds", type=float, default=60.0, help="for how long (default 60)")
    p.add_argument("--root", type=Path, default=ROOT)
    args = p.parse_args(argv)
    with serve(args.root) as (base, proc):
        asyncio.run(one(base))  # the first page load imports what every page needs
        r = asyncio.run(asyncio.wait_for(churn(base, proc.pid, args.rate, args.seconds), 600))
        if proc.poll() is not None:
            raise RuntimeError("the server died")
    print(r)
    print(f"{r['tried']} pages tried at {args.rate:g}/s for {args.seconds:g} s, {r['opened']} opened; server RSS "
          f"{r['rss_before']:.0f} MB before, {r['rss_peak']:.0f} MB at most, {r['rss_end']:.0f} MB at the end; "
          f"a student elsewhere could still open the page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
