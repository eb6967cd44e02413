"""Mutation testing of the numeric core and the explainer's numbers, scored like a benchmark.

    python3 tools/mutation.py                                   every target module (tens of minutes)
    python3 tools/mutation.py softmax/models/losses.py ...      these modules only
    python3 tools/mutation.py --changed-since v0.1.0            target modules changed since a git ref
    python3 tools/mutation.py --changed-since HEAD~1 --time-box 600 --fail-under 90     CI's fast mode
    python3 tools/mutation.py --report                          the score of what was run, without running

mutmut (configured in pyproject.toml, [tool.mutmut]) copies softmax/ and tests/ to mutants/, makes every
mutant of every function of the target modules, and runs, for each mutant, the selected pure-numpy tests
that call its function. Results stay in mutants/ between runs: a second run tests only what changed.
Inspect a survivor with ``python3 -m mutmut show NAME``; ``python3 -m mutmut browse`` browses them all.

Score per module = killed / (mutants - equivalent): a timeout counts as killed (the mutant hangs the
tests), "no tests" as survived (no selected test runs that code). EQUIVALENT lists the mutants that no
test can kill because they change nothing observable, each with the reason (docs/mutation.md).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# mutant name -> why it changes nothing a test (or a student) could observe
_AXIS0 = "ufunc.reduce's default axis is 0: dropping axis=0 reduces along the same axis"
EQUIVALENT: dict[str, str] = {
    "softmax.models.losses.xǁSoftmaxLossǁ__call____mutmut_6": _AXIS0,
    "softmax.models.losses.xǁSoftmaxLossǁ__call____mutmut_26": _AXIS0,
    "softmax.models.losses.xǁSVMLossǁ__call____mutmut_6": _AXIS0,
    "softmax.models.losses.xǁSVMLossǁ__call____mutmut_54": _AXIS0,
    "softmax.models.losses.xǁSVMLossǁ__call____mutmut_11": "out=None: the product goes to a new array instead of "
    "the margins buffer, which the next line overwrites anyway (memory, not values)",
    "softmax.models.losses.xǁSVMLossǁ__call____mutmut_14": "as _11: the product's buffer only",
    "softmax.models.losses.xǁSVMLossǁ__call____mutmut_34": "casting='unsafe' dropped: bool to float64 is a safe "
    "cast, allowed by the default 'same_kind'",
    "softmax.models.losses.xǁSoftmaxLossǁ__init____mutmut_18": "log_sum_exp buffer None: np.log(out=None) writes "
    "a new array instead, read once by .sum() (memory, not values)",
    "softmax.models.losses.xǁSoftmaxLossǁ__call____mutmut_37": "as __init___18: log(sum exp) into a new array",
    "softmax.models.losses.xǁSoftmaxLossǁ__call____mutmut_39": "as __init___18: the out argument dropped",
    "softmax.models.losses.xǁSVMLossǁextended__mutmut_7": "the true class's margin set to None (NaN) instead of 0: "
    "NaN > 0 is False, so it is inactive and counts 0 in the sum exactly as 0 does",
    # softmax/gradcheck.py
    **{f"softmax.gradcheck.x_relative_error__mutmut_{n}": "dtype float dropped from one operand: the inputs are "
       "float arrays already and the other operand stays float, so the arithmetic is float64 either way"
       for n in (4, 6, 8, 10)},
    "softmax.gradcheck.x_relative_error__mutmut_45": "None instead of np.nan assigned into a float array is NaN",
    "softmax.gradcheck.x__sample__mutmut_10": "total == budget: the 'sample' path then takes every entry as well",
    "softmax.gradcheck.x__sample__mutmut_30": "replace=None is falsy: the same draw without replacement",
    "softmax.gradcheck.x__sample__mutmut_35": "n == size drawn as a permutation: every entry, as slice(None) "
    "(only later parameters' random sample differs: as valid a sample, no guarantee is tied to which)",
    "softmax.gradcheck.x_check_gradient__mutmut_1": "seed 1 instead of 0 for the sample: another equally valid sample",
    **{f"softmax.gradcheck.x_check_gradient__mutmut_{n}": "X's dtype: X times the long double weights is long "
       "double whatever X's own dtype (its float64 values are exact in long double)" for n in (5, 7)},
    **{f"softmax.gradcheck.x_check_gradient__mutmut_{n}": "the plain whole-loss evaluation instead of the model's "
       "incremental evaluator: the same loss values, slower" for n in (27, 31, 32)},
    **{f"softmax.gradcheck.x_check_gradient__mutmut_{n}": "K or D of the layout used only to flatten the given "
       "parameters, which does not depend on them" for n in (44, 46, 47, 50, 51)},
    **{f"softmax.gradcheck.x_check_gradient__mutmut_{n}": "dtype float dropped for arrays that are float64 already"
       for n in (62, 64, 93, 95, 208, 210)},
    **{f"softmax.gradcheck.x_check_gradient__mutmut_{n}": "status array int64 instead of int8: the same codes"
       for n in (109, 112)},
    **{f"softmax.gradcheck.x_check_gradient__mutmut_{n}": "zip's strict flag on the index arrays of one "
       "np.nonzero, always of equal length" for n in (113, 115, 117)},
    **{f"softmax.gradcheck.x_check_gradient__mutmut_{n}": "< instead of <= against the resolution: differs only "
       "when a value equals the resolution to the last bit" for n in (177, 179)},
    "softmax.gradcheck.x_check_gradient__mutmut_190": "None instead of np.nan assigned into a float array is NaN",
    "softmax.gradcheck.x__ro__mutmut_5": "np.array copies by default: copy=True dropped changes nothing",
    "softmax.gradcheck.x__ro__mutmut_7": "writeable = None is falsy: read-only as with False",
    # softmax/models/base.py
    "softmax.models.base.xǁWorkspaceǁrun__mutmut_1": "a default in the Workspace Protocol's signature, whose body "
    "never runs: the models' own workspaces define run",
    # softmax/models/linear.py
    "softmax.models.linear.xǁLinearWorkspaceǁ__init____mutmut_1": "delta's default: LinearModel.workspace always "
    "passes its own delta",
    "softmax.models.linear.xǁLinearModelǁinit__mutmut_1": "notes' default: every caller passes it",
    "softmax.models.linear.xǁLinearModelǁscores__mutmut_11": "reshape(D + 1, -2): numpy takes any negative size as "
    "'whatever fits', as -1",
    "softmax.models.linear.xǁLinearModelǁextended__mutmut_14": "self.delta dropped for the default 1.0: no setting "
    "makes the SVM's margin other than 1, so self.delta is always 1.0",
    "softmax.models.x_two_layer_loss__mutmut_30": "the loss name dropped: TwoLayerModel's default is 'softmax'",
    # softmax/export.py
    **{f"softmax.export.x__message__mutmut_{n}": "another placeholder (None or 918273646): any value that appears once "
       "in the line is replaced by %d the same way" for n in (1, 2)},
    **{f"softmax.export.x_export_script__mutmut_{n}": "the branch for a generator without _labels: every dataset's "
       "generator calls _labels" for n in (14, 74)},
    # softmax/models/two_layer.py
    **{f"softmax.models.two_layer.xǁTwoLayerWorkspaceǁ{f}__mutmut_{n}": "zip's strict=True dropped: the rows zipped "
       "are made the same length in __init__ (a guard, not a value)"
       for f, n in (("__init__", 77), ("__init__", 80), ("__init__", 81), ("__init__", 86), ("__init__", 89),
                    ("__init__", 90), ("run", 22), ("run", 25), ("run", 26))},
    **{f"softmax.models.two_layer.xǁTwoLayerWorkspaceǁrun__mutmut_{n}": "where the row-by-row (dgemv) path starts "
       "(K or D+1 <= 3): both paths compute the same products, to rounding (a speed choice, not a value)"
       for n in (19, 57, 93, 94, 95)},
    "softmax.models.two_layer.xǁTwoLayerWorkspaceǁ__init____mutmut_61": "no theta cached yet as '' instead of None: "
    "no theta is either, so the first pass makes its views the same way",
    "softmax.models.two_layer.xǁTwoLayerWorkspaceǁ_views__mutmut_4": "the views never cached: made again at every "
    "pass, the same views of the same theta (speed only)",
    "softmax.models.two_layer.xǁTwoLayerWorkspaceǁrun__mutmut_109": "the last reg forgotten: reg times the mask is "
    "recomputed at every pass, the same numbers (speed only)",
    "softmax.models.two_layer.xǁTwoLayerModelǁinit__mutmut_1": "notes' default: every caller (Run, explain's initial "
    "weights) passes it",
    "softmax.models.two_layer.xǁTwoLayerModelǁscores__mutmut_14": "reshape(H + 1, -2): numpy takes any negative size "
    "as 'whatever fits', as -1",
    # softmax/explain.py
    "softmax.explain.x_balances__mutmut_23": "reg >= 0 for reg > 0: with reg 0 the total is the data part, never "
    "below 5 % of itself, so 'cancel' stays False either way",
    "softmax.explain.x_balances__mutmut_25": "<= for < against 5 % of the larger part: differs only when the norms "
    "are equal to the last bit",
    **{f"softmax.explain.x__labelled__mutmut_{n}": "zip's strict flag: the labels are made from the values' own "
       "shape, always as many" for n in (7, 10, 12)},
    "softmax.explain.x_entries__mutmut_11": "most dropped for _labelled's default, 9, which is entries' own default: "
    "no caller passes another",
    "softmax.explain.x__as_row__mutmut_11": "reshape(1, -2): numpy takes any negative size as 'whatever fits', as -1",
    "softmax.explain.x_notes_lines__mutmut_20": "batch_size=0 dropped from notes.program: its default is 0",
    **{f"softmax.explain.x_notes_lines__mutmut_{n}": "the value of a line that is not in this model's loop (init or "
       "grad of the other model's parameter): never shown" for n in (29, 42)},
    "softmax.explain.x_notes_lines__mutmut_246": "the net's value for the linear loop's 'dW += reg*W' line, which the "
    "net's loop does not have: never shown",
    "softmax.explain.x_notes_lines__mutmut_542": "the linear model's value for the net's accuracy-block hidden_layer "
    "line, which the linear loop does not have: never shown",
    "softmax.explain.x_notes_lines__mutmut_461": "astype(None) is astype(float64): the same 0/1 floats",
    # softmax/config.py
    "softmax.config.x_slider_values__mutmut_21": "one more decade above the range: its values lie above hi and are "
    "filtered out",
    **{f"softmax.config.x__kind__mutmut_{n}": "the default kind's name: _problem and coerce only ever compare a "
       "kind with 'int' and 'float'" for n in (2, 4, 13, 14)},
    "softmax.config.x__problem__mutmut_42": "kind != 'float' for == 'float': an int setting that is not a whole "
    "number was refused by the line before, and every text setting has choices or options, checked before that",
    # softmax/run.py
    # Performance only: how many checkpoints a run keeps, and how far apart (memory and the time a view replays),
    # from an estimate of a step's cost. Any spacing and capacity replays every iteration exactly (the tests of
    # view and rewind check the numbers at every spacing); bench/scrub.py measures the time.
    **{f"softmax.run.xǁRunǁstep_seconds__mutmut_{n}": "a step's estimated cost: sets the checkpoints' spacing "
       "only (performance)" for n in (2, 3, 8, 14, 15, 16, 17, 18, 26)},
    **{f"softmax.run.xǁRunǁ_set_capacity__mutmut_{n}": "the checkpoints' count and spacing: memory and replay "
       "time only (performance)" for n in (4, 5, 11, 16, 17, 25, 33, 36, 43, 44, 45)},
    **{f"softmax.run.xǁRunǁ_load__mutmut_{n}": "the capacity not re-estimated for new points: spacing only "
       "(performance)" for n in (2, 6, 7)},
    "softmax.run.xǁRunǁ_record__mutmut_4": "the held-out figures computed at rows the history does not keep: "
    "the same values, unused (performance)",
    "softmax.run.xǁRunǁcheckpoint__mutmut_1": "the stream's cached state ignored: read from the stream again, the "
    "same state (performance)",
    "softmax.run.xǁRunǁcheckpoint__mutmut_23": "scratch=None is falsy: the checkpoint leaves out the optimizer's "
    "scratch buffer as with False",
    "softmax.run.x__copy_state__mutmut_1": "the optimizer's scratch buffer left out of next_theta's copy: the "
    "optimizers make one when it is missing (it holds no state)",
    **{f"softmax.run.xǁRunǁ_gradient_for_update__mutmut_{n}": "the minibatch pass's accuracy counted or not: only "
       "its gradient is read (speed only)" for n in (22, 25, 26)},
    **{f"softmax.run.xǁRunǁ_step__mutmut_{n}": "which steps count the accuracy in their pass: _record counts it itself "
       "(Run.result) for every row the history keeps, so this flag only saves work" for n in (12, 14, 15, 22)},
    "softmax.run.xǁRunǁ_step__mutmut_41": ">= for > against the blow-up bound: differs only for a loss equal to "
    "BLOWUP_FACTOR times its reference to the last bit",
    "softmax.run.xǁRunǁtest_result__mutmut_21": "the held-out pass at reg 1: its data loss and accuracy, all that "
    "is read, do not depend on reg",
    "softmax.run.xǁRunǁtrajectory__mutmut_43": "as test_result_21: one example's data loss, dscores and p_y do not "
    "depend on reg",
    "softmax.run.xǁRunǁtrajectory__mutmut_14": "max(N, 2) for max(N, 1): N is 0 only without points, and then there "
    "is no example to follow",
    "softmax.run.xǁRunǁrestore__mutmut_20": "the minibatch stream's cached state dropped: checkpoint() reads the same "
    "state from the stream (speed only)",
    "softmax.run.xǁRunǁview__mutmut_26": "spacing / FINE for // FINE: both spacings are powers of two, so the quotient "
    "is exact or below 1, where max(1, ...) makes both 1",
    "softmax.run.xǁRunǁview__mutmut_37": "<= for < : raising the cap to the viewed iteration when it already is that "
    "changes nothing",
    "softmax.run.xǁRunǁ__init____mutmut_118": "the timeline counter's first value: it is only ever compared with "
    "a scratch run's copy of it",
    **{f"softmax.run.xǁRunǁrewind__mutmut_{n}": "the timeline counter -= 1 or += 2: any new value marks the old "
       "timeline's recent states stale" for n in (13, 14)},
    "softmax.run.xǁRunǁ_clone__mutmut_9": "'' for None as the scratch run's stream state: view() restores a "
    "checkpoint, which sets it, before any step",
    **{f"softmax.run.xǁRunǁ_clone__mutmut_{n}": "the scratch run's own history (its steps write to it, but a view "
       "freezes the source run's history): never read" for n in (21, 22, 24, 25, 26, 27)},
}

KILLED = {"killed", "timeout", "caught by type check"}


def targets() -> list[str]:
    """The target files, from [tool.mutmut] only_mutate (globs)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    files: list[str] = []
    for pattern in config["only_mutate"]:
        files += sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(pattern) if p.suffix == ".py")
    return files


