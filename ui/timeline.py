"""Back in time: the "Go to iteration" scrubber, and the run's log in a share link.

Every iteration shown comes from ``Trainer.view`` (recomputed exactly from a checkpoint and the
run's log); this module only decides which iteration the page shows and carries the log in and
out of the link. What Start does from an earlier iteration, said on the page as well: Start (and
Step) go on from the newest iteration; "Train on from here" makes the shown iteration the newest
for good (``Trainer.rewind``: the later iterations are dropped).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

import streamlit as st

from softmax.config import Config, in_group
from softmax.points import DataError
from softmax.presets import PRESETS
from softmax.runner import Trainer
from softmax.snapshot import Change, Snapshot, log_text, parse_log
from ui.charts import BOARD

KEY = "goto"  # the scrubber's widget key
FOLLOW = "_goto_follow"  # True: the page shows the newest iteration (and the scrubber follows it)
NEWEST = "_goto_newest"  # the newest iteration when the page last looked
SEEN = "_goto_seen_click"  # the last loss-curve click acted on
LINK = "_link_log"  # a link's (start settings, changes), until the session's trainer is built
LOG_KEY = "log"  # the link's query key for the run's log
REPLAY_SECONDS = 5.0  # most a link's replay may take of a page's first run
REPLAY_CHUNK = 500  # iterations between looks at the clock

# trainer -> (its points, iteration, log, the view shown): a refresh does not recompute it
_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_VIEWS_LOCK = threading.Lock()

HELP = ("Show any earlier iteration of this run (or click a point of the loss curve): every chart, the status "
        "line and the whole Explain tab are recomputed exactly for it (from the seed, the run's checkpoints and the "
        "settings you changed on the way). Start and Step go on from the newest iteration; use Train on from here "
        "to continue from the one shown instead. While training runs, the page shows the newest iteration (and this "
        "row is hidden): pause to go back.")
START_NOTE = ("You are looking at iteration {shown} of {newest}. Start and Step go on from iteration {newest} "
              "(and the page returns there); Train on from here drops iterations {after}–{newest} and goes on "
              "from {shown}.")


# -- which iteration the page shows ---------------------------------------------------------------------
def follow() -> None:
    """Show the newest iteration from now on (Start, Step, Reset, a new run)."""
    st.session_state[FOLLOW] = True


def _chosen(newest: int) -> int:
    """The iteration the scrubber asks for, checked (anything a browser could not send: the newest)."""
    if st.session_state.get(FOLLOW, True):
        return newest
    value = st.session_state.get(KEY)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return newest
    return max(0, min(int(value), newest))


def _moved(newest: int) -> None:
    """The scrubber moved: at the newest iteration the page follows the run again."""
    st.session_state[FOLLOW] = _chosen_value() >= newest


def _chosen_value() -> float:
    value = st.session_state.get(KEY)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value else -1


def _loss_click(newest: int) -> None:
    """A new click on the Watch tab's loss curve goes to its iteration (read before the scrubber is drawn). The
    click comes from the browser: anything but a whole iteration from 0 to the newest is no click at all."""
    state = st.session_state.get(BOARD)
    click = state.get("click") if hasattr(state, "get") else None
    if not isinstance(click, dict) or click.get("chart") != "loss":
        return
    fingerprint = repr(click)[:1000]
    if fingerprint == st.session_state.get(SEEN):
        return
    st.session_state[SEEN] = fingerprint
    x = click.get("x")
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x != int(x):
        return
    if 0 <= int(x) <= newest:
        st.session_state[KEY] = int(x)
        st.session_state[FOLLOW] = int(x) >= newest


def _view(trainer: Trainer, newest: Snapshot, iteration: int) -> Snapshot:
    """Trainer.view(iteration), kept while the run has not changed (the fragment redraws it without
    recomputing). The key holds the run's points array itself: a reset or an edit makes new ones.

    Kept beside the trainer (weakly), not in session_state: a run set aside while its page is away must let
    go of its arrays, views included (ui/sessions.py)."""
    with _VIEWS_LOCK:
        cached = _VIEWS.get(trainer)
    if cached is not None and cached[0] is newest.X and cached[1] == iteration and cached[2] == newest.log:
        return cached[3]
    snap = trainer.view(iteration)
    with _VIEWS_LOCK:
        _VIEWS[trainer] = (newest.X, iteration, newest.log, snap)
    return snap


def cached_view(trainer: Trainer) -> Snapshot | None:
    """The earlier iteration the page last showed for this trainer's run (None: none yet)."""
    with _VIEWS_LOCK:
        cached = _VIEWS.get(trainer)
    return None if cached is None else cached[3]


