"""Your own points on the page: click to add or remove, Undo, Clear, CSV in and out, the link's points.

The user's own points live in the session (``STATE``: points (N, 2) in their units, labels (N,));
the run trains on them. A click on the decision regions, Undo and Clear edit the running run
(``Trainer.edit``: paused or training, the run goes on from the next iteration, and the edit is
in its log); a file, a link, "Edit these points" and a restart (new settings, Reset) start a
run on ``STATE``. Every number and every check of the data comes from ``softmax`` (points.py:
edits, CSV, the link's form; features.py: standardizing); this module lays out widgets and
moves the points between the session and the run.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import streamlit as st

from softmax import points as userpoints
from softmax.config import OWN, Config
from softmax.limits import ServerLimits
from softmax.points import DataError, Edit
from softmax.runner import Trainer
from softmax.snapshot import Snapshot
from ui import inputs
from ui.charts import BOARD, board_click, fresh_click, point_index
from ui.text import plain
from viz.plane import snap_bounds

STATE = "own_data"  # (points (N, 2), labels (N,)): the user's own points, what a new run trains on
UNDO = "own_undo"  # what Undo does, newest last: ("edit", Edit) made live, or ("data", points, labels) a new run
MODE = "own_mode"  # what a click on the decision regions does
CLASS = "own_class"  # the class of a new point
UPLOAD = "own_csv"  # the file uploader
RESTART = "own_restart"  # set when STATE changed outside the run: the next page run starts a run on it
MESSAGE = "own_message"  # (kind, text) for the next drawing: what the last action did, or why it could not
MAX_UNDO = 30
HELD = "own_held"  # the point a Move has picked up, waiting for the click that says where it goes
MODES = {"add": "Add a point", "move": "Move a point", "remove": "Remove a point", "pick": "Pick an example"}


def empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)


def data() -> tuple[np.ndarray, np.ndarray]:
    """The session's own points (an empty plane until some are added, loaded or copied)."""
    held = st.session_state.get(STATE)
    return held if isinstance(held, tuple) else empty()


def run_data(config: Config) -> tuple[np.ndarray, np.ndarray] | None:
    """What a new run of ``config`` trains on: the session's own points for the dataset "own", else None."""
    return fit(config) if config.dataset == OWN else None


