"""Size a deployment of the page for a class: pods, per-pod session cap, memory, from per-pod figures.

    python deploy/sizing.py --students 300                     # today's measured figures
    python deploy/sizing.py --students 300 --session-mib 14    # after re-measuring one figure

With cookie affinity a balancer places each *new* student on a pod of its choosing, and the cookie
keeps the student there; the balancer does not know how many sessions a pod holds. ingress-nginx
picks uniformly at random (its ``sticky_persistent`` balancer calls ``random_except``; ``balanced``
mode hashes a random key), so the pods do not fill evenly: the busiest pod holds more than N / P.
``busiest_pod`` gives that number exactly (the q-quantile of the largest load when N students land
independently and uniformly on P pods); ``simulate_busiest_pod`` draws it by simulation, the
independent check the tests compare it with. HAProxy's ``leastconn`` (compose.yaml) fills evenly
and needs none of this.

The derivation (deploy/README.md explains each line):

- S, sessions one pod holds at the refresh target (bench/classroom.py, bench/replicas.py), is the
  quality bar: on a normal day the busiest pod holds at most S at the quantile q.
- C, the per-pod session cap (the hard limit: ``SOFTMAX_MAX_RUNNING``, and the session cap the app
  is to enforce), is what a pod may hold when the class is crowded or a pod was lost: refreshes slow
  a little (bench, with the live stream: 150 sessions on one replica still got 1.6/s), memory stays under
  the limit.
- Pods P: the busiest of P pods holds <= S, and after losing one pod (its students land at random
  on the other P - 1, which is the same as all N landing at random on P - 1) the busiest holds <= C.
- Memory, request = limit (Guaranteed QoS): idle + C sessions + the sessions of students who
  reloaded and whose old session waits out the reconnect window, times a headroom for the
  allocator's kept pages, rounded up to 32 MiB.
- CPU, request = limit: what one process uses at most (the GIL holds it near one core).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass
from functools import lru_cache

QUANTILE = 0.99


def prob_busiest_at_most(students: int, pods: int, k: int) -> float:
    """P(no pod holds more than ``k``) when ``students`` land independently and uniformly on ``pods``.

    Exact up to rounding: the pods are filled one at a time; given r students not yet placed and m
    pods left, the next pod gets Binomial(r, 1/m) of them (the conditional law of one cell of a
    multinomial). States less likely than 1e-15 are dropped (they cannot move a 99 % quantile).
    """
    if students < 0 or pods < 1 or k < 0:
        raise ValueError(f"need students >= 0, pods >= 1, k >= 0; got {students}, {pods}, {k}")
    log_fact = [math.lgamma(i + 1) for i in range(students + 1)]
    left = {students: 1.0}  # students not yet placed -> probability, every pod so far within k
    for m in range(pods, 1, -1):
        lp, lq = math.log(1.0 / m), math.log1p(-1.0 / m)
        nxt: dict[int, float] = {}
        for r, pr in left.items():
            base = math.log(pr) + log_fact[r] + r * lq
            for c in range(min(k, r) + 1):
                w = math.exp(base - log_fact[c] - log_fact[r - c] + c * (lp - lq))
                nxt[r - c] = nxt.get(r - c, 0.0) + w
        left = {r: pr for r, pr in nxt.items() if pr > 1e-15}
    return min(1.0, sum(pr for r, pr in left.items() if r <= k))  # the last pod takes the rest


@lru_cache(maxsize=4096)
def busiest_pod(students: int, pods: int, quantile: float = QUANTILE) -> int:
    """The smallest k with P(busiest pod holds <= k) >= quantile: how full the busiest pod gets in
    all but (1 - quantile) of classes, with random placement."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    k = math.ceil(students / pods)
    while prob_busiest_at_most(students, pods, k) < quantile:
        k += 1
    return k


