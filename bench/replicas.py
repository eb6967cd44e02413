"""Classroom load through the balancer: one app process vs two replicas (compose.yaml), same run.

The same classroom as bench/classroom.py -- N ``testing.wsclient.Session`` students load the page,
press Start and follow the page's ``run_every`` fragment -- but against ``docker compose up
--scale app=K`` behind HAProxy (deploy/haproxy), for K = 1 and then K = 2, on the images built
once at the start. For each K a sweep raises N until a count no longer holds (every session
training, 5th-percentile refresh rate >= 2/s, 95th-percentile gap <= 1 s) and reports the largest
count that held. Server CPU and memory are the replicas' processes (host PIDs via ``docker
inspect``); the balancer's CPU is a column of its own; the client runs on the same machine.

    python -m bench.replicas                              # K = 1 and 2, sweep 20,35,50,70,90,110
    python -m bench.replicas --replicas 2 --sweep 60,80   # only two replicas, two counts
    python -m bench.replicas --keep-going                 # every count, not just up to the first miss
    python -m bench.replicas --stream --sweep 100,150     # students following the live stream (docs/stream.md)

Every run has a time budget; containers, network and images are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.classroom import (
    COLUMNS,
    QUERY,
    TARGET_GAP,
    TARGET_RATE,
    Counters,
    Result,
    machine_busy_seconds,
    row,
    rss_mb,
    session_figures,
    start,
)
from testing.streamclient import StreamTab
from testing.support import cpu_seconds
from testing.wsclient import Session
from tests.test_container import docker
from tests.test_replicas import Cluster, replica_of

ROOT = Path(__file__).resolve().parent.parent


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (HAProxy's master forks its worker)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def tree_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:  # a process that ended
            pass
    return total


def host_pid(container: str) -> int:
    return int(docker("inspect", container, "--format", "{{.State.Pid}}").stdout.strip())


@dataclass
class ReplicaResult(Result):
    replicas: int = 1
    lb_cores: float = 0.0
    spread: str = ""  # sessions per replica, e.g. "25/25"


async def classroom(cluster: Cluster, n: int, args: argparse.Namespace, window: float) -> ReplicaResult:
    """bench/classroom.py's classroom(), through the balancer and over every replica."""
    base = cluster.base
    apps = [host_pid(name) for name in cluster.containers("app")]
    lb = process_tree(host_pid(cluster.containers("lb")[0]))

    # One tab per replica loads the page first (held open together, so leastconn spreads them).
    primes = [Session(base, args.query) for _ in apps]
    await asyncio.gather(*(p.open(timeout=120) for p in primes))
    await asyncio.gather(*(p.close() for p in primes))
    await asyncio.sleep(2)
    rss_before = sum(rss_mb(p) for p in apps)

    kind = StreamTab if args.stream else Session
    sessions = [kind(base, args.query, pace=args.pace) for _ in range(n)]
    for i in range(0, n, 10):  # students open the link, ten at a time
        await asyncio.gather(*(s.open(timeout=120) for s in sessions[i: i + 10]))
    # Which replica each websocket landed on: the balancer's X-Served-By on the 101 response.
    landed = [replica_of(s._ws.response.headers.get("X-Served-By")) for s in sessions]
    spread = "/".join(str(landed.count(r)) for r in sorted(set(landed), key=str))
    started = await asyncio.gather(*(start(s, args.ramp * i / n) for i, s in enumerate(sessions)))
    await asyncio.sleep(args.warmup)

    a, own0, all0 = Counters.read(sessions), time.process_time(), machine_busy_seconds()
    cpu0, lb0 = tree_cpu(apps), tree_cpu(lb)
    await asyncio.sleep(window)
    b, own1, all1 = Counters.read(sessions), time.process_time(), machine_busy_seconds()
    cpu1, lb1 = tree_cpu(apps), tree_cpu(lb)
    rss_after = sum(rss_mb(p) for p in apps)
    for s in sessions:
        s.abort()

    span = b.time - a.time
    server, balancer, own = (cpu1 - cpu0) / span, (lb1 - lb0) / span, (own1 - own0) / span
    return ReplicaResult(
        page=f"{len(apps)}x", sessions=n, pace=args.pace, **session_figures(sessions, started, a, b),
        server_cores=server, client_cores=own, other_cores=(all1 - all0) / span - server - balancer - own,
        rss_before=rss_before, rss_after=rss_after, replicas=len(apps), lb_cores=balancer, spread=spread,
    )