def fit(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """The session's points for ``config``'s K classes: points of a class >= K are left out (for good, and
    the page says so), so that lowering Classes never breaks the run."""
    points, labels = data()
    keep = labels < config.classes
    if not keep.all():
        gone = int(np.sum(~keep))
        _say("warning", f"Classes is {config.classes}: the {gone} point(s) of classes {config.classes} and up were "
                        "removed (raise Classes and load the CSV again to have them back).")
        points, labels = points[keep], labels[keep]
        st.session_state[STATE] = (points, labels)
    return points, labels


def current(snap: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """All of a run's points in their units (training points, then any held-out ones), with labels."""
    return (np.concatenate([snap.points, snap.test_points]).reshape(-1, 2),
            np.concatenate([snap.y, snap.y_test]).astype(np.int64))


def _say(kind: str, text: str) -> None:
    st.session_state[MESSAGE] = (kind, text)


def _push(action: tuple) -> None:
    stack = st.session_state.setdefault(UNDO, [])
    stack.append(action)
    del stack[:-MAX_UNDO]


# -- starting runs ------------------------------------------------------------------------------
def update(trainer: Trainer, config: Config) -> None:
    """New settings for the run: a data or model setting that changed starts a run on the session's own
    points (the run's own ``update`` would start from the points the run began with, without the edits)."""
    if config.dataset == OWN and trainer.config.restarts(config):
        trainer.reset(config, fit(config))
    else:
        trainer.update(config)


def reset(trainer: Trainer) -> None:
    """Reset: back to iteration 0 on the points as they are now (a user's own: with every edit)."""
    if trainer.config.dataset == OWN:
        trainer.reset(trainer.config, fit(trainer.config))
    else:
        trainer.reset()


def restart_if_asked(trainer: Trainer, config: Config) -> None:
    """Start a run on the session's points if a file, Undo or a link changed them outside the run."""
    if st.session_state.pop(RESTART, False) and config.dataset == OWN:
        trainer.reset(config, fit(config))


def edit_these(trainer: Trainer) -> None:
    """"Edit these points": the run's points (a generated dataset) become the session's own."""
    st.session_state[STATE] = current(trainer.snapshot)
    st.session_state[UNDO] = []
    st.session_state.cfg_dataset = OWN
    st.session_state[MODE] = "add"
    _say("success", "These points are yours now: click on the decision regions to add more, switch to Remove a "
                    "point to take some away, or download them as a CSV.")


def from_link(query: dict[str, Any], config: Config) -> list[str]:
    """On a session's first run: the points a link carries (``points=``) become the session's own.
    Returns notices for what could not be read."""
    raw = query.get("points")
    if config.dataset != OWN or not raw:
        return []
    text = raw[-1] if isinstance(raw, list) else str(raw)
    try:
        st.session_state[STATE] = userpoints.decode(text, config.classes)
    except DataError as exc:
        return [f"Points: {exc}; starting from an empty plane"]
    return []


def link_query(config: Config) -> dict[str, str]:
    """The link's ``points=`` for a small own dataset that the link holds exactly, else nothing."""
    points, labels = data()
    if config.dataset != OWN or not 0 < len(labels) <= userpoints.LINK_POINTS:
        return {}
    try:
        text = userpoints.encode(points, labels)
    except DataError:
        return {}
    back = userpoints.decode(text, config.classes)
    if not (np.array_equal(back[0], points) and np.array_equal(back[1], labels)):
        return {}  # more decimals than a link keeps (a CSV's): share the CSV
    return {"points": text}


def link_note(config: Config) -> str | None:
    """What the share link says about the points when it cannot carry them."""
    points, labels = data()
    if config.dataset != OWN or not len(labels) or link_query(config):
        return None
    if len(labels) > userpoints.LINK_POINTS:
        why = f"a link carries at most {userpoints.LINK_POINTS} points, and there are {len(labels)}"
    else:
        why = f"they have more decimals than a link keeps ({userpoints.DECIMALS})"
    return f"This link does not carry your points ({why}): download them as a CSV and share the file with the link."


# -- edits --------------------------------------------------------------------------------------
def _apply(trainer: Trainer, edit: Edit, undo: tuple) -> bool:
    try:
        snap = trainer.edit(edit)
    except DataError as exc:
        _say("error", f"The points could not be changed: {exc}.")
        return False
    st.session_state[STATE] = current(snap)
    _push(undo)
    return True


def _plane_point(click: dict, snap: Snapshot) -> tuple[float, float] | None:
    """Where a click on the plane fell (the pointer's position; else the clicked cell's or point's), if it
    is a pair of finite numbers inside the plane shown."""
    for pair in (click.get("at"), [click.get("x"), click.get("y")]):
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in pair):
            continue
        x0, x1, y0, y1 = snap_bounds(snap)
        if x0 <= pair[0] <= x1 and y0 <= pair[1] <= y1:
            return float(pair[0]), float(pair[1])
    return None


def new_class(K: int) -> int:
    """The class a new point gets: the chosen one, if it is a class of this run (a crafted value is not)."""
    k = st.session_state.get(CLASS, 0)
    return k if isinstance(k, int) and not isinstance(k, bool) and 0 <= k < K else 0


def take_click(trainer: Trainer, snap: Snapshot) -> bool:
    """Add or remove a point where the decision regions were clicked (in the Add or Remove mode); True
    when the page has news to show (the points changed, or why they could not). A click in the Pick mode
    is left to the board (it picks the example)."""
    mode = st.session_state.get(MODE, "add")
    if snap.config.dataset != OWN or mode not in ("add", "move", "remove"):
        return False
    click = fresh_click(board_click(BOARD), BOARD)
    if click is None or click.get("chart") != "decision":
        return False
    if mode == "move":
        return _move(trainer, snap, click)
    if mode == "remove":
        i = point_index(click, snap.N)
        if i is None:
            _say("info", "To remove a point, click on the point itself (or choose Add a point to place one).")
            return True
        x, y = (float(v) for v in snap.points[i])
        k = int(snap.y[i])
        _apply(trainer, Edit("remove", index=i), ("edit", Edit("add", x=x, y=y, label=k)))
        return True
    at = _plane_point(click, snap)
    if at is None:
        return False
    k = new_class(snap.K)
    try:
        edit = userpoints.add(at[0], at[1], k)
    except DataError as exc:
        _say("error", f"That point could not be added: {exc}.")
        return True
    _apply(trainer, edit, ("edit", Edit("remove", index=snap.N)))
    return True


def _move(trainer: Trainer, snap: Snapshot, click: dict) -> bool:
    """Move, in two clicks: the first picks a point up (it is ringed), the second puts it where the pointer is."""
    held = st.session_state.get(HELD)
    if not (isinstance(held, int) and 0 <= held < snap.N):
        i = point_index(click, snap.N)
        if i is None:
            _say("info", "To move a point, click on the point first, then where it should go.")
            return True
        st.session_state[HELD] = st.session_state.example = i  # the ring shows which one is held
        _say("info", f"Point {i} picked up: click where it should go.")
        return True
    at = _plane_point(click, snap)
    if at is None:
        return False
    st.session_state.pop(HELD, None)
    x, y = (float(v) for v in snap.points[held])
    try:
        edit = userpoints.move(held, at[0], at[1])
    except DataError as exc:
        _say("error", f"That point could not be moved: {exc}.")
        return True
    _apply(trainer, edit, ("edit", Edit("move", index=held, x=x, y=y)))
    return True


def _clear(trainer: Trainer) -> None:
    previous = data()
    st.session_state.pop(HELD, None)
    if not len(previous[1]):
        return
    if _apply(trainer, Edit("clear"), ("data", *previous)):
        _say("info", "Cleared: an empty plane (Undo brings the points back and starts the run again).")


def _undo(trainer: Trainer) -> None:
    stack = st.session_state.get(UNDO) or []
    if not stack:
        return
    action = stack.pop()
    st.session_state.pop(HELD, None)
    if action[0] == "edit":
        try:
            snap = trainer.edit(action[1])
        except DataError:  # the run was started again since (a new setting): its points are the session's
            st.session_state[RESTART] = True
            return
        st.session_state[STATE] = current(snap)
        _say("info", "Undone: the run goes on from here with the point back as it was.")
    else:
        st.session_state[STATE] = (action[1], action[2])
        st.session_state[RESTART] = True
        _say("info", "Undone: the points are back, and the run starts again from iteration 0.")


# -- CSV ----------------------------------------------------------------------------------------
def _load(limits: ServerLimits) -> None:
    """The uploader's callback: parse the file (only ``softmax.points.read_csv``, in memory) and, if it is
    good, train on its points from iteration 0; if not, say which row is wrong and keep the points."""
    f = st.session_state.get(UPLOAD)
    if f is None or not hasattr(f, "getvalue"):
        return
    size = getattr(f, "size", None)
    if not isinstance(size, int) or size > userpoints.MAX_CSV_BYTES:
        _say("error", f"This file was not loaded: it is larger than {userpoints.MAX_CSV_BYTES // 1024} KB. "
                      "Your points are unchanged.")
        return
    try:
        table = userpoints.read_csv(f.getvalue(), limits.max_points, limits.max_classes)
    except DataError as exc:
        _say("error", f"This file was not loaded: {exc}. Your points are unchanged.")
        return
    _push(("data", *data()))
    st.session_state.pop(HELD, None)
    st.session_state[STATE] = (table.points, table.labels)
    st.session_state[RESTART] = True
    K = max(2, len(table.names))
    st.session_state.cfg_classes = K
    named = "" if table.names == tuple(str(k) for k in range(len(table.names))) else \
        " (" + ", ".join(f"{k} = {n}" for k, n in enumerate(table.names)) + ")"
    _say("success", f"Loaded {len(table.labels)} points of {len(table.names)} classes{named}: Classes is set to {K}, "
                    "and the run starts from iteration 0 on them.")


# -- the panel ----------------------------------------------------------------------------------
def panel(trainer: Trainer, snap: Snapshot, limits: ServerLimits) -> None:
    """Above the charts, for the dataset "own": what a click does, the class of a new point, Undo, Clear,
    the counts, and the CSV in and out."""
    K = snap.K
    inputs.check_choice(st.session_state, MODE, tuple(MODES), "add")
    st.session_state.setdefault(MODE, "add")
    if st.session_state[MODE] != "move":
        st.session_state.pop(HELD, None)  # a point picked up is put down when the mode changes
    st.session_state[CLASS] = new_class(K)
    with st.container(border=True):
        st.markdown("**Your own points**")
        left, right = st.columns([3, 2], vertical_alignment="bottom")
        left.segmented_control("A click on the decision regions", list(MODES), key=MODE, required=True,
                               format_func=MODES.get,
                               help="Add a point: a click on the plane puts a point of the class chosen beside "
                                    "it there. Move a point: click a point, then where it should go. Remove a point: "
                                    "click a point to take it away. Pick an example: click a point to follow it in "
                                    "the Explain tab.")
        right.segmented_control("Class of a new point", list(range(K)), key=CLASS, required=True,
                                format_func=(lambda k: f"class {k}") if K <= 4 else str,
                                help="The colour of each class is in the chart's legend.")
        stack = st.session_state.get(UNDO) or []
        cols = st.columns([2, 2, 5])
        cols[0].button("Undo last edit", on_click=_undo, args=(trainer,), disabled=not stack, width="stretch",
                       help="Take back the last change to the points (a click, Clear or a loaded file).")
        cols[1].button("Clear", on_click=_clear, args=(trainer,), disabled=not len(data()[1]), width="stretch",
                       help="Remove every point: an empty plane (training goes on; Undo brings them back).")
        if message := st.session_state.pop(MESSAGE, None):
            getattr(st, message[0])(plain(message[1]))
        counts = np.bincount(snap.y, minlength=K) if snap.N else np.zeros(K, dtype=int)
        per_class = ", ".join(f"{int(c)} of class {k}" for k, c in enumerate(counts))
        held = len(snap.y_test)
        mode = st.session_state.get(MODE)
        how = {"add": f"Click on the decision regions to add a point of class {st.session_state.get(CLASS, 0)}",
               "move": "Click on a point, then where it should go, to move it",
               "remove": "Click on a point to remove it",
               "pick": "Click on a point to follow it in the Explain tab"}[mode]
        st.caption(f"**{snap.N} training point{'' if snap.N == 1 else 's'}** ({per_class})"
                   + (f", {held} held out" if held else "")
                   + f". {how}; training goes on from the next iteration on the new points. K = {K} classes, "
                   "from the Classes setting (a class with no points is allowed). At most "
                   f"{limits.max_points} points on this server.")
        t = snap.transform
        if t.center != (0.0, 0.0) or t.scale != (1.0, 1.0):
            st.caption(f"Your points are far from the unit square, so the model sees them standardized: "
                       f"x₁ → (x₁ − {t.center[0]:.4g}) / {t.scale[0]:.4g}, x₂ → (x₂ − {t.center[1]:.4g}) / "
                       f"{t.scale[1]:.4g}. The charts show them in your own units.")
        with st.expander("Load or save your points as a CSV file", key="own_csv_open"):
            st.file_uploader("Load a CSV of x1,x2,label", type=["csv", "txt"], key=UPLOAD, on_change=_load,
                             args=(limits,), max_upload_size=1,
                             help="One point a row: x1, x2 and its label (a header row is optional). Labels are "
                                  "whole numbers 0..K-1, or names (classes in order of first appearance). At most "
                                  f"{userpoints.MAX_CSV_BYTES // 1024} KB and {limits.max_points} points. The file "
                                  "is read as data only, in memory, and replaces the points (Undo brings them "
                                  "back).")
            points, labels = current(snap)
            st.download_button("Download these points as CSV", userpoints.write_csv(points, labels),
                               file_name="points.csv", mime="text/csv", on_click="ignore",
                               help="x1,x2,label with a header: load it here again, or anywhere else.")
