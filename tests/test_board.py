"""The board's Python side: where plotly.js comes from, which theme a set of figures is for, the layout.

The route is driven as the ASGI app it is (no server, no HTTP client); what the browser does
with all of it is tests/test_watch_browser.py's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import plotly
import pytest
from starlette.applications import Starlette

from softmax.config import Config
from softmax.runner import Trainer
from ui import plotly_live
from ui.charts import layout
from ui.plotly_live import Panel, plotly_js_route
from viz import all_figures, chart_names

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
ROUTE = f"/vendor/plotly-{plotly.__version__}.min.js"


def request(app, path: str, method: str = "GET", headers: dict[str, str] | None = None):
    """(status, headers, body) of one request to an ASGI app."""
    messages = []

    async def run():
        done = asyncio.Event()
        requested = False

        async def receive():  # the request once, then a disconnect when the response is over
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            messages.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await asyncio.wait_for(app(scope, receive, send), timeout=30)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
             "http_version": "1.1", "scheme": "http", "server": ("test", 80), "client": ("test", 1), "root_path": ""}
    asyncio.run(run())
    start = messages[0]
    return (start["status"], {k.decode(): v.decode() for k, v in start["headers"]},
            b"".join(m.get("body", b"") for m in messages[1:]))


@pytest.fixture
def route(monkeypatch):
    monkeypatch.setattr(plotly_live, "_route_mounted", False)  # restored after the test
    return plotly_js_route("")


def test_the_route_serves_the_plotly_packages_own_file_cached_for_a_year(route):
    app = Starlette(routes=[route])
    status, headers, body = request(app, ROUTE)
    assert status == 200 and body == PLOTLY_JS.read_bytes()
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["content-type"].startswith("text/javascript")
    again, _, empty = request(app, ROUTE, headers={"If-None-Match": headers["etag"]})
    assert again == 304 and empty == b""  # a reload costs no download
    assert request(app, ROUTE, "HEAD")[0] == 200
    assert request(app, "/vendor/../ui/plotly_live.py")[0] == 404  # one file, nothing beside it


def test_the_route_follows_the_base_url_and_tells_the_boards(monkeypatch):
    monkeypatch.setattr(plotly_live, "_route_mounted", False)
    assert plotly_js_route("/class/").path == "/class" + ROUTE
    assert plotly_live._route_mounted  # the boards of this process now load plotly.js from it


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_board_of_viz_figures_knows_their_theme(theme):
    figs = all_figures(Trainer(Config()).step(1), theme=theme)
    assert {plotly_live._figure_theme(f) for f in figs.values()} == {theme}
    assert plotly_live._figure_theme({"data": [], "layout": {}}) is None
    assert plotly_live._figure_theme({"data": [], "layout": {"meta": {"theme": "<script>"}}}) is None


def test_a_panels_fit_height_is_legible():
    with pytest.raises(ValueError, match="fit"):
        Panel("loss", {"data": [], "layout": {}}, 3, fit=50)
    assert '"fit":300' in Panel("loss", {"data": [], "layout": {}}, 3, fit=300).spec()
    assert '"fit":null' in Panel("loss", {"data": [], "layout": {}}, 3).spec()


@pytest.mark.parametrize("classes", [2, 3, 5, 10])
@pytest.mark.parametrize("model,loss", [("linear", "softmax"), ("linear", "svm"), ("two-layer", "softmax"),
                                        ("two-layer", "svm")])
def test_the_board_layout_puts_loss_and_decision_first_and_fills_rows(model, loss, classes):
    s = Trainer(Config(model=model, loss=loss, classes=classes, hidden=10)).step(1)
    names = chart_names(s)
    spans = {name: span for name, (span, _) in layout(names, classes).items()}
    assert names[:2] == ["loss", "decision"] and spans["loss"] == spans["decision"] == 3
    rows, row = [], 0
    for name in names:
        if row + spans[name] > 6:
            rows.append(row)
            row = 0
        row += spans[name]
    rows.append(row)
    # every row full, except the SVM's margins beside a ten-class table that needs a whole row
    gaps = sum(1 for r in rows if r != 6)
    assert gaps == (1 if loss == "svm" and model == "linear" and classes > 6 else 0), (spans, rows)
