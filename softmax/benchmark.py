"""``python -m softmax bench``: the trainer against the CS231n notes' own loops, same data, same process.

Each figure is a median over repeats; each ratio compares two timings taken in the same run. The net's
two loops run in turns (notes, trainer, notes, ...): each ratio is the median of the pairs' ratios, by the
wall clock and by this process's CPU time (which another process on a shared machine disturbs less).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from .config import Config
from .notes import run_notes
from .run import Run, make_data


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _notes_once(config: Config) -> None:
    """The notes' loop, executed verbatim on the config's data and stream, for config.iterations."""
    rng = np.random.RandomState(config.seed)
    X, y = make_data(config, rng)
    run_notes(config.model, X, y, rng, K=config.classes, iterations=config.iterations, print_every=10**9,
              step_size=config.step_size, reg=config.reg, hidden=config.hidden)


def _notes_seconds(config: Config, repeats: int) -> float:
    return _median_time(lambda: _notes_once(config), repeats)


def _run_once(config: Config) -> None:
    """The trainer: build the run (data, weights) and take config.iterations steps."""
    Run(config).step(config.iterations)


def _run_seconds(config: Config, repeats: int) -> float:
    return _median_time(lambda: _run_once(config), repeats)


def _timed(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _pairs(config: Config, pairs: int) -> dict[str, list[float]]:
    """The notes' loop and the trainer in turns: their times, and each pair's ratio (wall and CPU)."""
    out: dict[str, list[float]] = {"notes": [], "ours": [], "ratio": [], "ratio_cpu": []}
    for _ in range(pairs):
        notes, notes_cpu = _timed(lambda: _notes_once(config))
        ours, ours_cpu = _timed(lambda: _run_once(config))
        out["notes"].append(notes)
        out["ours"].append(ours)
        out["ratio"].append(notes / ours)
        out["ratio_cpu"].append(notes_cpu / ours_cpu)
    return out


def run(repeats: int = 7) -> int:
    linear = Config(init="plain")
    seed = _notes_seconds(linear, repeats) / linear.iterations
    ours = _run_seconds(linear, repeats) / linear.iterations
    print(f"linear, N=300 K=3: the notes' loop {seed * 1e6:.1f} us/iteration, trainer {ours * 1e6:.1f} us/iteration")
    print(f"speedup_vs_seed={seed / ours:.2f}")
    net = Config(model="two-layer", iterations=10_000, init="plain")
    p = _pairs(net, max(1, repeats // 2))
    med = statistics.median
    print(f"2-layer net, N=300 H=100, 10000 iterations: the notes' loop {med(p['notes']):.2f} s, "
          f"trainer {med(p['ours']):.2f} s; {len(p['ratio'])} pairs, ratios "
          f"{min(p['ratio']):.2f}-{max(p['ratio']):.2f} (CPU time {min(p['ratio_cpu']):.2f}-{max(p['ratio_cpu']):.2f})")
    print(f"net_speedup_vs_notes={med(p['ratio']):.2f}")
    print(f"net_speedup_vs_notes_cpu={med(p['ratio_cpu']):.2f}")
    for n_total in (300, 3_000, 30_000, 100_000):
        iters = max(5, min(200, 3_000_000 // n_total))
        c = Config(points_per_class=n_total // 10, classes=10, iterations=iters)
        t = _run_seconds(c, max(3, repeats // 2)) / iters
        print(f"linear, N={n_total} K=10: {t * 1e6:.1f} us/iteration ({t / n_total * 1e9:.1f} ns per point)")
    return 0
