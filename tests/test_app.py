"""The page through Streamlit's AppTest: renders, controls do what they say, edges render."""

import json
import re
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from softmax.trainer import Trainer
from tests.support import ROOT

CHARTS = {"loss", "decision", "gradient_table", "gradient_history", "dscores"}


@pytest.fixture(autouse=True)
def stop_trainers():
    yield
    # AppTest runs every test in one process: drop the session-scoped trainers
    # (their release hook stops them) so no test sees another's run.
    st.cache_resource.clear()
    for t in list(Trainer._running):
        t.stop()
    assert Trainer.running_count() == 0


def app(query=None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def iteration(at) -> int:
    text = next(m.value for m in at.markdown if m.value.startswith("### Iteration"))
    return int(re.match(r"### Iteration (\d+)", text).group(1))


def _charts(at) -> dict[str, dict]:
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        title = spec["layout"].get("title", {}).get("text", "")
        out[title] = spec
    return out


def button(at, label):
    return next(b for b in at.button if b.label == label)


def test_renders_with_defaults():
    at = app()
    assert not at.exception
    assert iteration(at) == 0
    assert len(at.get("plotly_chart")) == len(CHARTS)
    assert "1.096919" in next(m.value for m in at.markdown if m.value.startswith("### Iteration"))
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
    time.sleep(0.5)
    at.run()
    first = iteration(at)
    assert first > 0
    button(at, "Pause").click().run()
    held = iteration(at)
    time.sleep(0.3)
    at.run()
    assert iteration(at) == held >= first


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
    before = _charts(at)
    button(at, "Step").click().run()
    widget = {"dataset": at.selectbox, "seed": at.number_input}.get(name, at.slider)(key=f"cfg_{name}")
    widget.set_value(value).run()
    assert not at.exception
    assert iteration(at) == 0
    after = _charts(at)
    decision = next(s for t, s in after.items() if t.startswith("Decision"))
    old = next(s for t, s in before.items() if t.startswith("Decision"))
    assert decision["data"][1:] != old["data"][1:]  # the points changed
    if name == "classes":
        table = next(s for t, s in after.items() if t.startswith("Gradient now"))
        assert table["data"][0]["x"] == [f"class {k}" for k in range(5)]


@pytest.mark.parametrize("query", [
    {"reg": "0"}, {"classes": "10"}, {"points_per_class": "5"}, {"points_per_class": "10000", "classes": "10"},
    {"classes": "2", "dataset": "xor"}, {"step_size": "1000"}, {"noise": "0"},
])
def test_edge_settings_render(query):
    at = app(query)
    assert not at.exception
    button(at, "Step").click().run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == len(CHARTS)


def test_divergence_says_what_to_do():
    at = app({"step_size": "1000"})
    button(at, "Step").click().run()
    assert any("too large" in e.value for e in at.error)


def test_settings_go_to_the_url_and_junk_gets_a_notice():
    at = app({"classes": "99", "step_size": "fast", "bogus": "1"})
    assert not at.exception
    notices = " ".join(w.value for w in at.warning)
    assert "Classes" in notices and "Step size" in notices
    assert at.query_params["classes"] == ["10"] or at.query_params["classes"] == "10"
