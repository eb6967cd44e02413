"""Your own points on the page (AppTest): an empty plane, points by hand, CSV in and out, links."""

from __future__ import annotations

import re
import time
import warnings

import pytest
from streamlit.testing.v1 import AppTest

from testing.apptest import button, charts, downloads
from testing.support import ROOT

pytestmark = pytest.mark.usefixtures("stop_trainers")

EXPLAIN = "Explain the gradient"


def app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "page.py"), default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def text(at) -> str:
    return "\n".join([*(m.value for m in at.markdown), *(i.value for i in at.info), *(c.value for c in at.caption)])


@pytest.mark.parametrize("query", [{}, {"loss": "svm"}, {"model": "two-layer"}, {"features": "x1sq,sinx2"},
                                   {"test_share": "0.5", "batch_size": "4"}])
def test_an_empty_plane_draws_every_chart_and_the_explain_tab(query):
    """Choosing "Your own points" on a fresh page: no points yet, and nothing breaks (CI caught a crash here),
    whatever the model, the loss, the features; no numpy warning either."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        at = app(query)
        at.selectbox(key="cfg_dataset").set_value("own").run()
        assert not at.exception
        button(at, "Reset").click().run()
        button(at, "Step").click().run()
        assert not at.exception
        assert re.search(r"### Iteration 1\b", text(at))
        assert "Add points" in text(at)
        figs = charts(at)
        assert {"loss", "decision", "dscores"} <= set(figs) and any(k.startswith("gradient_table") for k in figs)
        x0, x1 = figs["decision"]["layout"]["xaxis"]["range"]
        assert x0 < -1 and x1 > 1  # the empty plane shows the square [-1, 1]²
        at.session_state["view"] = EXPLAIN
        at.run()
        assert not at.exception
        assert "Add points" in text(at)


# -- points by hand ------------------------------------------------------------------------------
def count(at) -> int:
    """N as the page says it (the own-points panel)."""
    match = re.search(r"\*\*(\d+) training points?\*\*", text(at))
    assert match, text(at)
    return int(match.group(1))


def loss(at) -> float:
    return float(re.search(r"loss \*\*([0-9.]+)\*\*", text(at)).group(1))


def click(at, x, y, custom=None, time=[0]):  # noqa: B006 (a counter: every click is a new one)
    """A click on the decision regions as the board reports it: the pointer at (x, y), the point hit if any."""
    time[0] += 1
    at.session_state["charts"] = {"click": {"chart": "decision", "curve": 0, "index": 0, "x": x, "y": y,
                                            "at": [x, y], "customdata": custom, "time": time[0]}}
    return at.run()


def own(query: dict | None = None) -> AppTest:
    return app({"dataset": "own", **(query or {})})


def decision_points(at) -> list[tuple[float, float, int]]:
    """The training points the decision chart draws: (x, y, class), sorted."""
    out = []
    for trace in charts(at)["decision"]["data"]:
        if trace.get("type") == "scatter" and str(trace.get("name", "")).startswith("class "):
            k = int(trace["name"].split()[1])
            xs, ys = decode(trace["x"]), decode(trace["y"])
            out += [(round(x, 6), round(y, 6), k) for x, y in zip(xs, ys, strict=True)]
    return sorted(out)


def decode(values) -> list[float]:
    """A trace's coordinates: a plain list, or the typed array spec ({"dtype", "bdata"}) figures send."""
    import base64

    import numpy as np

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_clicks_add_and_remove_points_and_the_loss_follows():
    at = own()
    assert count(at) == 0
    click(at, 0.5, 0.5)
    assert count(at) == 1 and not at.exception
    at.session_state["own_class"] = 1
    at.run()
    click(at, -0.5, -0.25)
    assert count(at) == 2
    assert decision_points(at) == [(-0.5, -0.25, 1), (0.5, 0.5, 0)]
    before = loss(at)
    button(at, "Step").click().run()
    assert loss(at) != before  # the run trains on the points
    click(at, 0.0, 0.75)  # a third point (class 1) moves the loss at once, at the same iteration
    stepped = loss(at)
    assert count(at) == 3 and stepped != before
    at.session_state["own_mode"] = "remove"
    at.run()
    click(at, 0.5, 0.5, custom=[0, 0.2, 0.5, 0.3])  # the point with index 0
    assert count(at) == 2 and (0.5, 0.5, 0) not in decision_points(at)
    click(at, 0.9, -0.9)  # nothing there: a remove needs a point, and the page says so
    assert count(at) == 2 and "click on the point itself" in " ".join(i.value for i in at.info)
    button(at, "Undo last edit").click().run()
    assert count(at) == 3 and (0.5, 0.5, 0) in decision_points(at)
    assert abs(loss(at) - stepped) < 1e-6  # the same points, the same weights: the same loss
    button(at, "Clear").click().run()
    assert count(at) == 0 and "Add points" in text(at)
    button(at, "Undo last edit").click().run()
    assert count(at) == 3
    assert not at.exception


