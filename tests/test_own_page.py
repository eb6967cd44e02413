"""Your own points on the page (AppTest): an empty plane, points by hand, CSV in and out, links."""

from __future__ import annotations

import json
import re
import warnings

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import ROOT

pytestmark = pytest.mark.usefixtures("stop_trainers")

EXPLAIN = "Explain the gradient"


def app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "page.py"), default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def button(at, label):
    return next(b for b in at.button if b.label == label)


def text(at) -> str:
    return "\n".join([*(m.value for m in at.markdown), *(i.value for i in at.info), *(c.value for c in at.caption)])


def charts(at) -> dict[str, dict]:
    out = {}
    for el in at.get("bidi_component"):
        for chart in json.loads(el.proto.bytes)["charts"]:
            out[chart["key"]] = chart["figure"]
    return out


def test_an_empty_plane_draws_every_chart_and_the_explain_tab():
    """Choosing "Your own points" on a fresh page: no points yet, and nothing breaks (CI caught a crash here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        at = app()
        at.selectbox(key="cfg_dataset").set_value("own").run()
        assert not at.exception
        button(at, "Reset").click().run()
        button(at, "Step").click().run()
        assert not at.exception
        assert re.search(r"### Iteration 1\b", text(at))
        assert "Add points" in text(at)
        figs = charts(at)
        assert {"loss", "decision", "gradient_table", "gradient_history", "dscores"} <= set(figs)
        x0, x1 = figs["decision"]["layout"]["xaxis"]["range"]
        assert x0 < -1 and x1 > 1  # the empty plane shows the square [-1, 1]²
        at.session_state["view"] = EXPLAIN
        at.run()
        assert not at.exception
        assert "Add points" in text(at)