def module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def changed_since(ref: str) -> list[str]:
    r = subprocess.run(["git", "diff", "--name-only", ref, "--", "softmax"], cwd=ROOT, capture_output=True,
                       text=True)
    if r.returncode != 0:  # e.g. a shallow clone without that commit
        print(f"cannot compare with {ref}: {r.stderr.strip()}")
        return []
    return [p for p in targets() if p in r.stdout.split()]


def run_mutmut(modules: list[str], max_children: int, time_box: float | None) -> None:
    """mutmut run on the mutants of these modules; stopped after time_box seconds (what was tested is kept)."""
    patterns = [f"{module_of(m)}.*" for m in modules]
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *patterns]
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    try:
        proc.wait(timeout=time_box)
    except subprocess.TimeoutExpired:
        print(f"time box of {time_box:g} s reached: stopping mutmut (the untested mutants count as not checked)")
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


UNTESTED = ("not checked", "check was interrupted by user")  # mutmut's words for a mutant it did not run


def results(modules: list[str]) -> dict[str, dict[str, str]]:
    """{module path: {mutant name: status}} from mutmut's files in mutants/."""
    from mutmut.__main__ import status_by_exit_code

    out: dict[str, dict[str, str]] = {}
    for path in modules:
        meta = ROOT / "mutants" / (path + ".meta")
        if meta.exists():
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            out[path] = {name: status_by_exit_code[code] for name, code in codes.items()}
    return out


