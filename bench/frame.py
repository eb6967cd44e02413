"""Server cost of one frame of the page: building every chart from a snapshot, and its size.

    python -m bench.frame

For the linear model and the 2-layer net (H = 100), K = 3 and K = 10, prints:

- the median CPU time to build all figures and their JSON, and the bytes, which is what the page sends per
  refresh; the baseline in the same process is plotly.py's own validated path (go.Figure + to_json) on the
  same dicts;
- per chart: the CPU time of its figure, its JSON's KB (its layout's share), and the KB of a delta frame's
  part for it (docs/stream.md);
- the live stream's frames, whole (SOFTMAX_STREAM_DELTAS=0, the baseline) against incremental: median CPU
  per frame (the figures, the diff, the JSON) and median bytes per frame over a run of STREAM_FRAMES frames
  SPEED / RATE iterations apart (a run at 200 iterations a second drawn 4 times a second), from the run's
  start and from iteration 1000; and incremental frames for a board that says it shows only the first row
  (the loss and the decision regions: the others built once a second). The kinds interleaved frame by frame,
  so that all see the same load.

BLAS runs on one thread, as in the server (the Dockerfile pins it): helper threads spinning would count as
the frame's CPU time. The allocator keeps freed memory as the server's does (ui.server.keep_freed_memory).
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
from testing.frames import FakeSeat
from ui.delta import diff
from ui.plotly_live import figure_spec, to_json
from ui.server import keep_freed_memory
from ui.stream import Frames, Ticket
from viz.figures import all_figures, chart_names, figure

SPEED, RATE = 200, 4  # iterations a second, frames a second
FIRST_ROW = frozenset({"loss", "decision"})  # what a 1280x720 projector shows of the board
STREAM_FRAMES = 60
CASES = (("linear", 3), ("linear", 10), ("two-layer", 3), ("two-layer", 10))


def median_ms(fn, repeats: int = 31) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times) * 1e3


def per_chart(model: str, K: int) -> None:
    trainer = Trainer(Config(model=model, classes=K, iterations=100_000))
    before = trainer.step(1000)
    snap = trainer.step(SPEED // RATE)
    picked = snap.config.points_per_class - 1  # the page's default example, ringed
    rows = []
    for name in chart_names(snap):
        ms = median_ms(lambda name=name: figure(snap, name, picked), repeats=15)
        spec = figure_spec(figure(snap, name, picked))
        whole, layout = len(to_json(spec)), len(to_json(spec["layout"]))
        delta = len(to_json(diff(figure_spec(figure(before, name, picked)), spec)))
        rows.append(f"{name} {ms:.2f} ms, {whole / 1000:.1f} KB (layout {layout / 1000:.1f}), "
                    f"delta {delta / 1000:.1f} KB")
    print("    per chart: " + "; ".join(rows))


def stream(model: str, K: int, start: int) -> list[tuple[float, float, float]]:
    """(median ms, median KB, mean KB) per frame of whole frames, of incremental ones, and of incremental ones
    for a board that shows the first row only (FIRST_ROW: the others built once a second), interleaved, from
    iteration ``start``."""
    trainer = Trainer(Config(model=model, classes=K, iterations=100_000))
    if start:
        trainer.step(start)
    picked = trainer.config.points_per_class - 1
    seat = FakeSeat()
    kinds = [(Frames(incremental=False), Ticket(None, "bench", picked=picked)),
             (Frames(), Ticket(None, "bench", picked=picked)),
             (Frames(), Ticket(None, "bench", picked=picked, visible=FIRST_ROW))]
    cost: list[list[float]] = [[] for _ in kinds]
    size: list[list[int]] = [[] for _ in kinds]
    for i in range(STREAM_FRAMES + 1):
        seat.trainer.snapshot = trainer.step(SPEED // RATE)
        order = list(range(len(kinds)))
        order = order[i % len(order):] + order[: i % len(order)]
        for j in order:
            frames, ticket = kinds[j]
            t0 = time.process_time()
            built, _, _ = frames.build(seat, ticket, i, now=i / RATE)
            frames.sent()
            if i:  # (the first frame is whole either way)
                cost[j].append(time.process_time() - t0)
                size[j].append(len(built))
    return [(statistics.median(c) * 1e3, statistics.median(s) / 1000, statistics.mean(s) / 1000)
            for c, s in zip(cost, size, strict=True)]


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f}; freed memory kept as the server keeps it: {keep_freed_memory()}")
    for model, K in CASES:
        snap = Trainer(Config(model=model, classes=K, iterations=100_000)).step(1000)
        picked = snap.config.points_per_class - 1  # the page's default example, ringed
        ours = median_ms(lambda snap=snap, picked=picked: json.dumps(all_figures(snap, picked)))
        size = len(json.dumps(all_figures(snap, picked)))
        figs = all_figures(snap, picked)
        validated = median_ms(lambda figs=figs: [go.Figure(f).to_json() for f in figs.values()], repeats=5)
        print(f"{model} K={K}: frame build {ours:.1f} ms CPU (median), {size / 1000:.0f} KB; "
              f"plotly.py validated path on the same figures {validated:.0f} ms ({validated / ours:.0f}x)")
        per_chart(model, K)
        for start in (0, 1000):
            (w_ms, w_kb, w_mean), (d_ms, d_kb, d_mean), (v_ms, v_kb, v_mean) = stream(model, K, start)
            print(f"    stream from iteration {start}, {SPEED} it/s at {RATE} frames/s, median (mean KB): whole "
                  f"{w_ms:.2f} ms CPU, {w_kb:.1f} KB ({w_mean:.1f}); incremental {d_ms:.2f} ms ({d_ms / w_ms:.2f}x), "
                  f"{d_kb:.1f} KB ({d_mean:.1f}, {d_mean / w_mean:.2f}x); first row on screen {v_ms:.2f} ms "
                  f"({v_ms / w_ms:.2f}x), {v_kb:.1f} KB ({v_mean:.1f}, {v_mean / w_mean:.2f}x)")


if __name__ == "__main__":
    main()
