"""Incremental stream frames (ui/delta.py, ui/stream.py's Frames, docs/stream.md): the ops that turn one
figure into the next, applied as the board applies them (testing/frames.py mirrors board.js), give exactly
the full figures of the same snapshot, over a run long enough for the history to thin itself; a frame
built and not sent changes nothing; what the board shows changing (example, theme) brings a full frame."""

from __future__ import annotations

import json

import numpy as np
import pytest

from softmax.config import Config
from softmax.runner import Trainer
from testing.frames import Board, FakeSeat, apply
from ui.delta import common_prefix, diff
from ui.stream import Frames, Ticket


def roundtrip(old, new):
    ops = json.loads(json.dumps(diff(old, new)))
    frozen = json.dumps(old)
    out = apply(old, ops)
    assert json.dumps(old) == frozen, "applying ops changed the figure it started from"
    return out, ops


@pytest.mark.parametrize(("a", "b"), [("", ""), ("abc", "abd"), ("abc", "abcdef"), ("abcdef", "abc"), ("x", "y"),
                                      ("a" * 1000 + "b", "a" * 1000 + "c"), ("same", "same")])
def test_common_prefix(a, b):
    n = common_prefix(a, b)
    assert a[:n] == b[:n] and (n == min(len(a), len(b)) or a[n] != b[n])


def test_ops_set_delete_and_splice_and_leave_the_rest_shared():
    long = "A" * 100
    old = {"data": [{"x": {"dtype": "f4", "bdata": long}, "name": "a", "gone": 1}, {"y": [1, 2]}],
           "layout": {"title": {"text": "iteration 1"}, "annotations": [{"text": "a"}, {"text": "b"}],
                      "keep": {"k": 1}}}
    new = {"data": [{"x": {"dtype": "f4", "bdata": long + "BBBB", "shape": "26"}, "name": "a"}, {"y": [1, 3]}],
           "layout": {"title": {"text": "iteration 2"}, "annotations": [{"text": "a"}, {"text": "c"}], "keep": {"k": 1},
                      "new": True}}
    out, ops = roundtrip(old, new)
    assert out == new
    assert [["data", 0, "x", "bdata"], 100, "BBBB"] in ops  # the array's new end only
    assert [["data", 0, "gone"]] in ops
    assert [["layout", "annotations", 1, "text"], "c"] in ops
    assert out["layout"]["keep"] is old["layout"]["keep"] and out["data"][1] is not old["data"][1]
    # lists of other lengths, and lists of numbers, go whole
    out, ops = roundtrip(old, {**new, "data": new["data"][:1]})
    assert ops[0] == [["data"], new["data"][:1]] and out["data"] == new["data"][:1]
    assert diff(new, new) == []


def frames_of(model: str, K: int, steps: list[int], picked: int | None = 5, theme: str = "light", views=None):
    """Build frames for a run stepped by ``steps``; yields (frame JSON, the full frame's figures)."""
    trainer = Trainer(Config(model=model, classes=K, iterations=100_000, hidden=20))
    seat, ticket = FakeSeat(), Ticket(None, "here", picked=picked, theme=theme)
    frames = Frames()
    for i, n in enumerate(steps):
        if views and i in views:
            ticket.picked, ticket.theme = views[i]
        seat.trainer.snapshot = trainer.step(n)
        built, _, _ = frames.build(seat, ticket, i)
        frames.sent()
        full, _, _ = Frames(incremental=False).build(seat, ticket, i)
        yield built, {c["key"]: c["figure"] for c in json.loads(full)["charts"]}


@pytest.mark.parametrize(("model", "K"), [("linear", 3), ("linear", 10), ("two-layer", 3)])
def test_deltas_applied_in_order_give_the_full_figures_of_each_snapshot(model, K):
    # past 1024 recorded iterations the history halves itself, and the curves' thinning steps up
    steps = [1, 1, 5, 40, 250, 3, 300, 400, 7, 200, 1000, 9, 11]
    board = Board()
    kinds, sizes = [], []
    for built, full in frames_of(model, K, steps):
        frame = json.loads(built)
        board.take(frame)
        kinds.append(frame["type"])
        sizes.append(len(built) / len(json.dumps(full)))
        assert board.figures() == full, (frame["seq"], frame["type"])
        assert list(board.figures()) == list(full)
    assert kinds[0] == "frame" and set(kinds[1:]) == {"delta"}, kinds
    assert max(sizes[1:]) < 0.9 and min(sizes[1:]) < 0.5, sizes  # (a delta may resend most of a changed chart)


