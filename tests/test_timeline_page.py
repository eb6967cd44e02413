"""Back in time on the page (issue #15): "Go to iteration", the run's log in the link, changes on the loss curve.

The oracle is a run trained straight to the iteration (``softmax.run.Run``, stepped by hand, its
settings changed at the same iteration as on the page); the page's view must equal it to 1e-12 in
every parameter.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from softmax.config import Config
from softmax.run import Run
from tests.test_app import app, button, charts, iteration, query
from tests.test_explain_page import explain_app
from ui import timeline

pytestmark = pytest.mark.usefixtures("stop_trainers")


def straight(n: int, change_at: int | None = None, **changes) -> Run:
    """The oracle: a run trained straight to iteration n (its settings changed at ``change_at``)."""
    run = Run(Config())
    if change_at is not None:
        run.step(change_at)
        run.change(run.config.with_changes(**changes))
    run.step(n - run.iteration)
    return run


def shown(at):
    """The snapshot the page drew: the view the scrubber chose (the newest when it follows the run)."""
    trainer = at.session_state["seat"].trainer
    if at.slider(key="goto").value == trainer.snapshot.iteration:
        return trainer.snapshot
    return timeline.cached_view(trainer)


def assert_same_params(snap, run: Run, tol: float = 1e-12) -> None:
    assert set(snap.params) == set(run.params)
    for name in run.params:
        np.testing.assert_allclose(snap.params[name], run.params[name], rtol=0, atol=tol, err_msg=name)


def status_loss(at) -> str:
    text = next(m.value for m in at.markdown if m.value.startswith("### Iteration"))
    return re.search(r"loss \*\*([0-9.]+)\*\*", text).group(1)


def test_go_to_iteration_is_training_straight_there():
    at = app()
    scrubber = at.slider(key="goto")
    assert scrubber.label == "Go to iteration" and "Start and Step go on from the newest" in scrubber.help
    at.session_state["seat"].trainer.step(200)
    at.run()
    assert iteration(at) == 200 and at.slider(key="goto").value == 200
    for n in (0, 1, 77, 150, 199):
        at.slider(key="goto").set_value(n).run()
        assert not at.exception
        assert iteration(at) == n
        oracle = straight(n)
        snap = shown(at)
        assert snap.iteration == n
        assert_same_params(snap, oracle)
        assert status_loss(at) == f"{oracle.result.loss:.6f}"
        assert charts(at)["loss"]["layout"]["title"]["text"].endswith(f"iteration {n}")
        assert any(f"looking at iteration {n} of 200" in c.value for c in at.caption)
    assert at.session_state["seat"].trainer.snapshot.iteration == 200  # looking back changed nothing


def test_a_step_size_change_at_50_scrubbed_at_120_is_the_live_runs():
    at = app({"iterations": "300"})
    trainer = at.session_state["seat"].trainer
    trainer.step(50)
    at.select_slider(key="cfg_step_size").set_value(0.5).run()
    trainer.step(150)
    at.run()
    at.slider(key="goto").set_value(120).run()
    assert iteration(at) == 120
    assert_same_params(shown(at), straight(120, 50, step_size=0.5))
    # the change is marked on the loss curve, up to the iteration shown
    fig = charts(at)["loss"]
    marks = [t for t in fig["data"] if t.get("name") == "setting changed"]
    assert marks and marks[0]["x"] == [50] and "step size → 0.5" in marks[0]["text"][0]
    assert [s["x0"] for s in fig["layout"]["shapes"]] == [50]
    at.slider(key="goto").set_value(40).run()
    assert not [t for t in charts(at)["loss"]["data"] if t.get("name") == "setting changed"]


def test_the_explain_tab_is_at_the_iteration_shown():
    at = explain_app()
    at.session_state["seat"].trainer.step(30)
    at.run()
    at.slider(key="goto").set_value(12).run()
    assert not at.exception
    assert iteration(at) == 12
    assert any("iteration 12;" in m.value for m in at.markdown)  # the notes' loop "what it computes now"
    button(at, "Run the gradient check").click().run()
    assert any(m.value.startswith("At iteration 12:") for m in at.markdown)


def test_the_link_carries_the_log_and_reproduces_iteration_120():
    at = app({"iterations": "300"})
    trainer = at.session_state["seat"].trainer
    trainer.step(50)
    at.select_slider(key="cfg_step_size").set_value(0.5).run()
    link = query(at)
    assert link["log"] == "50:step_size=0.5" and link["step_size"] == "1"  # the start settings, and the change
    opened = app(link)
    assert not opened.exception
    assert iteration(opened) == 50 and opened.select_slider(key="cfg_step_size").value == 0.5
    assert any("replayed to iteration 50" in i.value for i in opened.info)
    opened.session_state["seat"].trainer.step(70)
    opened.run()
    assert iteration(opened) == 120
    assert_same_params(shown(opened), straight(120, 50, step_size=0.5))
    assert query(opened)["log"] == "50:step_size=0.5"  # and its own link says the same


def test_a_change_before_the_first_step_is_a_start_setting_not_a_log():
    at = app()
    at.select_slider(key="cfg_step_size").set_value(0.5).run()
    assert "log" not in query(at) and query(at)["step_size"] == "0.5"


def test_step_returns_to_the_newest_and_train_on_from_here_rewinds():
    at = app()
    at.session_state["seat"].trainer.step(40)
    at.run()
    at.slider(key="goto").set_value(10).run()
    button(at, "Step").click().run()
    assert iteration(at) == 41 and at.slider(key="goto").value == 41  # Step goes on from the newest
    at.slider(key="goto").set_value(10).run()
    button(at, "Train on from here").click().run()
    assert iteration(at) == 10 and at.session_state["seat"].trainer.snapshot.iteration == 10
    button(at, "Step").click().run()
    assert iteration(at) == 11
    assert_same_params(shown(at), straight(11))


def test_while_training_the_page_shows_the_newest():
    at = app({"speed": "1000", "iterations": "100000"})
    at.session_state["seat"].trainer.step(20)
    at.run()
    at.slider(key="goto").set_value(5).run()
    button(at, "Start").click().run()
    assert not [s for s in at.slider if s.key == "goto"]  # hidden while training: the newest is shown
    assert iteration(at) >= 20
    button(at, "Pause").click().run()
    assert not at.slider(key="goto").disabled
    assert at.slider(key="goto").value == iteration(at)


@pytest.mark.parametrize("x", [30, 30.0])
def test_a_click_on_the_loss_curve_goes_to_its_iteration(x):
    at = app()
    at.session_state["seat"].trainer.step(60)
    at.run()
    at.session_state["charts"] = {"click": {"chart": "loss", "curve": 0, "index": 30, "x": x, "y": 0.8,
                                            "customdata": None, "time": 1}}
    at.run()
    assert iteration(at) == 30 and at.slider(key="goto").value == 30
    assert_same_params(shown(at), straight(30))
    assert at.session_state["example"] != 30  # a loss-curve click picks no training point
    at.slider(key="goto").set_value(45).run()  # the same click again is no new click
    assert iteration(at) == 45


@pytest.mark.parametrize("x", ["30", None, -1, 61, 1e400, float("nan"), 2.5, True, [30]])
def test_a_crafted_loss_click_is_no_click(x):
    at = app()
    at.session_state["seat"].trainer.step(60)
    at.run()
    at.session_state["charts"] = {"click": {"chart": "loss", "x": x, "time": 2}}
    at.run()
    assert not at.exception
    assert iteration(at) == 60


def test_a_link_with_a_log_shares_the_same_log_from_its_first_drawing():
    opened = app({"step_size": "1", "log": "50:step_size=0.5;70:reg=0.01"})
    shared = next(c.value for c in opened.code if "log=" in c.value)
    assert "log=50%3Astep_size%3D0.5%3B70%3Areg%3D0.01" in shared and "step_size=1&" in shared
    assert iteration(opened) == 70 and opened.select_slider(key="cfg_reg").value == 0.01


def test_a_bad_log_in_a_link_is_a_notice_and_the_run_stops_before_it():
    opened = app({"log": "50:step_size=0.5;40:reg=0.1"})  # out of order: left out
    assert not opened.exception
    assert iteration(opened) == 50
    assert any("Run history" in w.value for w in opened.warning)


def test_a_links_replay_gets_a_few_seconds_at_most(monkeypatch):
    monkeypatch.setattr(timeline.replay_link, "__defaults__", (0.0,))  # no time at all: stops at once
    opened = app({"iterations": "100000", "log": "90000:step_size=0.5"})
    assert not opened.exception
    assert iteration(opened) < 90000 and opened.session_state["seat"].trainer.config.step_size == 0.5
    assert any("The settings still to come apply from here" in i.value for i in opened.info)
