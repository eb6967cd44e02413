"""Command line: ``python -m softmax train | export-script | bench``."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from .config import OWN, SETTINGS, Config, setting_info

# What the notes' two loops run and print, when the command line does not say.
MODEL_DEFAULTS = {"linear": {"iterations": 200}, "two-layer": {"iterations": 10_000}}
PRINT_EVERY = {"linear": 10, "two-layer": 1000}
PAGE_ONLY = ("speed", "refresh")  # pacing and redrawing matter only on the page
MAX_REPEATS = 1000
MAX_MESSAGE = 300


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one short line and status 2, never a usage dump
        message = re.sub(r"'([^']{60})[^']{20,}'", r"'\1…'", message)  # no 100 KB argument echoed back
        self.exit(2, f"{self.prog}: error: {message[:MAX_MESSAGE]}\n")


def _add_settings(parser: argparse.ArgumentParser) -> None:
    """One option per setting, named and explained by the settings table; defaults filled in later."""
    for name in SETTINGS:
        if name in PAGE_ONLY:
            continue
        info = setting_info(name)
        kind = {"int": int, "float": float}.get(info["type"], str)
        default = "the model's" if name == "iterations" else info["default"]
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                            choices=tuple(info["choices"]) if info["choices"] else None,
                            help=f"{info['help']} (default {default})")
    parser.add_argument("--print-every", type=int, default=None,
                        help="print the loss every this many iterations (default: the notes' 10, or 1000 for the net)")
    parser.add_argument("--points", metavar="FILE.csv", default=None,
                        help="train on your own points: a CSV of x1,x2,label rows (a header optional; labels "
                             "0..K-1 or names). Implies --dataset own; --classes defaults to the classes in the file")


Points = tuple[Any, Any]  # (points (N, 2), labels (N,)) of the "own" dataset


def _points(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Points | None:
    """The --points file read as data (never executed), or None; bad files end with one line naming the row."""
    if args.points is None:
        if args.dataset == OWN:
            parser.error("--dataset own needs --points FILE.csv (rows of x1,x2,label)")
        return None
    if args.dataset not in (None, OWN):
        parser.error(f"--points gives the data: leave out --dataset {args.dataset}")
    from .points import MAX_CSV_BYTES, DataError, read_csv
    from .run import MAX_POINTS

    try:
        with open(args.points, "rb") as f:
            raw = f.read(MAX_CSV_BYTES + 1)
        table = read_csv(raw, MAX_POINTS, int(setting_info("classes")["hi"]))
    except OSError as exc:
        parser.error(f"--points: cannot read {args.points!r}: {exc.strerror or exc}")
    except DataError as exc:
        parser.error(f"--points {args.points!r}: {exc}")
    args.dataset = OWN
    K = len(table.names)
    if args.classes is None:
        args.classes = max(K, int(setting_info("classes")["lo"]))
    elif args.classes < K:
        parser.error(f"--classes {args.classes}: the file has {K} classes")
    return table.points, table.labels


def _config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[Config, int, Points | None]:
    points = _points(args, parser)
    given: dict[str, Any] = {name: getattr(args, name) for name in SETTINGS
                             if getattr(args, name, None) is not None}
    model = given.get("model", setting_info("model")["default"])
    if model != "two-layer" and "hidden" in given:
        parser.error("--hidden applies only to --model two-layer")
    values = {**MODEL_DEFAULTS.get(model, {}), **given}
    try:
        config = Config(**values)
    except ValueError as exc:
        parser.error(str(exc).replace("_", "-"))
        raise  # unreachable: error() exits
    every = args.print_every if args.print_every is not None else PRINT_EVERY[config.model]
    if every < 1:
        parser.error("--print-every must be at least 1")
    return config, every, points


def train(config: Config, print_every: int, as_json: bool, out=None, points: Points | None = None) -> int:
    """Train synchronously, printing the loss like the CS231n notes (or one JSON object) to ``out``
    (standard output, looked up when called). ``points``: the own dataset's points and labels."""
    out = out or sys.stdout
    from .run import Run

    run = Run(config, data=points)
    printed = []
    while True:
        # (an update undone because its loss was not finite leaves the iteration where it was: print it once)
        if run.iteration % print_every == 0 and run.iteration < config.iterations and \
                (not printed or printed[-1][0] != run.iteration):
            printed.append((run.iteration, run.result.loss))
            if not as_json:
                print("iteration %d: loss %f" % printed[-1], file=out)
        if run.finished:
            break
        run.step()
    r = run.result
    if as_json:
        print(json.dumps({
            "initial_loss": run.initial_loss,
            "final_loss": r.loss,
            "data_loss": r.data_loss,
            "reg_loss": r.reg_loss,
            "accuracy": r.accuracy,
            "iterations": run.iteration,
            "diverged": run.diverged,
            "history": [{"iteration": i, "loss": loss} for i, loss in printed],
            "config": config.to_query(),
        }), file=out)
        return 0
    if run.diverged:
        print(diverged_line(run.iteration, run.stop_reason, config.step_size), file=out)
    print("training accuracy: %.2f" % r.accuracy, file=out)
    return 0


def diverged_line(iteration: int, stop_reason: str | None, step_size: float) -> str:
    """What the command line (and an exported script) prints when a run diverges."""
    why = (stop_reason or "").removeprefix("diverged: ")
    return f"diverged at iteration {iteration} ({why}): the step size {step_size:g} is too large; try a smaller one"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m softmax", description="The CS231n softmax classifier, in numpy.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_train = sub.add_parser("train", help="train and print the loss like the CS231n notes")
    _add_settings(p_train)
    p_train.add_argument("--json", action="store_true", help="print one JSON object instead")
    p_export = sub.add_parser("export-script", help="print a standalone numpy script that re-runs these settings")
    _add_settings(p_export)
    p_bench = sub.add_parser("bench", help="time training steps against the CS231n notes' loops")
    p_bench.add_argument("--repeats", type=int, default=7, help=f"timing repeats, 1 to {MAX_REPEATS} "
                         "(the median is reported)")
    args = parser.parse_args(argv)

    if args.command == "train":
        config, every, points = _config(args, p_train)
        return train(config, every, args.json, points=points)
    if args.command == "export-script":
        from .export import export_script

        config, every, points = _config(args, p_export)
        print(export_script(config, every, points), end="")
        return 0
    if args.command == "bench":
        from .benchmark import run

        if not 1 <= args.repeats <= MAX_REPEATS:
            p_bench.error(f"--repeats must be between 1 and {MAX_REPEATS}")
        if "OPENBLAS_NUM_THREADS" not in os.environ:
            # BLAS reads its thread count once, as numpy loads: start again with one thread, as the image
            # runs (on a loaded 2-core machine a K=10 net step took 5-13 ms with a thread per core, 0.65 with one)
            os.environ["OPENBLAS_NUM_THREADS"] = "1"
            os.execv(sys.executable, [sys.executable, "-m", "softmax", *(sys.argv[1:] if argv is None else argv)])
        print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
        return run(repeats=args.repeats)
    return 2