def test_a_new_example_or_theme_brings_a_full_frame_and_then_deltas_again():
    steps = [10, 10, 10, 10, 10, 10]
    views = {2: (7, "light"), 4: (7, "dark")}
    board = Board()
    kinds = []
    for built, full in frames_of("linear", 3, steps, views=views):
        frame = json.loads(built)
        board.take(frame)
        kinds.append(frame["type"])
        assert board.figures() == full
    assert kinds == ["frame", "delta", "frame", "delta", "frame", "delta"]


def test_a_frame_built_and_not_sent_changes_nothing():
    trainer = Trainer(Config(classes=3, iterations=100_000))
    seat, ticket = FakeSeat(), Ticket(None, "here", picked=1)
    frames, board = Frames(), Board()
    seat.trainer.snapshot = trainer.step(10)
    board.take(json.loads(frames.build(seat, ticket, 0)[0]))
    frames.sent()
    seat.trainer.snapshot = trainer.step(10)
    frames.build(seat, ticket, 1)  # (the same iteration as the last sent, or the socket gone: not sent)
    seat.trainer.snapshot = trainer.step(10)
    board.take(json.loads(frames.build(seat, ticket, 1)[0]))
    frames.sent()
    full, _, _ = Frames(incremental=False).build(seat, ticket, 1)
    assert board.figures() == {c["key"]: c["figure"] for c in json.loads(full)["charts"]}


def test_frames_whole_when_deltas_are_off():
    trainer = Trainer(Config(classes=3, iterations=100_000))
    seat, ticket, frames = FakeSeat(), Ticket(None, "here"), Frames(incremental=False)
    kinds = []
    for i in range(3):
        seat.trainer.snapshot = trainer.step(5)
        kinds.append(json.loads(frames.build(seat, ticket, i)[0])["type"])
        frames.sent()
    assert kinds == ["frame"] * 3


def test_charts_off_screen_are_built_once_a_second_and_the_board_keeps_their_last_figure():
    trainer = Trainer(Config(classes=3, iterations=100_000))
    seat, ticket = FakeSeat(), Ticket(None, "here", picked=1, visible=frozenset({"loss", "decision"}))
    frames, board = Frames(), Board()
    changed, latest = [], {}
    for i, now in enumerate([0.0, 0.3, 0.6, 0.9, 1.05, 1.3]):
        seat.trainer.snapshot = trainer.step(20)
        frame = json.loads(frames.build(seat, ticket, i, now=now)[0])
        frames.sent()
        board.take(frame)
        full, _, _ = Frames(incremental=False).build(seat, ticket, i)
        want = {c["key"]: c["figure"] for c in json.loads(full)["charts"]}
        changed.append(frame["type"] if frame["type"] == "frame" else {c["key"] for c in frame["charts"]})
        if i in (0, 4):  # (every chart built: the first frame, and when the others are due again)
            latest = want
        for key, fig in board.figures().items():  # on screen: this snapshot's; off screen: the last built
            assert fig == (want[key] if key in ticket.visible else latest[key]), (i, key)
    assert changed[0] == "frame"
    assert all(c <= {"loss", "decision"} for c in changed[1:4] + changed[5:]), changed
    assert changed[4] >= {"dscores", "gradient_table"}, changed


def test_the_boards_word_on_what_it_shows_is_checked(monkeypatch):
    from types import SimpleNamespace

    from ui import charts

    snap = Trainer(Config(classes=3, iterations=100_000)).step(3)
    for said, want in [(None, None), (5, None), ("x" * 2000, None), ("loss,decision", {"loss", "decision"}),
                       ("loss,nothing", {"loss"}), ("nothing", None), ("", set())]:
        state = {charts.BOARD: {} if said is None else {"visible": said}}
        monkeypatch.setattr(charts, "st", SimpleNamespace(session_state=state))
        got = charts.visible_charts(snap)
        assert (got if got is None else set(got)) == want, said


@pytest.mark.parametrize("value", [
    {"bdata": "AAANaNAA", "title": "Infinity and NaN as words"},  # spelt by chance: no second pass needed
    {"x": [1.0, float("nan"), float("inf"), -float("inf")], "n": np.int64(3), "f": np.float32(0.5)},
    {"z": np.array([[0.5, np.nan]]), "ok": np.bool_(True)},
])
def test_to_json_writes_what_plotly_writes(value):
    """One pass where plotly's encoder parses and dumps again: the same text, NaN and infinities as null."""
    from plotly.utils import PlotlyJSONEncoder

    from ui.plotly_live import to_json

    text = to_json(value)
    assert text == json.dumps(value, cls=PlotlyJSONEncoder, separators=(",", ":"))
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