def test_an_edit_while_training_goes_into_the_running_run_and_its_log():
    at = own({"speed": "200", "iterations": "100000"})
    click(at, 0.5, 0.5)
    button(at, "Start").click().run()
    seat = at.session_state["seat"]
    assert seat.trainer.running
    deadline = time.monotonic() + 30  # (on a busy machine the run's first step may not have come yet)
    while seat.trainer.snapshot.iteration == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    click(at, -0.5, 0.5)
    assert seat.trainer.running  # the click did not stop it
    snap = seat.trainer.snapshot
    assert snap.N == 2 and snap.iteration > 0
    assert [len(c.edits) for c in snap.log] == [1, 1]  # each add is in the run's log, at its iteration
    assert snap.log[0].iteration == 0 and snap.log[1].iteration > 0
    button(at, "Pause").click().run()
    button(at, "Reset").click().run()
    assert count(at) == 2  # Reset keeps the points as they are now, and starts at iteration 0
    assert re.search(r"### Iteration 0\b", text(at))


def test_a_class_is_picked_for_new_points_and_a_crafted_click_is_no_point():
    at = own({"classes": "4"})
    at.session_state["own_class"] = 3
    at.run()
    click(at, 0.1, 0.2)
    assert decision_points(at) == [(0.1, 0.2, 3)]
    for x, y in [(1e300, 0.0), (float("nan"), 0.0), ("a", 0.0), (None, None), (50.0, 50.0)]:
        click(at, x, y)
        assert not at.exception
    assert count(at) == 1  # none of those is a place on the plane shown


def test_edit_these_points_makes_a_generated_dataset_your_own():
    at = app({"dataset": "blobs", "points_per_class": "10"})
    generated = decision_points(at)
    button(at, "Edit these points").click().run()
    assert not at.exception
    assert at.selectbox(key="cfg_dataset").value == "own"
    assert count(at) == 30 and decision_points(at) == generated
    click(at, 0.0, 0.0)
    assert count(at) == 31


def test_the_server_point_limit_holds_for_clicks(monkeypatch):
    monkeypatch.setenv("SOFTMAX_MAX_POINTS", "20")
    at = app({"dataset": "blobs", "points_per_class": "10", "classes": "2"})
    button(at, "Edit these points").click().run()
    assert count(at) == 20
    click(at, 0.0, 0.0)
    assert count(at) == 20 and "at most 20 points" in " ".join(e.value for e in at.error)


# -- CSV in and out ------------------------------------------------------------------------------
def upload(at, content: bytes, name: str = "points.csv") -> AppTest:
    at.file_uploader(key="own_csv").set_value((name, content, "text/csv"))
    return at.run()


def errors(at) -> str:
    return " ".join(e.value for e in at.error).replace("\\", "")


GOOD = b"x1,x2,label\n0.5,0.5,cat\n-0.5,0.25,dog\n0.1,-0.7,bird\n0.2,0.2,cat\n"


def test_a_good_csv_replaces_the_points_and_sets_the_classes():
    at = own({"classes": "2"})
    click(at, 0.9, 0.9)
    upload(at, GOOD)
    assert not at.exception and not errors(at)
    assert count(at) == 4
    assert at.slider(key="cfg_classes").value == 3  # K follows the file's classes
    assert decision_points(at) == [(-0.5, 0.25, 1), (0.1, -0.7, 2), (0.2, 0.2, 0), (0.5, 0.5, 0)]
    assert "0 = cat" in " ".join(s.value for s in at.success).replace("\\", "")
    button(at, "Undo last edit").click().run()  # the points from before the file
    assert decision_points(at) == [(0.9, 0.9, 0)]