def shown(seat: Any) -> Snapshot:
    """Draw the scrubber and return the snapshot the page shows: the newest, or the iteration chosen.
    ``seat``: the session's seat (its ``trainer``; callbacks hold the seat, never the trainer)."""
    trainer: Trainer = seat.trainer
    newest = trainer.snapshot
    running = trainer.running
    if running or st.session_state.get(NEWEST, newest.iteration) != newest.iteration:
        follow()  # training, or the run moved on (Step, Reset, Train on from here): back to the newest
    st.session_state[NEWEST] = newest.iteration
    if not running:
        _loss_click(newest.iteration)
    it = _chosen(newest.iteration)
    if st.session_state.get(FOLLOW, True) or KEY not in st.session_state:
        st.session_state[KEY] = it
    elif st.session_state.get(KEY) != it:
        st.session_state[KEY] = it  # a value the run no longer has (a reset, a crafted one): put it in range
    if running:  # the newest iteration it is; the row comes back on Pause (while training, the first screen at
        return newest  # 1280x720 keeps the buttons, the status line and the first row of charts whole)
    top = max(newest.iteration, 1)  # a slider needs room; at iteration 0 there is nowhere to go
    # one compact row: label, slider, button
    name, bar, right = st.columns([1.4, 5, 1.5], vertical_alignment="center")
    name.markdown("**Go to iteration**", help=HELP)
    bar.slider("Go to iteration", min_value=0, max_value=top, step=1, key=KEY, help=HELP, label_visibility="collapsed",
               disabled=newest.iteration == 0, on_change=_moved, args=(newest.iteration,))
    if it >= newest.iteration:
        with _VIEWS_LOCK:
            _VIEWS.pop(trainer, None)
        right.button("Train on from here", disabled=True, width="stretch",
                     help="Go to an earlier iteration first: then this continues the run from there.")
        return newest
    right.button("Train on from here", on_click=_rewind, args=(seat, it), width="stretch",
                 help=f"Continue the run from iteration {it}: iterations {it + 1} to {newest.iteration} are "
                      "dropped, and Start trains on from here.")
    st.caption(":material/history: " + START_NOTE.format(shown=it, newest=newest.iteration, after=it + 1))
    return _view(trainer, newest, it)


def _rewind(seat: Any, iteration: int) -> None:
    if seat.trainer is not None:
        seat.trainer.rewind(iteration)
    follow()


# -- the run's log in a link ------------------------------------------------------------------------------
def pending_log(trainer: Trainer | None, config: Config) -> tuple[Change, ...]:
    """The run's log as it is once ``config`` (the controls, maybe not applied yet) is applied: the changes so
    far and the one ``config`` makes at the newest iteration. Empty when ``config`` starts a new run."""
    if trainer is None or trainer.config.restarts(config):
        return ()
    snap = trainer.snapshot
    log = list(snap.log)
    changes = trainer.config.training_changes(config)
    if changes:
        if log and log[-1].iteration == snap.iteration:
            last = log.pop()
            log.append(Change(last.iteration, {**last.settings, **changes}, last.edits))
        else:
            log.append(Change(snap.iteration, changes))
    return tuple(log)


def start_settings(config: Config, start: Config) -> Config:
    """``config`` with the training settings the run started with (the log changes them from there)."""
    return config.with_changes(**{name: getattr(start, name) for name in in_group("training")})