def report(by_module: dict[str, dict[str, str]], verbose: bool) -> float | None:
    """Print one line per module and the total; return the total score (%), None if nothing was tested."""
    print(f"{'module':34} {'mutants':>7} {'killed':>6} {'survived':>8} {'equiv.':>6} {'untested':>8} {'score':>6}")
    totals = [0, 0, 0, 0, 0]
    survivors: list[tuple[str, str]] = []
    for path, statuses in by_module.items():
        killed = sum(s in KILLED for s in statuses.values())
        untested = sum(s in UNTESTED for s in statuses.values())
        # an equivalent mutant counts as such once tested (before, it is one of the untested)
        equivalent = sum(name in EQUIVALENT and s not in KILLED and s not in UNTESTED for name, s in statuses.items())
        survived = len(statuses) - killed - equivalent - untested
        survivors += [(n, s) for n, s in statuses.items()
                      if s not in KILLED and n not in EQUIVALENT and s not in UNTESTED]
        row = [len(statuses), killed, survived, equivalent, untested]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        print(f"{path:34} {row[0]:7} {row[1]:6} {row[2]:8} {row[3]:6} {row[4]:8} {score(killed, survived):>6}")
    print(f"{'total':34} {totals[0]:7} {totals[1]:6} {totals[2]:8} {totals[3]:6} {totals[4]:8} "
          f"{score(totals[1], totals[2]):>6}")
    if survivors:
        print(f"\n{len(survivors)} surviving, not known equivalent (python3 -m mutmut show NAME):")
        for name, status in survivors if verbose else survivors[:40]:
            print(f"  {name}: {status}")
    tested = totals[1] + totals[2]
    return 100.0 * totals[1] / tested if tested else None


