"""Compare runs: "Save this run for comparison" keeps up to three runs' loss curves (in this session only),
which the loss chart overlays; "Clear saved runs" forgets them.

What is kept comes from ``softmax.compare`` (a run's setup and its thinned loss curve, ~2 KB); this
module only holds it in session state and draws the two buttons and the note.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from softmax.compare import MAX_SAVED, SavedRun, keep, save
from viz.loss import run_names

KEY = "_saved_runs"  # session state: a tuple of SavedRun, oldest first
NOTE = "_saved_note"  # what the last save did, said under the charts on the next run
SAVE_LABEL = "Save this run for comparison"
SAVE_HELP = (f"Keep this run's loss curve on the loss chart (up to {MAX_SAVED} runs), then change a setting — the "
             "step size, the loss — press Reset and Start, and compare. Each saved curve is named by what differs in "
             "its setup. Kept in this page only.")
CLEAR_LABEL = "Clear saved runs"


def saved() -> tuple[SavedRun, ...]:
    """The runs saved for comparison in this session (oldest first; at most MAX_SAVED)."""
    runs = st.session_state.get(KEY, ())
    if not isinstance(runs, tuple) or not all(isinstance(r, SavedRun) for r in runs):
        return ()
    return runs[-MAX_SAVED:]


def _save(seat: Any) -> None:
    trainer = getattr(seat, "trainer", None)
    if trainer is None:
        return
    runs, what = keep(saved(), save(trainer.snapshot))
    st.session_state[KEY] = runs
    st.session_state[NOTE] = {"replaced": "This run was saved before: its curve now goes as far as the run.",
                              "added": "",
                              "dropped the oldest": f"The oldest saved run was dropped (at most {MAX_SAVED})."}[what]


def _clear() -> None:
    st.session_state[KEY] = ()


def save_button(seat: Any, container: Any = st) -> None:
    """The one-click save (in the row of Start, Pause, Step and Reset)."""
    container.button(SAVE_LABEL, on_click=_save, args=(seat,), width="stretch", help=SAVE_HELP)


def saved_row(current: Any) -> None:
    """Under the charts, while runs are saved: their names, as the loss chart gives them, what the last save did
    (a run saved again, the oldest dropped), and Clear.
    ``current``: the snapshot shown (its setup names the differences)."""
    runs = saved()
    note = st.session_state.pop(NOTE, "")
    if not runs:
        return
    names = run_names(current, runs)[:-1]
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.caption(f"Saved for comparison, on the loss chart: {', '.join(names)}. {note}".strip())
    right.button(CLEAR_LABEL, on_click=_clear, width="stretch",
                 help="Forget the saved runs: the loss chart shows this run alone again.")
