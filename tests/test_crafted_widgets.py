"""Crafted widget values over the websocket protocol (issue #12, item 3).

A browser sends only what its widgets allow; anyone can send anything. Before: a dataset value
"evil" raised in the page on every later run (Reset did not clear it), chart-click data "x",
["abc"], NaN or 1e400 crashed the click handler, a number for a select box raised inside
Streamlit on every later run, and every traceback showed the server's paths.

Here one session of a real server gets arbitrary values of every kind for every widget the page
draws (hypothesis, derandomized), and after each: no exception element, and the page still runs.
"""

from __future__ import annotations

import asyncio
import json
import math
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.proto.WidgetStates_pb2 import WidgetState

from testing.browser import page_server
from testing.hostile import Tab, serve
from testing.support import ROOT

pytestmark = pytest.mark.slow
QUERY = "speed=200&iterations=100000"


server = page_server(launch=serve, process=True)


@pytest.fixture(scope="module")
def tab(server, loop):
    base, _ = server
    tab = Tab(base, QUERY)
    loop.run_until_complete(tab.open())
    # draw the explainer once too, so its widgets (the example index, the clickable chart) exist
    loop.run_until_complete(send(tab, [state(tab.widget("view").id, "string_value", "Explain the gradient")]))
    loop.run_until_complete(send(tab, [state(tab.widget("view").id, "string_value", "Watch it learn")]))
    yield tab
    loop.run_until_complete(drop(tab))


def state(widget_id: str, kind: str, value) -> WidgetState:
    s = WidgetState()
    s.id = widget_id
    if kind in ("double_array_value", "int_array_value", "string_array_value"):
        getattr(s, kind).data.extend(value)
    elif kind == "string_trigger_value":
        s.string_trigger_value.data = value
    else:
        setattr(s, kind, value)
    return s


async def drop(tab: Tab) -> None:
    tab.abort()
    await asyncio.gather(tab._reader, return_exceptions=True)


async def send(tab: Tab, states: list[WidgetState]) -> None:
    tab.seen.exceptions.clear()
    await tab.send_widgets(states, timeout=120)


async def still_works(tab: Tab) -> None:
    """A plain rerun (what the browser sends next) draws the page: the status heading, no exception."""
    tab.iteration = None
    await tab.rerun()
    await tab.wait_idle(120)
    assert not tab.seen.exceptions, tab.seen.exceptions
    assert tab.iteration is not None, "the page did not draw its status line"


FLOATS = st.floats(allow_nan=True, allow_infinity=True)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TEXT = st.one_of(st.text(max_size=20), st.sampled_from([
    "evil", "", "spiral", "Spiral", "xor", "Circles", "cs231n", "Explain the gradient", "1e400", "nan", "0", "-1",
    "[click me](https://evil.example)", "$x$", "<img src=x>", ":red[x]", "own", "ten-classes", "0.05", "1e-05"]))
CLICKS = st.one_of(
    st.sampled_from(["x", ["abc"], float("nan"), 1e400, None, [], {}, [[1]], [-1], [10**9], [True], [1.5]]),
    st.lists(st.one_of(INT64, FLOATS, st.text(max_size=5)), max_size=3),
).map(lambda custom: {"click": {"chart": "explain_decision", "customdata": custom, "time": 1}})
JSON = st.one_of(
    CLICKS.map(lambda v: json.dumps(v, allow_nan=True)),
    st.sampled_from(["not json", "[]", "null", "1e400", '{"click": "x"}', '{"click": []}', "{", '"s"']),
    st.recursive(st.none() | st.booleans() | INT64 | st.text(max_size=5),
                 lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
                 max_leaves=6).map(json.dumps),
)
VALUES = st.one_of(
    st.tuples(st.just("trigger_value"), st.booleans()),
    st.tuples(st.just("bool_value"), st.booleans()),
    st.tuples(st.just("double_value"), FLOATS),
    st.tuples(st.just("int_value"), INT64),
    st.tuples(st.just("string_value"), TEXT),
    st.tuples(st.just("double_array_value"), st.lists(FLOATS, max_size=3)),
    st.tuples(st.just("int_array_value"), st.lists(INT64, max_size=3)),
    st.tuples(st.just("string_array_value"), st.lists(TEXT, max_size=3)),
    st.tuples(st.just("json_value"), JSON),
    st.tuples(st.just("json_trigger_value"), JSON),
    st.tuples(st.just("bytes_value"), st.binary(max_size=8)),
    st.tuples(st.just("string_trigger_value"), TEXT),
)


LOG_SLIDERS = ("cfg_step_size", "cfg_reg", "cfg_speed")  # select sliders: their values travel as option strings
NUMBER_TEXT = st.one_of(TEXT, st.sampled_from(["1e-05", "0.0001", "0.1", "1", "2", "5", "1e+06", "1e6", "10000"]))


def native(widget) -> st.SearchStrategy:
    """Values of the type this widget's browser side sends: they pass Streamlit's checks and reach
    the page's own code, which is where a bad value used to do harm."""
    if widget.kind == "selectbox" or widget.kind == "tabs":
        return st.tuples(st.just("string_value"), TEXT)
    if widget.kind == "slider" and widget.key in LOG_SLIDERS:
        return st.tuples(st.just("string_array_value"), st.lists(NUMBER_TEXT, max_size=2))
    if widget.kind == "slider":
        return st.tuples(st.just("double_array_value"), st.lists(FLOATS, max_size=2))
    if widget.kind == "number_input":
        return st.one_of(st.tuples(st.just("double_value"), FLOATS), st.tuples(st.just("int_value"), INT64))
    if widget.kind == "bidi_component":
        return st.tuples(st.just("json_value"), JSON)
    if widget.kind == "bidi_events":
        return st.tuples(st.just("json_trigger_value"), JSON)
    return st.tuples(st.just("trigger_value"), st.booleans())