@pytest.mark.parametrize("content,message", [
    (b"x1,x2,label\n0.5,0.5,0\n0.5,abc,1\n", "row 2: x2 is not a number"),
    (b"0.5,0.5\n", "row 1: expected 3 columns"),
    (b"0.5,inf,0\n", "row 1: x2 is not finite"),
    (b"\xff\xfe\x00garbage", "not text"),
    (b"0,0,0\n0,1,11\n", "row 2: label 11 needs 12 classes"),
    (b"", "no rows"),
])
def test_a_bad_csv_says_which_row_and_keeps_the_points(content, message):
    at = own()
    click(at, 0.5, 0.5)
    click(at, -0.5, 0.5)
    before = decision_points(at)
    upload(at, content)
    assert not at.exception
    assert message in errors(at) and "Your points are unchanged" in errors(at)
    assert decision_points(at) == before and count(at) == 2


def test_too_many_points_in_a_file_are_refused(monkeypatch):
    monkeypatch.setenv("SOFTMAX_MAX_POINTS", "20")
    at = own()
    upload(at, b"".join(b"%d,0,0\n" % i for i in range(21)))
    assert "21 points; this server allows at most 20" in errors(at) and count(at) == 0


def downloaded(at, stored) -> bytes:
    import os

    url = next(d for d in at.get("download_button") if "points" in d.proto.label).proto.url
    data = stored[os.path.splitext(os.path.basename(url))[0]]
    return data.encode() if isinstance(data, str) else data


def test_download_then_upload_gives_the_same_points(monkeypatch):
    stored = downloads(monkeypatch)
    at = app({"dataset": "spiral", "points_per_class": "20", "seed": "3"})
    button(at, "Edit these points").click().run()
    at.session_state["own_class"] = 2
    at.run()
    click(at, 0.123, -0.456)
    points = decision_points(at)
    assert len(points) == 61
    csv = downloaded(at, stored)
    assert csv.startswith(b"x1,x2,label\n") and csv.count(b"\n") == 62
    fresh = own()
    upload(fresh, csv)
    assert not errors(fresh) and decision_points(fresh) == points
    assert downloaded(fresh, stored) == csv  # byte for byte


def test_points_in_units_of_their_own_are_standardized_and_the_page_says_so():
    at = own()
    upload(at, b"x1,x2,label\n1000,5,0\n1200,7,1\n1100,9,0\n900,4,1\n")
    assert "standardized" in text(at) and count(at) == 4
    x0, x1 = charts(at)["decision"]["layout"]["xaxis"]["range"]
    assert 800 < x0 < 900 and 1200 < x1 < 1300  # the charts show the points in their own units


# -- links ---------------------------------------------------------------------------------------
def test_a_link_with_hand_made_points_reproduces_them():
    at = own({"classes": "3", "seed": "5"})
    for i, (x, y) in enumerate([(0.5, 0.5), (-0.5, 0.25), (0.125, -0.75), (0.3333, 0.6667)]):
        at.session_state["own_class"] = i % 3
        at.run()
        click(at, x, y)
    button(at, "Step").click().run()
    query = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert "points" in query and query["dataset"] == "own"
    link = " ".join(c.value for c in at.code)
    assert "points=" + query["points"] in link  # the share link carries them too
    again = app(query)
    assert not at.exception and not again.warning
    assert decision_points(again) == decision_points(at) and count(again) == 4
    button(again, "Step").click().run()
    assert loss(again) == loss(at)  # same points, same seed: the same run


def test_a_bad_link_starts_from_an_empty_plane_with_a_notice():
    at = own({"points": "@@@not-points"})
    assert not at.exception and count(at) == 0
    assert "Points" in " ".join(w.value for w in at.warning)