EXTRA = [("lb cores", 8, lambda r: f"{r.lb_cores:.2f}"), ("spread", 11, lambda r: r.spread)]
HEADER = " ".join(f"{name:>{width}}" for name, width, _ in COLUMNS + EXTRA)


def full_row(r: ReplicaResult) -> str:
    return row(r) + " " + " ".join(f"{value(r):>{width}}" for _, width, value in EXTRA)


def sweep(cluster: Cluster, counts: list[int], args: argparse.Namespace) -> list[ReplicaResult]:
    results = []
    for n in counts:
        budget = 300 + args.warmup + args.window + args.ramp
        print(f"\n{cluster.replicas} replica(s), {n} sessions: warm-up {args.warmup:g} s, window {args.window:g} s ...",
              flush=True)
        result = asyncio.run(asyncio.wait_for(classroom(cluster, n, args, args.window), budget))
        print(full_row(result), flush=True)
        results.append(result)
        if not result.holds and not args.keep_going:
            break
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--replicas", default="1,2", help="replica counts to compare (default 1,2)")
    p.add_argument("--sweep", default="20,35,50,70,90,110", help="session counts, ascending")
    p.add_argument("--keep-going", action="store_true", help="try every count, not only up to the first miss")
    p.add_argument("--query", default=QUERY, help=f"each student's query string (default {QUERY})")
    p.add_argument("--pace", choices=("after-finish", "tick"), default="tick",
                   help="how a student follows the fragment (see bench/classroom.py; default tick, as a browser)")
    p.add_argument("--warmup", type=float, default=15.0, help="seconds after the last Start before measuring")
    p.add_argument("--window", type=float, default=30.0, help="measuring window, seconds (default 30)")
    p.add_argument("--ramp", type=float, default=5.0, help="seconds over which the students press Start")
    p.add_argument("--stream", action="store_true",
                   help="the students follow the live stream (SOFTMAX_STREAM=1) instead of fragment reruns")
    args = p.parse_args(argv)
    counts = sorted(int(n) for n in args.sweep.split(",") if n.strip())
    replica_counts = [int(k) for k in args.replicas.split(",") if k.strip()]

    print(f"targets: each session >= {TARGET_RATE:g} refreshes/s (5th percentile), 95th-percentile gap <= "
          f"{TARGET_GAP:g} s; query {args.query!r}; {os.cpu_count()} cores; client on the same machine")
    # Every replica may run as many trainers as the largest class tried (softmax/limits.py caps it at 64).
    # The simulated students all come from this machine: one client address to the balancer and the replicas,
    # like a class behind one NAT address, so its per-address limits are raised to the largest class.
    most = max(64, *counts)
    cluster = Cluster(env={"SOFTMAX_MAX_RUNNING": str(most), "SOFTMAX_MAX_RUNNING_PER_ADDRESS": str(most),
                           "SOFTMAX_MAX_SESSIONS_PER_ADDRESS": str(most + 20),
                           "SOFTMAX_NEW_PAGES_PER_MINUTE": str(max(60, 4 * most)),
                           "SOFTMAX_LB_MAX_PAGES": str(max(120, most + 20)),
                           "SOFTMAX_STREAM": "1" if args.stream else "0"})
    results: list[ReplicaResult] = []
    try:
        cluster.build()
        for k in replica_counts:
            cluster.replicas, cluster.log_name = k, f"bench-replicas-{k}x.log"
            cluster.up()
            try:
                results += sweep(cluster, counts, args)
            finally:
                cluster.down(keep_images=True)
    finally:
        cluster.log_name = None
        cluster.down()

    print("\n" + HEADER)
    for r in results:
        print(full_row(r))
    print()
    for k in replica_counts:
        held = [r.sessions for r in results if r.replicas == k and r.holds]
        tried = [r.sessions for r in results if r.replicas == k]
        print(f"{k} replica(s): holds {max(held) if held else 'none'} of the counts tried "
              f"({', '.join(map(str, tried))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
