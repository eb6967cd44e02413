"""``python -m softmax bench``: the trainer against the CS231n notes' own loops, same data, same process.

Each figure is a median over repeats; each ratio compares two timings taken in the same run.
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


def _notes_seconds(config: Config, repeats: int) -> float:
    """The notes' loop, executed verbatim on the config's data and stream, for config.iterations."""
    def once():
        rng = np.random.RandomState(config.seed)
        X, y = make_data(config, rng)
        run_notes(config.model, X, y, rng, K=config.classes, iterations=config.iterations, print_every=10**9,
                  step_size=config.step_size, reg=config.reg, hidden=config.hidden)
    return _median_time(once, repeats)


def _run_seconds(config: Config, repeats: int) -> float:
    """The trainer: build the run (data, weights) and take config.iterations steps."""
    return _median_time(lambda: Run(config).step(config.iterations), repeats)


def run(repeats: int = 7) -> int:
    linear = Config(init="plain")
    seed = _notes_seconds(linear, repeats) / linear.iterations
    ours = _run_seconds(linear, repeats) / linear.iterations
    print(f"linear, N=300 K=3: the notes' loop {seed * 1e6:.1f} us/iteration, trainer {ours * 1e6:.1f} us/iteration")
    print(f"speedup_vs_seed={seed / ours:.2f}")
    net = Config(model="two-layer", iterations=10_000, init="plain")
    net_repeats = max(1, repeats // 3)
    notes_net = _notes_seconds(net, net_repeats)
    ours_net = _run_seconds(net, net_repeats)
    print(f"2-layer net, N=300 H=100, 10000 iterations: the notes' loop {notes_net:.2f} s, trainer {ours_net:.2f} s")
    print(f"net_speedup_vs_notes={notes_net / ours_net:.2f}")
    for n_total in (300, 3_000, 30_000, 100_000):
        iters = max(5, min(200, 3_000_000 // n_total))
        c = Config(points_per_class=n_total // 10, classes=10, iterations=iters)
        t = _run_seconds(c, max(3, repeats // 2)) / iters
        print(f"linear, N={n_total} K=10: {t * 1e6:.1f} us/iteration ({t / n_total * 1e9:.1f} ns per point)")
    return 0