def test_a_large_own_dataset_is_not_put_in_the_link_and_the_page_says_to_share_the_csv():
    at = app({"dataset": "blobs", "points_per_class": "70"})
    button(at, "Edit these points").click().run()
    assert count(at) == 210
    assert "points" not in at.query_params
    assert "download them as a CSV" in " ".join(w.value for w in at.warning)


# -- input features ------------------------------------------------------------------------------
def test_rows_are_named_by_feature_in_the_charts_and_the_explain_tab():
    at = app({"preset": "circles-features"})
    figs = charts(at)
    table = figs["gradient_table"]["data"][0]["y"]
    assert table == ["dW[x₁, k]", "dW[x₂, k]", "dW[x₁², k]", "dW[x₂², k]", "db[k]"]
    history = {label for trace in figs["gradient_history"]["data"] for label in trace["y"]}
    assert "dW[x₁², 0]" in history and "dW[x₂², 2]" in history
    # the decision regions go through the features: with x₁² and x₂² trained, a ring of one class
    at.number_input(key="cfg_iterations").set_value(500).run()
    seat = at.session_state["seat"]
    seat.trainer.run_to_end()
    at.run()
    assert float(re.search(r"accuracy \*\*([0-9.]+)%", text(at)).group(1)) >= 95
    import numpy as np

    from viz.plane import CONFIDENCE_LEVELS
    heat = charts(at)["decision"]["data"][0]
    cells = np.array(decode(heat["z"])).reshape(100, 100) // CONFIDENCE_LEVELS
    assert cells[50, 50] == 0 and cells[0, 0] == cells[99, 99] == 2  # the inner ring's class inside, the outer's out
    at.session_state["view"] = EXPLAIN
    at.run()
    assert not at.exception
    page = text(at).replace("\\", "")
    assert "x₁² " in page  # the example's inputs, each by name
    rows = [str(i) for t in at.table for i in t.value.index]
    assert any("W[x₂²,·]" in r.replace("\\", "") for r in rows), [r.replace("\\", "") for r in rows]
    button(at, "Run the gradient check").click().run()
    entries = [str(e) for d in at.dataframe if "entry" in d.value for e in d.value["entry"]]
    assert "W[x₁²,2]" in entries and "b[0]" in entries, entries


def test_the_explain_tab_follows_a_point_of_your_own_and_its_script_holds_the_points(monkeypatch):
    stored = downloads(monkeypatch)
    at = own()
    click(at, 0.5, 0.5)
    at.session_state["own_class"] = 1
    at.run()
    click(at, -0.5, -0.25)
    button(at, "Step").click().run()
    at.session_state["view"] = EXPLAIN
    at.run()
    assert not at.exception
    assert "Example 0" in text(at).replace("\\", "")
    url = next(d for d in at.get("download_button") if "script" in d.proto.label).proto.url
    import os

    script = stored[os.path.splitext(os.path.basename(url))[0]]
    script = script.decode() if isinstance(script, bytes) else script
    assert "your own 2 points" in script and "[0.5, 0.5]" in script
    assert "points or settings changed during the run" in text(at)


def test_a_point_moves_in_two_clicks_and_undo_puts_it_back():
    at = own()
    click(at, 0.5, 0.5)
    click(at, -0.5, 0.5)
    at.session_state["own_mode"] = "move"
    at.run()
    before = loss(at)
    click(at, 0.5, 0.5, custom=[0, 0.3, 0.3, 0.4])  # picks point 0 up
    assert "Point 0 picked up" in text(at).replace("\\", "")
    assert decision_points(at) == [(-0.5, 0.5, 0), (0.5, 0.5, 0)]
    click(at, 0.25, -0.75, custom=[1, 0.3, 0.3, 0.4])  # where it goes (over another point: still the pointer)
    assert decision_points(at) == [(-0.5, 0.5, 0), (0.25, -0.75, 0)] and count(at) == 2
    assert loss(at) != before
    log = at.session_state["seat"].trainer.snapshot.log
    assert [e.kind for c in log for e in c.edits] == ["add", "add", "move"]
    button(at, "Undo last edit").click().run()
    assert decision_points(at) == [(-0.5, 0.5, 0), (0.5, 0.5, 0)] and abs(loss(at) - before) < 1e-12
