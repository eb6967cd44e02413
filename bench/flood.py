"""A client floods its page with reruns: does the rest of the server notice?

One server; a student (127.0.0.3, the defaults) trains and follows the charts like a browser.
Then a client from 127.0.0.2 sends 1 000 whole-page reruns over one websocket as fast as it can
(without waiting for any answer), and keeps its connection open. For 15 s from the flood:
``/_stcore/health`` every 50 ms (its longest answer), the student's longest gap between chart
refreshes and its refreshes per second, and how many runs the flooding page got.
The issue measured ~5 s of stalled server for 1 000 queued reruns.

    python -m bench.flood                        # this checkout
    python -m bench.flood --root /tmp/before     # another checkout
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from testing.hostile import HealthProbe, Tab, serve
from testing.support import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent

WINDOW = 15.0


async def scenario(base: str, pid: int, reruns: int) -> dict:
    student = Tab(base, "speed=50&iterations=100000&refresh=5", source="127.0.0.3", pace="tick")
    await student.open(timeout=120)
    await student.click("Start", timeout=120)
    student.follow()
    flooder = Tab(base, "", source="127.0.0.2")
    await flooder.open(timeout=120)
    await asyncio.sleep(3)
    probe = HealthProbe(base)
    probe.start()
    t0, cpu0, runs0 = time.monotonic(), cpu_seconds(pid), flooder.stats.runs
    for _ in range(reruns):
        await flooder.rerun()  # no waiting: the requests pile up on the server
    sent = time.monotonic() - t0
    await asyncio.sleep(WINDOW - sent)
    t1, cpu1 = time.monotonic(), cpu_seconds(pid)
    probe.stop.set()
    probe.join()
    times = [t for t, _ in student.refreshes if t0 <= t <= t1]
    marks = [t0, *times, t1]
    result = dict(sent_in=sent, flood_runs=flooder.stats.runs - runs0,
                  health_max=max(lat for _, lat in probe.samples), student_rate=len(times) / (t1 - t0),
                  student_gap=max(b - a for a, b in zip(marks, marks[1:], strict=False)),
                  server_cores=(cpu1 - cpu0) / (t1 - t0))
    student.abort()
    flooder.abort()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reruns", type=int, default=1000)
    p.add_argument("--root", type=Path, default=ROOT)
    args = p.parse_args(argv)
    with serve(args.root) as (base, proc):
        r = asyncio.run(asyncio.wait_for(scenario(base, proc.pid, args.reruns), 600))
        if proc.poll() is not None:
            raise RuntimeError("the server died")
    print(r)
    print(f"{args.reruns} reruns sent in {r['sent_in']:.2f} s; the flooding page got {r['flood_runs']} runs in "
          f"{WINDOW:g} s; health: longest answer {r['health_max'] * 1000:.0f} ms; student: "
          f"{r['student_rate']:.2f} refreshes/s, longest gap {r['student_gap']:.2f} s; "
          f"server {r['server_cores']:.2f} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
