"""The page through Streamlit's AppTest: renders, controls do what they say, edges render."""

import base64
import re
import time

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from softmax.config import Config, setting_info
from softmax.presets import PRESETS
from softmax.runner import Trainer
from testing.apptest import button, charts
from testing.support import ROOT
from tests.test_explain import oracle

pytestmark = pytest.mark.usefixtures("stop_trainers")

CHARTS = {"loss", "decision", "gradient_table", "gradient_history", "dscores", "confusion"}




def app(query=None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "page.py"), default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def iteration(at) -> int:
    text = next(m.value for m in at.markdown if m.value.startswith("### Iteration"))
    return int(re.match(r"### Iteration (\d+)", text).group(1))


def wait_for(condition, timeout: float = 60.0) -> None:
    """Until ``condition()`` holds; the timeout only keeps a broken run from hanging the suite."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {condition}")
        time.sleep(0.01)


def test_renders_with_defaults():
    at = app()
    assert not at.exception
    assert iteration(at) == 0
    assert set(charts(at)) == CHARTS
    assert "1.096956" in next(m.value for m in at.markdown if m.value.startswith("### Iteration"))  # the notes' line
    assert [b.label for b in at.button][:4] == ["Start", "Pause", "Step", "Reset"] or \
        {"Start", "Pause", "Step", "Reset"} <= {b.label for b in at.button}


def test_every_control_is_labelled_with_help():
    at = app()
    widgets = [*at.selectbox, *at.slider, *at.select_slider, *at.number_input, *at.button]
    assert len(widgets) >= 14
    for w in widgets:
        assert w.label and w.help, w


def test_step_adds_exactly_one_and_reset_returns_to_zero():
    at = app()
    button(at, "Step").click().run()
    assert iteration(at) == 1
    button(at, "Step").click().run()
    assert iteration(at) == 2
    button(at, "Reset").click().run()
    assert iteration(at) == 0


def test_start_trains_in_the_background_and_pause_holds():
    at = app({"speed": "1000", "iterations": "100000"})
    button(at, "Start").click().run()
    (trainer,) = Trainer._running  # the page's run, training on its own thread
    wait_for(lambda: trainer.snapshot.iteration > 0)  # events, not a time: the thread has stepped
    at.run()
    first = iteration(at)
    assert first > 0
    button(at, "Pause").click().run()
    held = iteration(at)
    # Pause returned with no step in progress: nothing can step the run any more, however long one waits.
    assert not trainer.running and Trainer.running_count() == 0
    time.sleep(0.1)
    assert trainer._run.iteration == trainer.snapshot.iteration == held >= first
    at.run()
    assert iteration(at) == held


def test_new_step_size_keeps_progress_new_data_resets():
    at = app()
    button(at, "Step").click().run()
    button(at, "Step").click().run()
    at.select_slider(key="cfg_step_size").set_value(0.1).run()
    assert iteration(at) == 2
    at.select_slider(key="cfg_reg").set_value(0.0).run()
    assert iteration(at) == 2
    assert "reg 0 " in next(m.value for m in at.markdown if m.value.startswith("### Iteration"))
    button(at, "New data").click().run()
    assert iteration(at) == 0
    assert at.number_input(key="cfg_seed").value == 1


@pytest.mark.parametrize("name,value", [("dataset", "circles"), ("classes", 5), ("points_per_class", 20),
                                        ("noise", 0.5), ("seed", 7)])
def test_data_controls_redraw_the_data(name, value):
    at = app()
    before = charts(at)
    button(at, "Step").click().run()
    widget = {"dataset": at.selectbox, "seed": at.number_input}.get(name, at.slider)(key=f"cfg_{name}")
    widget.set_value(value).run()
    assert not at.exception
    assert iteration(at) == 0
    after = charts(at)
    assert after["decision"]["data"][1:] != before["decision"]["data"][1:]  # the points changed
    if name == "classes":
        assert after["gradient_table"]["data"][0]["x"] == [f"class {k}" for k in range(5)]


@pytest.mark.parametrize("query", [
    {"reg": "0"}, {"classes": "10"}, {"points_per_class": "5"}, {"points_per_class": "10000", "classes": "10"},
    {"classes": "2", "dataset": "xor"}, {"step_size": "1000"}, {"noise": "0"},
])
def test_edge_settings_render(query):
    at = app(query)
    assert not at.exception
    button(at, "Step").click().run()
    assert not at.exception
    assert set(charts(at)) == CHARTS


def decoded(z) -> np.ndarray:
    """A heatmap's z as the browser gets it: a list, or plotly's typed array {dtype, bdata, shape}."""
    if not isinstance(z, dict):
        return np.array(z, dtype=float)
    shape = [int(n) for n in z["shape"].split(",")] if "shape" in z else [-1]
    return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).astype(float).reshape(shape)


def test_ten_classes_on_the_page_are_ten_everywhere_with_the_notes_numbers():
    """K = 10 from the link: the decision chart has a legend entry per class, 0..9; the gradient table is
    10 columns of dW's 2 rows and db, equal (to the float32 it travels in) to the notes' loop after one
    step; the history has a panel per class; the dscores chart a trace per class."""
    at = app({"classes": "10"})
    button(at, "Step").click().run()
    assert not at.exception and iteration(at) == 1
    figures = charts(at)
    legend = [t["name"] for t in figures["decision"]["data"] if t.get("showlegend")]
    assert sorted(legend) == [f"class {k}" for k in range(10)]
    table = figures["gradient_table"]["data"][0]
    assert table["x"] == [f"class {k}" for k in range(10)]
    z = decoded(table["z"])
    o = oracle(Config(classes=10), 1)
    assert z.shape == (3, 10)
    np.testing.assert_allclose(z, np.vstack([o["dW"], o["db"]]), rtol=1e-6, atol=1e-12)
    assert len([t for t in figures["gradient_history"]["data"] if t["type"] == "heatmap"]) == 10
    assert sorted({t["name"] for t in figures["dscores"]["data"] if t["name"].startswith("class ")}) == \
        [f"class {k}" for k in range(10)]


def test_divergence_says_what_to_do():
    at = app({"step_size": "1000"})
    button(at, "Step").click().run()
    (progress,) = at.get("progress")
    # on the progress bar's line, in red (a box of its own pushed the charts off a projector's first screen)
    assert progress.proto.text == ("1 of 200 iterations · :red[**diverged: the loss grew past 10 times its starting "
                                   "value**. Step size 1000 is too large: Reset, try 10 times smaller.]")


def test_settings_go_to_the_url_and_junk_gets_a_notice():
    at = app({"classes": "99", "step_size": "fast", "bogus": "1"})
    assert not at.exception
    notices = " ".join(w.value for w in at.warning)
    assert "Classes" in notices and "Step size" in notices
    assert at.query_params["classes"] == ["10"] or at.query_params["classes"] == "10"


def explain_app(query=None) -> AppTest:
    return app({"view": "Explain the gradient", **(query or {})})


def table_values(table) -> list[list[str]]:
    """The cell texts of an st.table, row by row (without the index)."""
    return table.value.astype(str).values.tolist()


def test_gradient_check_on_the_page():
    at = explain_app()
    button(at, "Step").click().run()
    button(at, "Run the gradient check").click().run()
    text = next(m.value for m in at.markdown if "largest relative error" in m.value)
    largest = float(re.search(r"\*\*([0-9.e+-]+)\*\*", text).group(1))
    assert largest <= 1e-7 and "good" in text
    check_table = table_values(at.table[-2])
    assert len(check_table) == 9  # every entry of W (2x3) and b (3)


def test_seed_lines_and_download():
    at = explain_app()
    lines = table_values(at.table[-1])
    assert lines[0][0] == "`# initialize parameters randomly`"
    assert any(row[1] == "1.096956" for row in lines)
    download = at.get("download_button")
    assert download and "script" in download[0].proto.label


def test_picked_example_follows_the_index():
    at = explain_app()
    at.number_input(key="example").set_value(250).run()
    assert not at.exception
    assert "Example 250" in " ".join(m.value for m in at.markdown)


def widget_values(at) -> dict:
    return {w.key.removeprefix("cfg_"): w.value for w in [*at.selectbox, *at.slider, *at.select_slider,
                                                            *at.number_input] if w.key and w.key.startswith("cfg_")}


def test_every_setting_round_trips_page_url_page():
    at = app()
    changes = {"dataset": "xor", "points_per_class": 37, "classes": 4, "noise": 0.35, "seed": 11, "test_share": 0.25,
               "model": "linear",
               "loss": "svm", "init": "plain", "optimizer": "momentum", "step_size": 0.2, "reg": 0.0,
               "batch_size": 16, "iterations": 900, "speed": 200.0, "refresh": 8}
    for name, value in changes.items():
        info = setting_info(name)
        w = at.selectbox if info["choices"] else {"seed": at.number_input, "iterations": at.number_input,
                                                   "batch_size": at.number_input}.get(name)
        if w is None:
            w = at.select_slider if info["log"] else at.slider
        w(key=f"cfg_{name}").set_value(value).run()
    assert not at.exception
    button(at, "Step").click().run()
    url = {k: at.query_params[k] for k in at.query_params}
    st.cache_resource.clear()  # AppTests share one session id: give the second page its own trainer
    again = app({k: (v[-1] if isinstance(v, list) else v) for k, v in url.items()})
    assert widget_values(again) == widget_values(at) == {**changes}
    # same seed, same data, same initial weights: the decision chart's points are identical
    assert charts(again)["decision"]["data"][1:] != []
    assert iteration(again) == 0
    button(again, "Step").click().run()
    assert charts(again)["gradient_table"] == charts(at)["gradient_table"]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_loads_from_the_link_and_trains(name):
    at = app({"preset": name})
    assert not at.exception
    assert PRESETS[name].sentence in " ".join(i.value for i in at.info)
    assert widget_values(at) == {k: getattr(PRESETS[name].config, k) for k in widget_values(at)}
    button(at, "Step").click().run()
    assert iteration(at) == 1


def test_choosing_a_preset_on_the_page_sets_the_controls():
    at = app()
    at.selectbox(key="preset").set_value("ten-classes").run()
    assert at.slider(key="cfg_classes").value == 10
    assert at.selectbox(key="cfg_dataset").value == "blobs"
    assert "Ten classes" in " ".join(i.value for i in at.info)


def test_a_teacher_can_hide_controls():
    at = app({"hide": "dataset,classes,presets", "classes": "5"})
    keys = {w.key for w in [*at.selectbox, *at.slider]}
    assert "cfg_dataset" not in keys and "cfg_classes" not in keys and "preset" not in keys
    assert "cfg_noise" in keys
    assert charts(at)["gradient_table"]["data"][0]["x"] == [f"class {k}" for k in range(5)]
    assert at.query_params["hide"] in ("dataset,classes,presets", ["dataset,classes,presets"])


def test_share_link_holds_every_setting():
    at = app({"seed": "4"})
    code = at.code[0].value
    assert "seed=4" in code and all(f"{name}=" in code for name in Config().to_query())


def test_server_limits_from_the_environment_clamp_with_a_notice(monkeypatch):
    monkeypatch.setenv("SOFTMAX_MAX_POINTS", "300")
    monkeypatch.setenv("SOFTMAX_MAX_CLASSES", "4")
    at = app({"points_per_class": "1000", "classes": "9"})
    assert not at.exception
    notices = " ".join(w.value for w in at.warning)
    assert "this server allows at most 4 for classes" in notices
    assert "this server allows at most 75 for points per class" in notices
    assert at.slider(key="cfg_classes").max == 4
    assert charts(at)["gradient_table"]["data"][0]["x"] == [f"class {k}" for k in range(4)]


def test_a_full_server_says_so_and_keeps_serving(monkeypatch):
    monkeypatch.setenv("SOFTMAX_MAX_RUNNING", "1")
    other = Trainer()
    other.start()
    try:
        at = app()
        button(at, "Start").click().run()
        assert not at.exception
        assert any("Cannot start right now" in w.value and "limit" in w.value for w in at.warning)
        button(at, "Step").click().run()  # stepping by hand still works
        assert iteration(at) == 1
    finally:
        other.stop()


def test_a_bad_limit_stops_the_page_with_one_line_and_no_traceback(monkeypatch):
    """app.py refuses to start on a bad variable (tests/test_limits.py); should the page run without
    it, it names the variable and its range, shows no controls and raises nothing."""
    monkeypatch.setenv("SOFTMAX_MAX_RUNNING", "lots")
    at = app()
    assert not at.exception
    message = at.error[0].value.replace("\\", "")
    assert "SOFTMAX_MAX_RUNNING must be a whole number from 1 to 1000" in message and "'lots'" in message
    assert not at.button


def test_iteration_cap_and_speed_controls():
    at = app()
    at.number_input(key="cfg_iterations").set_value(3).run()
    for _ in range(5):
        button(at, "Step").click().run()
    assert iteration(at) == 3  # the cap holds
    progress = [p.proto.text for p in at.get("progress")]
    assert progress == ["3 of 3 iterations · stopped: reached the 3-iteration limit"], progress
    at.select_slider(key="cfg_speed").set_value(1000.0).run()
    at.number_input(key="cfg_iterations").set_value(100000).run()
    button(at, "Start").click().run()
    (trainer,) = Trainer._running
    assert trainer.snapshot.config.speed == 1000.0  # the run paces itself at the chosen speed ...
    wait_for(lambda: trainer.snapshot.iteration > 100)  # ... past the old cap (how fast is bench/'s business)
    at.run()
    assert iteration(at) > 100
    button(at, "Pause").click().run()


def query(at) -> dict:
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in ((k, at.query_params[k]) for k in at.query_params)}


def test_a_preset_stays_in_the_link_while_its_settings_are_unchanged():
    at = app({"preset": "heavy-reg"})
    button(at, "Step").click().run()
    assert query(at) == {"preset": "heavy-reg"}  # a reload or a copied link keeps the exercise's question
    again = app(query(at))
    assert PRESETS["heavy-reg"].sentence in " ".join(i.value for i in again.info)
    at.select_slider(key="cfg_step_size").set_value(0.5).run()
    # changed mid-run: the exercise's run with the change in its log (issue #15), the question kept
    assert query(at) == {"preset": "heavy-reg", "log": "1:step_size=0.5"}
    button(at, "Reset").click().run()  # a new run with other settings: no longer the exercise's
    assert "preset" not in query(at) and query(at)["reg"] == "1" and query(at)["step_size"] == "0.5"


def test_start_and_step_at_the_iteration_limit_say_why_and_what_to_do():
    at = app({"iterations": "2"})
    button(at, "Step").click().run()
    button(at, "Step").click().run()
    assert iteration(at) == 2
    for label in ("Step", "Start"):
        button(at, label).click().run()
        assert iteration(at) == 2
        assert any("2-iteration limit: raise Iterations" in i.value for i in at.info), label
    diverged = app({"step_size": "1000"})
    button(diverged, "Step").click().run()
    button(diverged, "Start").click().run()
    assert any("diverged, so it cannot go on" in i.value for i in diverged.info)
