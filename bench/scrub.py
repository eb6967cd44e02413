"""Going back in time at 100 000 iterations: how long "Go to iteration" takes, and what its checkpoints cost.

    python -m bench.scrub

For the linear model and the 2-layer net (H = 100), K = 3 and K = 10: a run trained to 100 000
iterations, then ``Trainer.view`` at 41 iterations spread over the run (seeded) and at the 5 iterations
that replay the most (one before a checkpoint: a whole interval), timed from the call to the snapshot,
and the figures the page draws for it (``viz.figures.all_figures``), then 20 views dragged back 3 iterations
a move from the last of those. Prints the median and the worst
view time, view + figures, and the checkpoints' memory (theta and optimizer state). The issue's
budget: 300 ms from release to redrawn charts. The baseline in the same process: replaying the run
from iteration 0 to the same iteration (what a page without checkpoints would do). BLAS runs on one
thread, as in the server. On a shared machine the CPU time (this process) says more than the wall clock.
"""

from __future__ import annotations

import json
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads

import numpy as np

from softmax.config import Config
from softmax.run import checkpoint_bytes, replay
from softmax.runner import Trainer
from viz.figures import all_figures

ITERATIONS = 100_000


def main() -> None:
    for model, K, iterations in (("linear", 3, ITERATIONS), ("linear", 10, ITERATIONS),
                                 ("two-layer", 3, ITERATIONS), ("two-layer", 10, ITERATIONS)):
        config = Config(model=model, classes=K, dataset="spiral" if K == 3 else "blobs", iterations=iterations)
        trainer = Trainer(config)
        t0 = time.perf_counter()
        trainer.run_to_end()
        train_s = time.perf_counter() - t0
        run = trainer._run  # noqa: SLF001 -- a bench looks inside
        targets = np.random.RandomState(0).randint(0, iterations, size=41)
        marks = [c.iteration for c in run.checkpoints[1:]]
        worst = [marks[i] - 1 for i in np.random.RandomState(1).choice(len(marks), size=5, replace=False)]
        views, frames, cpu = [], [], []
        for it in [*targets, *worst]:
            c0, t0 = time.process_time(), time.perf_counter()
            snap = trainer.view(int(it))
            t1 = time.perf_counter()
            json.dumps(all_figures(snap, None))
            t2, c2 = time.perf_counter(), time.process_time()
            views.append(t1 - t0)
            frames.append(t2 - t0)
            cpu.append(c2 - c0)
        drag = []  # a slider dragged back from a whole interval's worst: 3 iterations a move
        for it in range(worst[-1] - 3, worst[-1] - 63, -3):  # from the last view on
            c0 = time.process_time()
            json.dumps(all_figures(trainer.view(it), None))
            drag.append(time.process_time() - c0)
        t0 = time.perf_counter()
        replay(config, [], int(targets[0]))
        baseline = time.perf_counter() - t0
        n = len(targets)
        print(f"{model} K={K}, {iterations} iterations (trained in {train_s:.1f} s; N={len(run.y)}): "
              f"view median {statistics.median(views[:n]) * 1e3:.1f} ms, worst {max(views) * 1e3:.1f} ms "
              f"(a whole interval: {statistics.median(views[n:]) * 1e3:.1f} ms median); "
              f"view + figures median {statistics.median(frames[:n]) * 1e3:.1f} ms, worst {max(frames) * 1e3:.1f} ms "
              f"(CPU time: median {statistics.median(cpu[:n]) * 1e3:.1f} ms, worst {max(cpu) * 1e3:.1f} ms); "
              f"{len(run.checkpoints)} checkpoints every {run._spacing} iterations, "  # noqa: SLF001
              f"{sum(map(checkpoint_bytes, run.checkpoints)) / 2**20:.2f} MiB; dragged 3 iterations a move: "
              f"view + figures median {statistics.median(drag) * 1e3:.1f} ms CPU, worst {max(drag) * 1e3:.1f} ms; "
              f"replay from 0 to {targets[0]}: {baseline * 1e3:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
