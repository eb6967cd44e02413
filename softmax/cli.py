"""Command line: ``python -m softmax train | bench``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import fields

from .config import Config, setting_info


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and status 2, never a usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _add_settings(parser: argparse.ArgumentParser) -> None:
    """One option per Config field, named and explained by the field table."""
    for f in fields(Config):
        info = setting_info(f.name)
        if f.name in ("speed", "refresh"):  # pacing and redrawing matter only on the page
            continue
        kind = {"int": int, "float": float}.get(info["type"], str)
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            type=kind,
            default=info["default"],
            choices=info["choices"],
            help=f"{info['help']} (default {info['default']})",
        )


def _config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Config:
    values = {f.name: getattr(args, f.name) for f in fields(Config) if hasattr(args, f.name)}
    try:
        return Config(**values)
    except ValueError as exc:
        parser.error(str(exc).replace("_", "-"))
        raise  # unreachable: error() exits


def train(config: Config, as_json: bool, out=sys.stdout) -> int:
    """Train synchronously, printing like the CS231n notes (or one JSON object)."""
    from .trainer import Trainer

    trainer = Trainer(config)
    initial = trainer.snapshot
    if not as_json:
        snap = initial
        while True:
            if snap.iteration % 10 == 0 and snap.iteration < config.iterations:
                print("iteration %d: loss %f" % (snap.iteration, snap.loss), file=out)
            if trainer.finished:
                break
            snap = trainer.step()
    snap = trainer.run_to_end()
    if as_json:
        print(json.dumps({
            "initial_loss": initial.loss,
            "final_loss": snap.loss,
            "data_loss": snap.data_loss,
            "reg_loss": snap.reg_loss,
            "accuracy": snap.accuracy,
            "iterations": snap.iteration,
            "diverged": snap.diverged,
            "config": config.to_query(),
        }), file=out)
    else:
        if snap.diverged:
            print(f"diverged at iteration {snap.iteration} ({snap.stop_reason.removeprefix('diverged: ')}): "
                  f"the step size {config.step_size:g} is too large; try a smaller one", file=out)
        print("training accuracy: %.2f" % snap.accuracy, file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m softmax", description="The CS231n softmax classifier, in numpy.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_train = sub.add_parser("train", help="train and print the loss every 10 iterations")
    _add_settings(p_train)
    p_train.add_argument("--json", action="store_true", help="print one JSON object instead")
    p_export = sub.add_parser("export-script", help="print a standalone numpy script that re-runs these settings")
    _add_settings(p_export)
    p_bench = sub.add_parser("bench", help="time a training step against the CS231n loop")
    p_bench.add_argument("--repeats", type=int, default=7, help="timing repeats (median is reported)")
    args = parser.parse_args(argv)

    if args.command == "train":
        return train(_config(args, p_train), args.json)
    if args.command == "export-script":
        from .export import export_script

        print(export_script(_config(args, p_export)), end="")
        return 0
    if args.command == "bench":
        from .benchmark import run

        if args.repeats < 1:
            p_bench.error("--repeats must be at least 1")
        return run(repeats=args.repeats)
    return 2