def score(killed: int, survived: int) -> str:
    return f"{100.0 * killed / (killed + survived):.1f}%" if killed + survived else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="target files (default: every file of [tool.mutmut] only_mutate)")
    parser.add_argument("--changed-since", metavar="REF", help="only the target files changed since this git ref")
    parser.add_argument("--time-box", type=float, metavar="SECONDS", help="stop mutmut after this long")
    parser.add_argument("--max-children", type=int, default=2, help="tests run in parallel (default 2)")
    parser.add_argument("--fail-under", type=float, metavar="PERCENT", help="exit 1 if the score is lower")
    parser.add_argument("--report", action="store_true", help="only report what earlier runs found")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every survivor")
    args = parser.parse_args()

    modules = args.modules or targets()
    unknown = sorted(set(modules) - set(targets()))
    if unknown:
        parser.error(f"not a target of [tool.mutmut] only_mutate: {', '.join(unknown)}")
    if args.changed_since:
        modules = [m for m in changed_since(args.changed_since) if m in modules]
        if not modules:
            print(f"no target module changed since {args.changed_since}: nothing to mutate")
            return 0
    started = time.monotonic()
    if not args.report:
        run_mutmut(modules, args.max_children, args.time_box)
        print(f"mutmut took {time.monotonic() - started:.0f} s")
    total = report(results(modules), args.verbose)
    if args.fail_under is not None and total is not None and total < args.fail_under:
        print(f"mutation score {total:.1f}% is under {args.fail_under:g}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