def link_query(query: dict[str, str], config: Config, preset: str | None) -> dict[str, str]:
    """A link's query with the run's log in it: the settings the run started with plus ``log=...``, so the
    link reproduces the run with its mid-run changes (``query`` unchanged when nothing changed mid-run).
    ``preset``: the exercise chosen, kept as ``preset=NAME`` when the run started from its settings."""
    seat = st.session_state.get("seat")
    trainer = getattr(seat, "trainer", None)
    if trainer is None:  # a session's first run: the link it came from, not replayed yet
        first, changes = st.session_state.get(LINK, (None, []))
        log, started = tuple(changes), first
    else:
        log, started = pending_log(trainer, config), trainer.snapshot.start_config
    if not log or started is None:
        return query
    start = start_settings(config, started)
    if log[0].iteration == 0 and not log[0].edits:  # set before the first step: the run's start settings
        start, log = start.with_changes(**log[0].settings), log[1:]
        if not log:  # then start == config: the query already says it
            return query
    out = {"preset": preset} if preset in PRESETS and PRESETS[preset].config == start else start.to_query()
    out[LOG_KEY] = log_text(log)
    if "hide" in query:
        out["hide"] = query["hide"]
    return out


def link_settings(query: Mapping[str, Any], start: Config) -> tuple[Config, list[str]]:
    """The settings the controls show for a link with a log (its start settings with every change made), and
    notices for the parts of the log that could not be read. The log waits for ``new_trainer``."""
    raw = query.get(LOG_KEY, "")
    raw = str(raw[-1] if isinstance(raw, list) and raw else raw)
    if not raw:
        return start, []
    changes, notices = parse_log(raw, start.iterations)
    config = start
    for i, change in enumerate(changes):
        try:
            config = config.with_changes(**change.settings)
        except ValueError:
            notices.append(f"Run history: the change at iteration {change.iteration} cannot be made; the run stops "
                           "before it")
            changes = changes[:i]
            break
    st.session_state[LINK] = (start, changes)
    return config, notices


def replay_link(trainer: Trainer, config: Config, seconds: float = REPLAY_SECONDS) -> None:
    """A session's first run, from a link with a log: the run replayed through its last change (each change
    applied at its iteration, as in the run the link was copied from). ``config``: the controls' settings.

    The replay runs in the page's own script run, so it gets at most ``seconds`` (a crafted link could ask for
    100 000 iterations on the largest dataset); where it stops, the settings still to come apply from there,
    and the page says so."""
    start, changes = st.session_state.pop(LINK, (None, []))
    if start is None or not changes or start_settings(config, start) != start:
        return
    trainer.reset(start)
    deadline = time.monotonic() + seconds
    done, short = 0, False
    for change in changes:
        while trainer.snapshot.iteration < change.iteration and time.monotonic() < deadline:
            trainer.step(min(REPLAY_CHUNK, change.iteration - trainer.snapshot.iteration))
            if trainer.finished:
                break
        if trainer.snapshot.iteration != change.iteration:  # out of time, diverged or capped before the change
            short = True
            break
        if change.settings:
            trainer.update(trainer.config.with_changes(**change.settings))
        try:
            for edit in change.edits:
                trainer.edit(edit)
        except DataError:
            short = True
            break
        done += 1
    at = trainer.snapshot.iteration
    if short:
        st.session_state.busy_info = (f"This link carries {len(changes)} mid-run change(s); the run was replayed to "
                                      f"iteration {at} ({done} of them made where they were). The settings still to "
                                      "come apply from here, so from now on this run differs from the link's.")
    else:
        st.session_state.busy_info = (f"This link carries the run's {len(changes)} mid-run change(s): the run was "
                                      f"replayed to iteration {at}, where the last one was made. Press Start to go "
                                      "on exactly as the run the link was copied from did.")
    if trainer.config != config:
        trainer.update(config)
