"""Training many runs at once: the process's one training thread against a thread per run.

    python -m bench.pacer

A classroom's runs train in one server process. ``softmax.runner`` steps every running trainer from
one thread (``softmax-trainer``), a round every 20 ms; before, each run had a thread of its own that
woke every min(20 ms, 1 / speed) to take its due steps. The baseline here is that design, rebuilt in a
few lines on the same ``Run``s, run in the same process, turn about with the real one.

For N runs (the linear model, K = 3, the page's default speed of 50 iterations a second, and 200), it
prints the process's CPU (cores, by ``process_time``), each run's iterations per second (median over
runs: a design that cannot keep the speed shows it) and the CPU per iteration taken (all runs), medians
over REPEATS turns of SECONDS each, and the ratio of the baseline's CPU per iteration to the training
thread's. No training share is set, so neither design is throttled. BLAS runs on one thread, as in
the server.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads

from softmax.config import Config
from softmax.run import Run, quiet
from softmax.runner import Trainer

SECONDS, REPEATS = 6.0, 3


def per_run_threads(n: int, speed: float, seconds: float) -> list[int]:
    """The former design: a thread per run, each pacing itself; returns each run's iterations."""
    runs = [Run(Config(iterations=100_000, speed=speed)) for _ in range(n)]
    stop = threading.Event()

    def loop(run: Run) -> None:
        start = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            due = int((now - start) * speed) - run.iteration
            with quiet():
                while due > 0 and time.monotonic() - now < 0.01:
                    run._step()
                    due -= 1
            stop.wait(min(0.02, 1.0 / speed))

    threads = [threading.Thread(target=loop, args=(r,), daemon=True) for r in runs]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return [r.iteration for r in runs]


def one_thread(n: int, speed: float, seconds: float) -> list[int]:
    """Today's design: ``Trainer.start`` on every run, the process's one training thread steps them."""
    Trainer.train_share, Trainer.max_running = float("inf"), max(n, 64)
    trainers = [Trainer(Config(iterations=100_000, speed=speed)) for _ in range(n)]
    for t in trainers:
        t.start()
    time.sleep(seconds)
    for t in trainers:
        t.pause()
    return [t.snapshot.iteration for t in trainers]


def measure(design, n: int, speed: float) -> tuple[float, float, float]:
    """(cores, median iterations per second of a run, CPU microseconds per iteration) over one turn."""
    cpu, wall = time.process_time(), time.monotonic()
    iterations = design(n, speed, SECONDS)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return cpu / wall, statistics.median(iterations) / wall, cpu / sum(iterations) * 1e6


def main() -> int:
    print(f"{'runs':>4} {'speed':>5} | {'thread per run: cores':>21} {'it/s':>5} {'us/it':>5} | "
          f"{'one thread: cores':>17} {'it/s':>5} {'us/it':>5} | {'CPU/it ratio':>12}")
    for n, speed in ((10, 50.0), (50, 50.0), (100, 50.0), (50, 200.0)):
        before, after = [], []
        for _ in range(REPEATS):  # turn about, so that both see the same machine
            before.append(measure(per_run_threads, n, speed))
            after.append(measure(one_thread, n, speed))
        b_cores, b_rate, b_cost = (statistics.median(x) for x in zip(*before, strict=True))
        a_cores, a_rate, a_cost = (statistics.median(x) for x in zip(*after, strict=True))
        ratio = statistics.median(b[2] / a[2] for b, a in zip(before, after, strict=True))
        print(f"{n:>4} {speed:>5g} | {b_cores:>21.2f} {b_rate:>5.1f} {b_cost:>5.0f} | {a_cores:>17.2f} {a_rate:>5.1f} "
              f"{a_cost:>5.0f} | {ratio:>11.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
