"""Compare on the page (issue #15): the held-out share's test curves and confusion matrices, and saved runs on the
loss chart. The oracle is ``softmax.run.Run`` trained straight to the same iteration."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from softmax.compare import confusions
from softmax.config import Config
from softmax.run import Run
from testing.apptest import button, charts
from tests.test_app import app, iteration
from ui import compare

pytestmark = pytest.mark.usefixtures("stop_trainers")


def decode(spec) -> np.ndarray:
    return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype("<" + spec["dtype"]))


def trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name") == name)


def matrices(at) -> dict[str, np.ndarray]:
    return {t["name"]: np.array(t["customdata"]) for t in charts(at)["confusion"]["data"]}


def test_a_test_share_puts_test_curves_and_two_confusion_matrices_on_the_page():
    at = app()
    at.slider(key="cfg_test_share").set_value(0.2).run()
    assert not at.exception
    trainer = at.session_state["seat"].trainer
    trainer.step(60)
    at.run()
    assert iteration(at) == 60
    oracle = Run(Config(test_share=0.2))
    oracle.step(60)
    snap = oracle.snapshot()
    mats = matrices(at)
    assert set(mats) == {"train", "test"}
    assert mats["train"].sum() == 240 == snap.N and mats["test"].sum() == 60 == len(snap.y_test)
    for name, counts in confusions(snap).items():
        np.testing.assert_array_equal(mats[name], counts)
    # the test accuracy on the loss chart is softmax's own history, and the matrix's diagonal says the same
    fig = charts(at)["loss"]
    shown = decode(trace(fig, "test accuracy")["y"])
    np.testing.assert_allclose(shown, snap.history.test_accuracy, rtol=1e-6)
    assert shown[-1] == pytest.approx(np.trace(mats["test"]) / 60, rel=1e-6)
    np.testing.assert_allclose(decode(trace(fig, "test loss")["y"]), snap.history.test_loss, rtol=1e-6)
    notes = [a["text"] for a in charts(at)["confusion"]["layout"]["annotations"]]
    assert notes[1] == f"<b>test</b>: {np.trace(mats['test'])} of 60 right ({snap.test_accuracy:.1%})"


def test_the_confusion_matrix_follows_go_to_iteration():
    at = app({"test_share": "0.25", "iterations": "100"})
    at.session_state["seat"].trainer.step(80)
    at.run()
    at.slider(key="goto").set_value(7).run()
    assert iteration(at) == 7
    oracle = Run(Config(test_share=0.25, iterations=100))
    oracle.step(7)
    for name, counts in confusions(oracle.snapshot()).items():
        np.testing.assert_array_equal(matrices(at)[name], counts)
    assert charts(at)["confusion"]["layout"]["title"]["text"].startswith("Confusion matrix — iteration 7")


def test_without_a_test_share_there_is_one_matrix_and_no_test_curve():
    at = app()
    button(at, "Step").click().run()
    assert set(matrices(at)) == {"train"} and matrices(at)["train"].sum() == 300
    assert not [t for t in charts(at)["loss"]["data"] if t.get("name", "").startswith("test")]


def test_save_two_runs_with_other_step_sizes_then_clear():
    at = app({"iterations": "100"})
    trainer = at.session_state["seat"].trainer
    save = button(at, compare.SAVE_LABEL)
    assert save.help == compare.SAVE_HELP
    trainer.step(50)
    at.run()
    save.click().run()
    assert any(c.value == "Saved for comparison, on the loss chart: run 1." for c in at.caption)
    for step in (10.0, 0.1):
        at.select_slider(key="cfg_step_size").set_value(step).run()
        button(at, "Reset").click().run()
        trainer.step(50)
        at.run()
        if step == 10.0:
            button(at, compare.SAVE_LABEL).click().run()
    fig = charts(at)["loss"]
    loss_names = [t["name"] for t in fig["data"] if "loss" in t["name"] or t["name"].startswith("saved")]
    assert loss_names == ["loss (step 0.1)", "saved: step 1", "saved: step 10"]
    step1 = Run(Config(iterations=100))
    step1.step(50)
    np.testing.assert_allclose(decode(trace(fig, "saved: step 1")["y"]), step1.snapshot().history.loss, rtol=1e-6)
    assert any(c.value == "Saved for comparison, on the loss chart: step 1, step 10." for c in at.caption)
    # saving the same run again replaces it; a fourth run drops the oldest
    button(at, compare.SAVE_LABEL).click().run()
    trainer.step(5)
    at.run()
    button(at, compare.SAVE_LABEL).click().run()
    assert any(c.value.endswith("This run was saved before: its curve now goes as far as the run.") for c in at.caption)
    assert len(at.session_state[compare.KEY]) == 3
    assert decode(trace(charts(at)["loss"], "saved: step 0.1")["x"])[-1] == 55
    button(at, compare.CLEAR_LABEL).click().run()
    assert not [t for t in charts(at)["loss"]["data"] if t["name"].startswith("saved")]
    assert not [b for b in at.button if b.label == compare.CLEAR_LABEL]


def test_saved_runs_in_session_state_are_checked():
    at = app()
    at.session_state[compare.KEY] = ("not a run",)
    at.run()
    assert not at.exception and not [t for t in charts(at)["loss"]["data"] if t["name"].startswith("saved")]


def test_the_live_streams_frames_overlay_the_saved_runs_the_page_shows():
    """SOFTMAX_STREAM=1: while a run trains, its frames are built off the page's script (ui/stream.py); the
    page tells the hub which runs are saved, and the frames' loss chart overlays them."""
    import json

    from softmax.compare import save
    from softmax.runner import Trainer
    from ui import sessions, stream

    seat = sessions.Seat(Trainer(Config()), sessions.LOCAL)
    seat.trainer.step(5)
    token = stream.HUB.issue(seat)
    try:
        saved = (save(Run(Config(step_size=10.0)).snapshot()),)
        stream.HUB.show(token, None, "dark", saved)
        frame, it, _ = stream.build_frame(seat, stream.HUB.ticket(token), 0)
        loss = next(c["figure"] for c in json.loads(frame)["charts"] if c["key"] == "loss")
        assert it == 5 and [t["name"] for t in loss["data"] if t["name"].startswith("saved")] == ["saved: step 10"]
        assert loss["layout"]["meta"]["theme"] == "dark"
    finally:
        stream.HUB.revoke(token)