def simulate_busiest_pod(students: int, pods: int, trials: int = 2000, quantile: float = QUANTILE,
                         seed: int = 0, placement: str = "random") -> int:
    """The busiest pod's load at ``quantile`` by simulation: place the students ``trials`` times and
    take the value below which ``quantile`` of the trials fall.

    ``placement``: ``random`` (ingress-nginx with cookie affinity), ``two-choices`` (the less loaded of
    two random pods, ties at random: Envoy's least-request for equal weights, Envoy Gateway's default),
    ``least`` (the least loaded pod: HAProxy's leastconn; always ceil(N / P)).
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}")
    rng = random.Random(seed)
    busiest = []
    for _ in range(trials):
        load = [0] * pods
        if placement == "random":
            for pod in rng.choices(range(pods), k=students):
                load[pod] += 1
        elif placement == "two-choices":
            for _ in range(students):
                a, b = rng.randrange(pods), rng.randrange(pods)
                pod = a if load[a] < load[b] or (load[a] == load[b] and rng.random() < 0.5) else b
                load[pod] += 1
        else:
            for _ in range(students):
                load[load.index(min(load))] += 1
        busiest.append(max(load))
    busiest.sort()
    return busiest[max(0, math.ceil(quantile * trials) - 1)]


PLACEMENTS = ("random", "two-choices", "least")


def busiest_for(students: int, pods: int, quantile: float, placement: str) -> int:
    """The busiest pod's load at ``quantile`` for a balancer's way of placing new students."""
    if placement == "random":
        return busiest_pod(students, pods, quantile)
    if placement == "least":
        return math.ceil(students / pods)
    return simulate_busiest_pod(students, pods, trials=1000, quantile=quantile, placement=placement)


@dataclass(frozen=True)
class PodFigures:
    """What one pod (one Streamlit process) measures; every per-student figure is an input."""

    # S and C with the live stream (on by default since 4 December; the fragment path held 25 and 30):
    sessions_at_target: int = 100  # S: bench/replicas.py --stream, 1 replica: 2.47/s at the 5th pct, gap p95 0.62 s
    session_cap: int = 120  # C: between 100 (2.47/s) and 150 (1.63/s) sessions on 1 replica; 250 / 120 = 2.08/s
    idle_mib: float = 163.0  # RSS of a process that has served a page (pandas and pyarrow for the tables included)
    session_mib: float = 11.0  # RSS per session at the largest settings (issue #18: 8-11 MiB)
    reload_fraction: float = 0.2  # sessions of students who reloaded, held for the reconnect window (120 s)
    headroom: float = 0.3  # on top: the allocator keeps freed pages; an OOM kill ends every session of the pod
    cores: float = 1.1  # one process uses at most ~1.1 cores (the GIL)
    refresh_target: float = 2.0  # refreshes/s each page must get
    stream_budget: float = 250.0  # SOFTMAX_STREAM_BUDGET: the live stream's frames/s a process shares out


@dataclass(frozen=True)
class Plan:
    students: int
    pods: int
    busiest: int  # the busiest pod's load at the quantile, all pods up
    busiest_one_lost: int  # the same with one pod lost
    session_cap: int  # SOFTMAX_MAX_RUNNING
    memory_mib: int  # request = limit
    cpu_millicores: int  # request = limit
    refresh_per_page_at_cap: float  # SOFTMAX_STREAM_BUDGET / cap, what each page gets on a full pod
    quantile: float
    placement: str


def memory_mib(f: PodFigures) -> int:
    """Request = limit: idle + cap x (1 + reload fraction) sessions, plus headroom, rounded up to 32 MiB."""
    need = (f.idle_mib + f.session_cap * (1 + f.reload_fraction) * f.session_mib) * (1 + f.headroom)
    return 32 * math.ceil(need / 32)


def plan(students: int, f: PodFigures = PodFigures(), quantile: float = QUANTILE, placement: str = "random") -> Plan:
    """Pods, cap and resources for a class of ``students`` behind a balancer that places new students
    by ``placement`` (see ``simulate_busiest_pod``; the module docstring has the derivation)."""
    if not 1 <= f.sessions_at_target <= f.session_cap:
        raise ValueError(f"need 1 <= sessions_at_target <= session_cap, got {f.sessions_at_target}, {f.session_cap}")

    def enough(pods: int) -> bool:
        return (busiest_for(students, pods, quantile, placement) <= f.sessions_at_target
                and busiest_for(students, pods - 1, quantile, placement) <= f.session_cap)

    # The busiest pod only empties as pods are added: bisect between too few and surely enough.
    low, high = max(2, math.ceil(students / f.sessions_at_target)) - 1, max(2, students + 1)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    pods = high
    return Plan(students=students, pods=pods, busiest=busiest_for(students, pods, quantile, placement),
                busiest_one_lost=busiest_for(students, pods - 1, quantile, placement), session_cap=f.session_cap,
                memory_mib=memory_mib(f), cpu_millicores=int(round(f.cores * 1000)),
                refresh_per_page_at_cap=f.stream_budget / f.session_cap, quantile=quantile,
                placement=placement)


def report(p: Plan, f: PodFigures) -> str:
    q = f"{p.quantile:.0%}"
    lines = [
        f"class of {p.students}, new students placed {p.placement}: {p.pods} pods (replicas: {p.pods})",
        f"  busiest pod, {q} of classes: {p.busiest} sessions with all pods up (target S = {f.sessions_at_target}),"
        f" {p.busiest_one_lost} with one pod lost (cap C = {f.session_cap})",
        f"  SOFTMAX_MAX_RUNNING = {p.session_cap}; each page on a full pod gets"
        f" {f.stream_budget:g} / {p.session_cap} = {p.refresh_per_page_at_cap:.2f} refreshes/s"
        f" (target {f.refresh_target:g})",
        f"  memory request = limit = {p.memory_mib}Mi: ({f.idle_mib:g} + {f.session_cap} x {1 + f.reload_fraction:g}"
        f" x {f.session_mib:g}) x {1 + f.headroom:g}, rounded up to 32 MiB",
        f"  cpu request = limit = {p.cpu_millicores}m; nodes need {p.pods * p.cpu_millicores / 1000:g} cores"
        f" and {p.pods * p.memory_mib} MiB for the pods, plus the ingress controller",
    ]
    if p.refresh_per_page_at_cap < f.refresh_target:
        lines.append("  WARNING: a full pod cannot give every page the refresh target; lower the cap")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    d = PodFigures()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, required=True, help="class size N")
    ap.add_argument("--quantile", type=float, default=QUANTILE, help=f"classes the plan must cover ({QUANTILE})")
    ap.add_argument("--placement", choices=PLACEMENTS, default="random",
                    help="how the balancer places a new student: random (ingress-nginx, the default), "
                         "two-choices (Envoy Gateway's least-request), least (HAProxy leastconn)")
    for name, value in vars(d).items():
        ap.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value, help=f"default {value}")
    args = ap.parse_args(argv)
    f = PodFigures(**{name: getattr(args, name) for name in vars(d)})
    print(report(plan(args.students, f, args.quantile, args.placement), f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