FROZEN: dict[int, list] = {}


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_widget_value_never_shows_an_exception_and_the_session_keeps_working(tab, loop, data):
    # The widgets as the first example found them, for every example: the page grows widgets as it goes (a
    # slider whose range changes is a new one), and hypothesis needs the same choices each time to replay.
    # A value sent to a widget that has since gone is a crafted value like any other.
    widgets = FROZEN.setdefault(id(tab), sorted(tab.seen.widgets.values(), key=lambda w: w.id))
    picks = []
    for widget in data.draw(st.lists(st.sampled_from(widgets), min_size=1, max_size=4)):
        # mostly the widget's own type (it reaches the page), sometimes any type at all
        picks.append((widget, data.draw(st.one_of(native(widget), native(widget), VALUES))))
    states = [state(w.id, kind, value) for w, (kind, value) in picks]
    loop.run_until_complete(send(tab, states))
    assert not tab.seen.exceptions, (picks, tab.seen.exceptions)
    loop.run_until_complete(still_works(tab))


def test_after_all_that_the_session_still_steps_and_resets(tab, loop):
    async def check():
        await still_works(tab)
        await tab.click("Reset")
        await tab.click("Step")
        assert tab.iteration == 1, tab.iteration
        assert not tab.seen.exceptions

    loop.run_until_complete(check())


@pytest.mark.parametrize("custom", ["x", ["abc"], [math.nan], [1e400], [-3], [10**12], [None], [[0]]])
def test_crafted_chart_clicks_are_no_clicks(server, loop, custom):
    """Before: each of these crashed clicked_point with a traceback."""

    async def check():
        base, _ = server
        tab = Tab(base, f"{QUERY}&view=Explain+the+gradient")
        await tab.open()
        chart = next(w for w in tab.seen.widgets.values() if w.kind == "bidi_component" and "explain" in w.id)
        await send(tab, [state(chart.id, "json_value", json.dumps({"click": {"customdata": custom, "time": 2}}))])
        assert not tab.seen.exceptions, tab.seen.exceptions
        await still_works(tab)
        await drop(tab)

    loop.run_until_complete(check())


def test_an_unknown_dataset_is_replaced_with_a_notice_and_does_not_come_back(server, loop):
    """Before: "evil" raised in the page on this run and every later one; Reset did not help."""

    async def check():
        base, _ = server
        tab = Tab(base, QUERY)
        await tab.open()
        await send(tab, [state(tab.widget("cfg_dataset").id, "string_value", "evil")])
        assert not tab.seen.exceptions, tab.seen.exceptions
        notices = " ".join(tab.seen.markdown)
        assert "Control value replaced" in notices and "evil" in notices, notices
        await still_works(tab)
        assert "evil" not in " ".join(tab.seen.markdown)  # said once; the control holds "spiral" again
        await tab.click("Step")
        assert tab.iteration == 1
        await drop(tab)

    loop.run_until_complete(check())


def test_a_value_of_the_wrong_type_is_ignored_with_a_notice(server, loop):
    """A number for a select box used to raise inside Streamlit, before the page's code, on every run."""

    async def check():
        base, _ = server
        tab = Tab(base, QUERY)
        await tab.open()
        await send(tab, [state(tab.widget("preset").id, "double_array_value", [1.0])])
        await send(tab, [state(tab.widget("preset").id, "int_value", 99)])
        assert not tab.seen.exceptions, tab.seen.exceptions
        assert "Control value ignored" in " ".join(tab.seen.markdown)
        await still_works(tab)
        await drop(tab)

    loop.run_until_complete(check())


def test_production_settings_show_no_error_details():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


# Clicks on the board's decision regions as a crafted client may send them on a page of your own points: the
# pointer's position ("at") is anything at all.
PLANE_CLICKS = st.fixed_dictionaries({
    "chart": st.sampled_from(["decision", "loss", 7, None]),
    "at": st.one_of(st.lists(st.one_of(FLOATS, INT64, st.text(max_size=3), st.none()), max_size=3), FLOATS, TEXT),
    "x": st.one_of(FLOATS, TEXT), "y": st.one_of(FLOATS, TEXT),
    "customdata": st.one_of(st.lists(st.one_of(INT64, FLOATS), max_size=2), TEXT, st.none()),
    "time": INT64,
}).map(lambda click: json.dumps({"click": click}, allow_nan=True))


@pytest.fixture(scope="module")
def own_tab(server, loop):
    base, _ = server
    tab = Tab(base, f"{QUERY}&dataset=own")
    loop.run_until_complete(tab.open())
    yield tab
    loop.run_until_complete(drop(tab))


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_crafted_values_on_a_page_of_your_own_points_never_show_an_exception(own_tab, loop, data):
    """The own-points panel's controls (what a click does, the class, Undo, Clear, the uploader) and clicks on
    the plane whose position is not a place on it."""
    tab = own_tab
    widgets = sorted(tab.seen.widgets.values(), key=lambda w: w.id)
    board = next(w for w in widgets if w.kind == "bidi_component" and w.id.endswith("charts"))
    picks = [(board, ("json_value", data.draw(PLANE_CLICKS)))]
    for widget in data.draw(st.lists(st.sampled_from(widgets), max_size=2)):
        picks.append((widget, data.draw(st.one_of(native(widget), VALUES))))
    loop.run_until_complete(send(tab, [state(w.id, kind, value) for w, (kind, value) in picks]))
    assert not tab.seen.exceptions, (picks, tab.seen.exceptions)
    loop.run_until_complete(still_works(tab))
