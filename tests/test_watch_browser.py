"""The Watch tab in a real browser, as a class sees it: on a 1280x720 projector and a 1600x1000
screen, light and dark, for the linear model at K = 3 and K = 10, for the 2-layer net and for
the SVM loss.

Screenshots land in test-artifacts/ (watch-CASE-WxH-SCHEME.png: the first screen;
...-board.png: the whole board). The facts a student relies on are asserted from the page
itself: what the first screen shows whole, that no numbers overlap, that the figures are
built for the theme the page shows, that the charts and the heading agree when paused, that
a click picks the point clicked, and that plotly.js comes from this server, once.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from testing.browser import button, iteration, page_server, wait_for
from testing.support import ARTIFACTS, ROOT, chromium_page, streamlit_server, wait_app_ready
from viz.style import DARK, LIGHT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CASES = {  # name: (query, iterations to run before pausing)
    "default": ("?speed=100&iterations=100000", 20),
    "ten-classes": ("?preset=ten-classes&speed=100", 20),
    "two-layer": ("?preset=two-layer", 150),
    "svm": ("?preset=svm-vs-softmax&speed=100", 20),
    "diverged": ("?preset=step-too-large", 1),  # it stops itself within a few iterations, saying why
}
SIZES = [(1280, 720), (1600, 1000)]
THEMES = {"light": LIGHT, "dark": DARK}


# What the browser holds for one chart: drawn or not, its title and text colour (what theme its
# figure was built for).
CHART = """(key) => {
  const d = document.querySelector(`.plotly-live[data-key="${key}"]`);
  if (!d || !d.layout || !d.querySelector('.main-svg')) return null;
  return {title: (d.layout.title && d.layout.title.text) || '', font: d.layout.font && d.layout.font.color};
}"""

KEYS = "() => [...document.querySelectorAll('.plotly-live')].map((d) => d.dataset.key)"

# Pairs of text boxes that overlap (by more than half a pixel each way), among the texts matched.
OVERLAPS = """([key, selector]) => {
  const d = document.querySelector(`.plotly-live[data-key="${key}"]`);
  const boxes = [...d.querySelectorAll(selector)].filter((t) => t.textContent.trim())
    .map((t) => [t.textContent, t.getBoundingClientRect()]);
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [ta, a] = boxes[i], [tb, b] = boxes[j];
    if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
        Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5) out.push([ta, tb]);
  }
  return {count: boxes.length, overlaps: out};
}"""

# The heatmap's numbers, each inside its own cell (cells: the axis length over the columns).
NUMBERS_IN_CELLS = """(key) => {
  const d = document.querySelector(`.plotly-live[data-key="${key}"]`);
  const xa = d._fullLayout.xaxis, cols = d._fullData[0].x.length;
  const cell = xa._length / cols;
  const texts = [...d.querySelectorAll('.heatmaplayer text')].filter((t) => /\\d/.test(t.textContent));
  return {cell, widest: Math.max(0, ...texts.map((t) => t.getBoundingClientRect().width)), n: texts.length};
}"""

# Charts whose title runs past their own box (clipped on the page).
TITLES_OUTSIDE = """() => [...document.querySelectorAll('.plotly-live')].filter((d) => {
  const t = d.querySelector('.gtitle'), box = d.getBoundingClientRect();
  if (!t) return false;
  const r = t.getBoundingClientRect();
  return r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1;
}).map((d) => d.dataset.key)"""

LEGEND_SCROLL = """() => Math.max(0, ...[...document.querySelectorAll('.plotly-live .legend .scrollbar')]
  .map((s) => s.getBoundingClientRect().height))"""

# The training point farthest from its nearest neighbour in the decision chart: a click there
# can hit no other point. Its index (customdata[0]) and where it is on the page.
ISOLATED_POINT = """() => {
  const div = document.querySelector(".plotly-live[data-key='decision']");
  const xa = div._fullLayout.xaxis, ya = div._fullLayout.yaxis, box = div.getBoundingClientRect();
  const points = div._fullData.filter((t) => t.type === 'scatter' && t.customdata && t._length &&
                                              !t.name.startsWith('example'))
    .flatMap((t) => Array.from({length: t._length}, (_, j) => ({index: t.customdata[j][0],
      x: box.left + xa._offset + xa.l2p(t.x[j]), y: box.top + ya._offset + ya.l2p(t.y[j])})));
  const gap = (p) => Math.min(...points.filter((q) => q !== p).map((q) => Math.hypot(p.x - q.x, p.y - q.y)));
  return points.filter((p) => p.index !== 99).reduce((best, p) => (gap(p) > gap(best) ? p : best));
}"""

# The example ringed in each chart (the ring trace's customdata), by chart key.
RINGS = """() => Object.fromEntries([...document.querySelectorAll('.plotly-live')].map((d) => [d.dataset.key,
  (d.data || []).filter((t) => (t.name || '').startsWith('example')).map((t) => t.customdata[0][0])]))"""


server = page_server()


def load(page, server: str, query: str, outside: list, scripts: list, errors: list) -> None:
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith((server, "data:", "blob:")) else outside.append(r.url))
    page.on("request", lambda r: scripts.append(r.url) if re.search(r"plotly[^/]*\.min\.js", r.url) else None)
    page.goto(f"{server}/{query}")
    wait_app_ready(page)


def run_and_pause(page, at_least: int) -> int:
    """Start, let it train past ``at_least`` iterations, Pause; the iteration it settled at."""
    wait_for(lambda: page.evaluate(CHART, "loss"), what="the loss chart drawn")
    button(page, "Start").click()
    wait_for(lambda: (iteration(page) or 0) >= at_least, timeout=120, what=f"iteration {at_least}")
    button(page, "Pause").click()
    wait_app_ready(page)
    held = wait_for(lambda: (a := iteration(page)) == (time.sleep(0.6) or iteration(page)) and a,
                    what="the heading settled")
    return held


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width,height", SIZES)
@pytest.mark.parametrize("case", list(CASES))
def test_watch_tab_reads_on_a_projector(server, case, width, height, scheme):
    query, steps = CASES[case]
    theme = THEMES[scheme]
    outside, scripts, errors = [], [], []
    with chromium_page(width, height, scheme) as page:
        load(page, server, query, outside, scripts, errors)
        held = run_and_pause(page, steps)
        keys = page.evaluate(KEYS)
        # the confusion matrix last
        expected = {"default": 6, "ten-classes": 6, "two-layer": 8, "svm": 7, "diverged": 6}[case]
        assert len(keys) == expected, keys

        # every chart drawn for the page's theme (the board asked Python for it), and showing the
        # heading's iteration now that training is paused
        def agreed():
            charts = [page.evaluate(CHART, k) for k in keys]
            return all(c and c["font"] == theme.text for c in charts) and all(
                f"iteration {held}" in page.evaluate(CHART, k)["title"] for k in ("loss", "gradient_table"))
        wait_for(agreed, what=f"every chart drawn for the {scheme} theme at iteration {held}")
        assert iteration(page) == held

        page.mouse.move(2, 2)  # no tooltip on the screenshot
        time.sleep(1.0)
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"watch-{case}-{width}x{height}-{scheme}.png"
        page.screenshot(path=str(shot))

        if (width, height) == (1280, 720):
            # the projector's first screen: the buttons, the status and the two charts a student
            # watches while it trains, whole (an exercise's sentence and "Go to iteration" included)
            boxes = {"Start": button(page, "Start").bounding_box(), "Reset": button(page, "Reset").bounding_box(),
                     "status": page.locator("h3", has_text="Iteration").first.bounding_box(),
                     "loss": page.locator(".plotly-live[data-key='loss']").bounding_box(),
                     "decision": page.locator(".plotly-live[data-key='decision']").bounding_box()}
            for name, b in boxes.items():
                assert b and b["y"] >= 0 and b["x"] >= 0, name
                assert b["y"] + b["height"] <= height and b["x"] + b["width"] <= width, (
                    f"{name} runs off the first screen at {b}: the page above the board must leave it "
                    "300 px (see the report on app.py's header)")

        # no two numbers or labels on top of each other where they crowd most
        cells = page.evaluate(NUMBERS_IN_CELLS, "gradient_table")
        if case != "two-layer":
            assert cells["n"] > 0 and cells["widest"] <= cells["cell"] - 4, cells  # numbers, inside their cells
        for key, selector in (("gradient_table", ".heatmaplayer text"), ("gradient_table", ".ytick text"),
                              ("gradient_history", ".yaxislayer-above text"), ("gradient_history", "g.annotation"),
                              ("dscores", "g.annotation"), ("decision", ".legendtext"),
                              ("loss", ".legendtext")):
            found = page.evaluate(OVERLAPS, [key, selector])
            assert not found["overlaps"], (key, selector, found["overlaps"][:5])
        # a legend fits without a scroll bar (nobody scrolls a legend on a projector); titles whole
        assert page.evaluate(LEGEND_SCROLL) == 0
        assert page.evaluate(TITLES_OUTSIDE) == []
        history = page.evaluate(OVERLAPS, ["gradient_history", ".yaxislayer-above text"])  # every panel's rows
        if case == "ten-classes":
            assert history["count"] == 30  # every class's three rows labelled: dW[0, k], dW[1, k], db[k]

        # the whole board, for a look at what is below the first screen
        page.set_viewport_size({"width": width, "height": 3200})
        time.sleep(2.5)
        page.mouse.move(2, 2)
        page.screenshot(path=str(shot.with_name(shot.stem + "-board.png")))

        assert not page.locator("[data-testid='stException']").count()
        assert not errors, errors
        assert not outside, outside  # a classroom behind a firewall: nothing from the internet
        assert len(scripts) == 1, scripts  # plotly.js once per page, from this server
        assert "/app/static/" not in scripts[0]  # the plotly package's own file, not a copy in the app


def test_a_click_picks_the_point_clicked(server):
    """Click the most isolated training point in the decision chart: every chart rings exactly it."""
    outside, scripts, errors = [], [], []
    with chromium_page(1600, 1000, "light") as page:
        load(page, server, "", outside, scripts, errors)
        wait_for(lambda: page.evaluate(CHART, "decision"), what="the decision chart drawn")
        wait_for(lambda: page.evaluate(RINGS)["decision"] == [99], what="the default example ringed")
        target = page.evaluate(ISOLATED_POINT)
        page.mouse.move(target["x"], target["y"])
        time.sleep(0.3)
        page.mouse.click(target["x"], target["y"])
        i = int(target["index"])
        # in the decision regions and in each class's dscores panel (drawn within a second: off screen)
        rings = wait_for(lambda: (r := page.evaluate(RINGS))["decision"] == [i] and r["dscores"] == [i, i, i] and r,
                         what=f"example {i} ringed")
        assert rings["loss"] == [] and rings["gradient_table"] == []
        assert not errors, errors


def test_plotly_js_from_the_route_app_py_mounts():
    """app.py's st.App mounts ui.plotly_live.plotly_js_route(): the board loads plotly.js from that route,
    the plotly package's own file, cached for a year; the app's folder is left as it was."""
    before = _app_files()
    outside, scripts, errors = [], [], []
    with streamlit_server() as (base, _proc):
        import urllib.request

        with urllib.request.urlopen(f"{base}/vendor/plotly-{_plotly_version()}.min.js", timeout=30) as r:
            assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable" and r.headers["ETag"]
            assert r.read() == _plotly_js().read_bytes()
        with chromium_page(1280, 720, "light") as page:
            load(page, base, "", outside, scripts, errors)
            wait_for(lambda: page.evaluate(CHART, "decision"), what="the charts drawn")
            assert scripts == [f"{base}/vendor/plotly-{_plotly_version()}.min.js"]
            assert not outside and not errors, (outside, errors)
    assert _app_files() == before  # nothing written into the app (a read-only deployment works)


def _app_files() -> list[tuple[str, float]]:
    """Every file of the app and its modification time (not the test logs, caches or tools' state)."""
    out = []
    for p in ROOT.rglob("*"):
        rel = p.relative_to(ROOT)
        if rel.parts[0] in ("test-artifacts", "tests") or "__pycache__" in rel.parts or any(
                part.startswith(".") and part != ".streamlit" for part in rel.parts):
            continue
        out.append((str(rel), p.stat().st_mtime))
    return sorted(out)


def _plotly_version() -> str:
    import plotly

    return plotly.__version__


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

