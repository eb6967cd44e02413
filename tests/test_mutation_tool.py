"""tools/mutation.py's score: what it counts as killed, survived, equivalent and untested."""

from __future__ import annotations

import importlib.util

from testing.support import ROOT

spec = importlib.util.spec_from_file_location("mutation_tool", ROOT / "tools" / "mutation.py")
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)

EQUIVALENT = next(iter(tool.EQUIVALENT))  # a mutant listed as equivalent


def test_a_time_box_that_ends_before_any_mutant_ran_scores_nothing(capsys):
    """CI's box may end while mutmut still makes its mutants: every mutant untested, the listed equivalents
    too, nothing survived (not a negative count) and no score."""
    statuses = {EQUIVALENT: "not checked", "m.x_f__mutmut_1": "not checked", "m.x_f__mutmut_2": "not checked"}
    assert tool.report({"m.py": statuses}, verbose=False) is None
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row == ["m.py", "3", "0", "0", "0", "3", "-"]


def test_killed_survived_and_equivalent_once_tested(capsys):
    statuses = {EQUIVALENT: "survived", "m.x_f__mutmut_1": "killed", "m.x_f__mutmut_2": "survived",
                "m.x_f__mutmut_3": "timeout", "m.x_f__mutmut_4": "not checked"}
    score = tool.report({"m.py": statuses}, verbose=False)
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:6] == ["m.py", "5", "2", "1", "1", "1"]  # mutants, killed (timeout too), survived, equiv., untested
    assert score == 100 * 2 / 3
