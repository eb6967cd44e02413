"""Server cost of one frame of the page: building every chart from a snapshot, and its size.

    python -m bench.frame

Prints the median CPU time to build all figures (the linear model and the 2-layer net
with H = 100, K=3 and K=10) and the bytes of their JSON, which is what the page sends per
refresh. The baseline in the same process is plotly.py's own validated path (go.Figure +
to_json) on the same dicts. BLAS runs on one thread, as in the server (the Dockerfile
pins it): helper threads spinning would count as the frame's CPU time.
"""

from __future__ import annotations

import json
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads

import plotly.graph_objects as go

from softmax.config import Config
from softmax.runner import Trainer
from viz.figures import all_figures


def median_ms(fn, repeats: int = 31) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    for model, K in (("linear", 3), ("linear", 10), ("two-layer", 3), ("two-layer", 10)):
        snap = Trainer(Config(model=model, classes=K, iterations=100_000)).step(1000)
        picked = snap.config.points_per_class - 1  # the page's default example, ringed
        ours = median_ms(lambda snap=snap, picked=picked: json.dumps(all_figures(snap, picked)))
        size = len(json.dumps(all_figures(snap, picked)))
        figs = all_figures(snap, picked)
        validated = median_ms(lambda figs=figs: [go.Figure(f).to_json() for f in figs.values()], repeats=5)
        per_chart = {name: len(json.dumps(f)) // 1000 for name, f in figs.items()}
        print(f"{model} K={K}: frame build {ours:.1f} ms CPU (median), {size / 1000:.0f} KB; "
              f"plotly.py validated path on the same figures {validated:.0f} ms ({validated / ours:.0f}x); "
              f"KB per chart {per_chart}")


if __name__ == "__main__":
    main()
