"""plotly_live in a real browser: drawn, updated in place, offline, themed, clickable."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from testing.support import ARTIFACTS, chromium_page, streamlit_server, wait_app_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE = "bench/flicker_page.py"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

ALL_DRAWN = "() => [...document.querySelectorAll('.plotly-live')].filter(d => d.querySelector('.main-svg')).length >= 4"

# What each chart shows, read back from plotly.js's own decoded data (typed arrays).
READ = """() => [...document.querySelectorAll('.plotly-live')].map((d) => {
  const t = d._fullData[0];
  const values = t.type === 'heatmap' ? t.z : t.y;
  const head = t.type === 'heatmap' ? Array.from(t.z[0]).slice(0, 5) : Array.from(t.y).slice(0, 5);
  d.__mark ??= Math.random();  // survives only if the div is never remounted
  return {key: d.dataset.key, title: d.querySelector('.gtitle').textContent,
          n: values.length, head, mark: d.__mark};
})"""

# Every plot as wide as its box (the column), within a pixel.
FITS_WIDTH = """() => [...document.querySelectorAll('.plotly-live')].every(
  (d) => Math.abs(d.querySelector('.main-svg').getBoundingClientRect().width - d.clientWidth) <= 1)"""

TITLE_FILL = "() => getComputedStyle(document.querySelector('.plotly-live .gtitle')).fill"


def is_local(url: str) -> bool:
    """True for loopback http(s) and in-page data:/blob: URLs."""
    parts = urlparse(url)
    if parts.scheme in ("data", "blob"):
        return parts.scheme == "data" or urlparse(parts.path).hostname in LOOPBACK
    return parts.hostname in LOOPBACK


def luminance(css_rgb: str) -> float:
    """0..1 brightness of ``rgb(r, g, b)``."""
    r, g, b = (int(float(c)) for c in css_rgb[css_rgb.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_plotly_live_updates_in_place_offline() -> None:
    """Four charts draw, update in place, answer clicks, fit their width and follow the theme, offline."""
    ARTIFACTS.mkdir(exist_ok=True)
    urls: list[str] = []
    with streamlit_server(PAGE) as (base, _proc):
        with chromium_page() as page:
            page.on("request", lambda r: urls.append(r.url))
            page.goto(f"{base}/?mode=plotly_live")
            wait_app_ready(page)
            page.wait_for_function(ALL_DRAWN, timeout=60_000)

            first = page.evaluate(READ)
            page.wait_for_timeout(700)
            second = page.evaluate(READ)
            assert [c["key"] for c in first] == ["chart0", "chart1", "chart2", "chart3"]
            assert [c["n"] for c in first] == [200, 100, 300, 3]  # base64 arrays decoded
            for a, b in zip(first, second, strict=True):
                assert a["mark"] == b["mark"], f"{a['key']} was remounted"
                assert a["title"] != b["title"] and a["head"] != b["head"], f"{a['key']} did not update"
            assert luminance(page.evaluate(TITLE_FILL)) < 0.4  # dark text on the light theme

            # A click on a bar comes back to Python as the function's return value.
            bar = page.locator(".plotly-live[data-key='chart3'] .point").nth(2).bounding_box()
            page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
            page.mouse.down()
            page.mouse.up()
            page.get_by_text("last click on chart 3: class 2").wait_for(timeout=10_000)
            before = page.evaluate(READ)
            page.wait_for_timeout(700)
            assert page.evaluate(READ)[0]["title"] != before[0]["title"], "refresh stopped after the click"

            page.screenshot(path=str(ARTIFACTS / "plotly_live_light.png"))

            # The plots follow their container's width; below 640 px the columns stack.
            assert page.evaluate(FITS_WIDTH)
            width = page.evaluate("() => document.querySelector('.plotly-live').clientWidth")
            page.set_viewport_size({"width": 500, "height": 1000})
            page.wait_for_function(f"() => document.querySelector('.plotly-live').clientWidth > {width + 50}")
            page.wait_for_function(FITS_WIDTH, timeout=5_000)
        plotly_loads = [u for u in urls if "plotly.min.js" in u]

        with chromium_page(color_scheme="dark") as page:
            page.on("request", lambda r: urls.append(r.url))
            page.goto(f"{base}/?mode=plotly_live")
            wait_app_ready(page)
            page.wait_for_function(ALL_DRAWN, timeout=60_000)
            assert luminance(page.evaluate(TITLE_FILL)) > 0.6  # light text on the dark theme
            page.screenshot(path=str(ARTIFACTS / "plotly_live_dark.png"))

    assert [u for u in urls if not is_local(u)] == []
    assert len(plotly_loads) == 1, plotly_loads


# Every Plotly.react call, timed: [key, start ms, frame number in the title]; optionally slowed.
SPY = """(slowMs) => {
  const P = window.Plotly, react = (window.__react0 ??= P.react);
  window.__calls = [];
  P.react = function (gd, data, layout, ...rest) {
    const start = performance.now();
    window.__calls.push([gd.dataset.key, start, Number(/frame (\\d+)/.exec(layout.title.text)[1])]);
    while (performance.now() - start < slowMs) { /* a slow browser */ }
    return react.call(this, gd, data, layout, ...rest);
  };
}"""
CALLS = "() => window.__calls"


def by_key(calls):
    out = {}
    for key, start, frame in calls:
        out.setdefault(key, []).append((start, frame))
    return out


def test_plotly_board_lays_out_and_schedules_the_drawing() -> None:
    """Two charts a row; a slow browser draws the newest figures in proportion to weight; charts off
    screen wait; a press holds the drawing so its answer is not queued behind a chart."""
    with streamlit_server(PAGE) as (base, _proc), chromium_page(width=1400, height=1000) as page:
        page.goto(f"{base}/?mode=plotly_board")
        wait_app_ready(page)
        page.wait_for_function(ALL_DRAWN, timeout=60_000)
        boxes = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.plotly-live')].map(
            (d) => [d.dataset.key, d.getBoundingClientRect().toJSON()]))""")
        assert boxes["chart0"]["top"] == boxes["chart1"]["top"] < boxes["chart2"]["top"]
        assert boxes["chart0"]["right"] <= boxes["chart1"]["left"]
        assert abs(boxes["chart0"]["width"] - boxes["chart1"]["width"]) <= 1

        # Drawing 100 ms a chart, the browser cannot draw 4 charts 5 times a second: figures are
        # skipped, never queued (frames drawn jump), and chart0 (weight 3) gets more of the draws.
        received = "() => document.querySelector('.plotly-live[data-key=chart0]')._plotlyLiveSeq"
        page.evaluate(SPY, 100)
        seq0 = page.evaluate(received)
        page.wait_for_timeout(4000)
        drawn = by_key(page.evaluate(CALLS))
        arrived = page.evaluate(received) - seq0
        counts = {k: len(v) for k, v in drawn.items()}
        assert counts["chart0"] >= 0.6 * arrived, (arrived, counts)
        assert counts["chart0"] > max(counts[k] for k in ("chart1", "chart2", "chart3")), counts
        assert sum(counts.values()) < 4 * arrived, (arrived, counts)
        frames = [f for _, f in drawn["chart3"]]
        assert any(b - a > 1 for a, b in zip(frames, frames[1:], strict=False)), frames
        assert frames == sorted(frames)

        # A press holds the drawing for a moment.
        page.evaluate(SPY, 0)
        page.wait_for_timeout(500)
        pressed = page.evaluate("""() => { document.body.dispatchEvent(new PointerEvent('pointerdown',
            {bubbles: true})); return performance.now(); }""")
        page.wait_for_timeout(1000)
        starts = [start for _, start, _ in page.evaluate(CALLS) if start > pressed]
        assert starts and min(starts) - pressed >= 250, starts[:3]

        # Off screen: the second row is redrawn about once a second, the first row with every figure.
        page.set_viewport_size({"width": 1400, "height": 300})
        page.wait_for_timeout(500)  # the page settles, the visibility observer reports
        page.evaluate(SPY, 0)
        page.wait_for_timeout(3000)
        counts = {k: len(v) for k, v in by_key(page.evaluate(CALLS)).items()}
        assert counts["chart0"] >= 8 and counts.get("chart3", 0) <= 4, counts

        # Narrow: every chart the full width, one under another.
        page.set_viewport_size({"width": 500, "height": 1000})
        page.wait_for_function("""() => { const [a, b] = [...document.querySelectorAll('.plotly-live')]
            .map((d) => d.getBoundingClientRect()); return b.top >= a.bottom; }""", timeout=5_000)
