"""``python -m softmax bench``: the trainer's step against the CS231n loop, same data, same process."""

from __future__ import annotations

import statistics
import time

import numpy as np

from .config import Config
from .data import make_dataset
from .model import init_params
from .seed import cs231n_loop
from .trainer import Trainer


def _median_time(fn, repeats: int, setup=lambda: None) -> float:
    times = []
    for _ in range(repeats):
        setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _trainer_seconds_per_iteration(config: Config, iterations: int, repeats: int) -> float:
    # step(n) makes n updates and publishes one snapshot, as the runner does per batch.
    trainer = Trainer(config.with_changes(iterations=iterations))
    return _median_time(lambda: trainer.step(iterations), repeats, setup=trainer.reset) / iterations


def run(repeats: int = 7) -> int:
    cfg = Config(points_per_class=100, classes=3)
    iterations = 200
    rng = np.random.RandomState(cfg.seed)
    X, y = make_dataset(cfg.dataset, cfg.points_per_class, cfg.classes, cfg.noise, rng)
    p = init_params(rng, 2, cfg.classes)
    seed = _median_time(lambda: cs231n_loop(X, y, p["W"], p["b"], cfg.step_size, cfg.reg, iterations),
                        repeats) / iterations
    ours = _trainer_seconds_per_iteration(cfg, iterations, repeats)
    print(f"N=300 K=3: cs231n loop {seed * 1e6:.1f} us/iteration, trainer {ours * 1e6:.1f} us/iteration")
    for n_total in (300, 3_000, 30_000, 100_000):
        c = Config(points_per_class=n_total // 10, classes=10)
        iters = max(5, min(200, 3_000_000 // n_total))
        t = _trainer_seconds_per_iteration(c, iters, max(3, repeats // 2))
        print(f"N={n_total} K=10: {t * 1e6:.1f} us/iteration ({t / n_total * 1e9:.1f} ns per point)")
    print(f"speedup_vs_seed={seed / ours:.2f}")
    return 0
