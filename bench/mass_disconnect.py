"""A classroom's Wi-Fi drops: N running sessions vanish at once while a few students stay connected.

For each N, one server: N "doomed" tabs load the page at the largest run this server allows
(5 000 points: 500 per class, 10 classes; 10 000 iterations/s, the fastest allowed), press Start
and follow their charts at 1 refresh/s; S survivor tabs (the defaults: 300 points, 5 refreshes/s)
press Start and follow theirs. Then every doomed tab drops its connection at the same instant
(TCP gone, no close frame: what a Wi-Fi blip does). Measured from 2 s before the drop to 10 s
after it:
- ``/_stcore/health`` answered every 50 ms from another thread: its latency (max, and how many
  answers took over 200 ms) -- it waits whenever the server's event loop is blocked;
- the survivors' chart refreshes: the longest gap any of them saw, before the drop and after it
  (at 10 000 iterations/s the dropped runs saturate the machine before the drop, so read the
  "after" column against the "before" one; at 50 iterations/s, a class's default, the server is
  at ease before the drop);
- the time Streamlit's event loop spent in ``Runtime.disconnect_session`` (once per dropped page,
  where the session-release hooks run, plus no-op calls for messages still queued to it), timed
  inside the server by bench/probes/sitecustomize.py: every other connection waits for it, and
  unlike the health latency it hardly depends on what else the machine is doing;
- how long until the server's thread count is back to where it was before Start, plus the survivors'
  training (for a checkout with a training thread per run: until the dropped runs' threads have
  ended; since the runs share one thread, ``softmax.runner``, there are none to end and this is ~0).

    python -m bench.mass_disconnect                          # N = 10, 30, 50 on this checkout
    python -m bench.mass_disconnect --root /tmp/before       # the same against another checkout

The "before" figures in the README came from a copy of the commit before the fix
(``git archive <commit> | tar -x -C /tmp/before``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from testing.hostile import HealthProbe, Tab, serve
from testing.support import thread_count

ROOT = Path(__file__).resolve().parent.parent

DOOMED = "points_per_class=500&classes=10&speed={speed}&iterations=100000&refresh=1"
SURVIVOR = "speed=50&iterations=100000&refresh=5"
BEFORE_S, AFTER_S = 2.0, 10.0


def longest_gap(tab: Tab, t0: float, t1: float) -> float:
    """The longest wait for a refresh within [t0, t1] (a wait that began before t0 counts from its start)."""
    times = [t for t, _ in tab.refreshes if t <= t1]
    marks = [t for t in times if t < t0][-1:] + [t for t in times if t >= t0] + [t1]
    return max((b - a for a, b in zip(marks, marks[1:], strict=False)), default=t1 - t0)


async def scenario(base: str, pid: int, n: int, survivors: int, speed: float, probe_file: Path) -> dict:
    idle_threads = thread_count(pid)
    stay = [Tab(base, SURVIVOR) for _ in range(survivors)]
    doomed = [Tab(base, DOOMED.format(speed=f"{speed:g}")) for _ in range(n)]
    tabs = stay + doomed
    for i in range(0, len(tabs), 10):
        await asyncio.gather(*(t.open(timeout=120) for t in tabs[i : i + 10]))
    for t in tabs:
        await t.click("Start", timeout=120)
        t.follow()
    try:
        await asyncio.gather(*(t.wait_until(lambda s: (s.iteration or 0) > 20, 120, "training") for t in tabs))
    except Exception:
        for t in tabs:
            if (t.iteration or 0) <= 20:
                print("not training:", t.query, t.iteration, t.seen.markdown[-3:], file=sys.stderr)
        raise
    await asyncio.sleep(3)
    training_threads = thread_count(pid)

    probe = HealthProbe(base)
    probe.start()
    await asyncio.sleep(BEFORE_S)
    probe_file.write_text("")
    dropped_at = time.monotonic()
    for t in doomed:
        t.abort()
    back_at = None
    while time.monotonic() < dropped_at + AFTER_S:
        await asyncio.sleep(0.1)
        if back_at is None and thread_count(pid) <= idle_threads + survivors + 1:
            back_at = time.monotonic()
    probe.stop.set()
    probe.join()
    for t in stay:
        t.abort()
    # every answer that was awaited during the window (a slow one may have been asked before it began)
    before = [lat for t0, lat in probe.samples if t0 < dropped_at and t0 + lat >= dropped_at - BEFORE_S]
    after = [lat for t0, lat in probe.samples if t0 + lat >= dropped_at]
    return dict(
        n=n, survivors=survivors, threads=training_threads - idle_threads,
        health_before=max(before), health_after=max(after), health_median=statistics.median(after),
        slow=sum(lat > 0.2 for lat in after), answers=len(after),
        gap_before=max(longest_gap(t, dropped_at - BEFORE_S, dropped_at) for t in stay),
        gap_after=max(longest_gap(t, dropped_at, dropped_at + AFTER_S) for t in stay),
        threads_gone=(back_at - dropped_at) if back_at else float("inf"),
        **disconnect_times(probe_file),
    )


def disconnect_times(probe_file: Path) -> dict:
    rows = [line.split() for line in probe_file.read_text().splitlines() if line.strip()]
    wall, cpu = [float(r[0]) for r in rows], [float(r[1]) for r in rows]
    return dict(calls=len(rows), loop_total=sum(wall), loop_max=max(wall, default=0.0), loop_cpu=sum(cpu))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", default="10,30,50", help="running sessions dropped at once (default 10,30,50)")
    p.add_argument("--survivors", type=int, default=5, help="sessions that stay connected (default 5)")
    p.add_argument("--speed", type=float, default=10_000,
                   help="iterations/s of the dropped runs (default 10000, the most allowed; try 50, the default)")
    p.add_argument("--root", type=Path, default=ROOT, help="checkout to serve (default this one)")
    args = p.parse_args(argv)
    rows = []
    for n in [int(x) for x in args.sessions.split(",") if x.strip()]:
        probe_file = ROOT / "test-artifacts" / f"disconnects-{n}.txt"
        probe_file.parent.mkdir(exist_ok=True)
        env = {"SOFTMAX_MAX_RUNNING": str(n + args.survivors + 10),  # (127.0.0.1 has no per-address cap)
               "PYTHONPATH": str(ROOT / "bench" / "probes"), "SOFTMAX_PROBE_FILE": str(probe_file)}
        print(f"\n{n} running sessions drop ({args.root}) ...", flush=True)
        with serve(args.root, env=env) as (base, proc):
            row = asyncio.run(asyncio.wait_for(
                scenario(base, proc.pid, n, args.survivors, args.speed, probe_file), 600))
            if proc.poll() is not None:
                raise RuntimeError("the server died")
        rows.append(row)
        print(row, flush=True)
    print(f"\n{args.speed:g} iterations/s per dropped run; health: longest answer in the 2 s before the drop and "
          f"the 10 s after it; survivors: longest gap between chart refreshes before / after")
    print(f"{'dropped':>7} {'event loop in disconnects ms: total':>35} {'longest':>7} {'CPU':>5} "
          f"{'health before ms':>16} {'after ms':>8} {'>200 ms after':>13} {'survivor gap before s':>21} "
          f"{'after s':>7} {'threads gone s':>14}")
    for r in rows:
        print(f"{r['n']:>7} {r['loop_total'] * 1000:>35.1f} {r['loop_max'] * 1000:>7.1f} {r['loop_cpu'] * 1000:>5.1f} "
              f"{r['health_before'] * 1000:>16.0f} {r['health_after'] * 1000:>8.0f} "
              f"{r['slow']:>5} of {r['answers']:<4} {r['gap_before']:>21.2f} {r['gap_after']:>7.2f} "
              f"{r['threads_gone']:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
