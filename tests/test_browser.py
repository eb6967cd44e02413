"""The page in a real browser: Start, live charts, Pause, Step, the explainer, screenshots."""

import re
import time

import pytest

from testing.browser import button, chart_state, iteration, page_server, wait_for
from testing.support import ARTIFACTS, chromium_page, wait_app_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]


server = page_server()


# What the student sees in colour: the app's background, every chart's text fills as drawn (titles, ticks,
# legends, the table's numbers) and the charts' paper behind them.
COLOURS = """() => ({
  app: getComputedStyle(document.querySelector("[data-testid='stApp']")).backgroundColor,
  texts: [...document.querySelectorAll('.plotly-live .gtitle, .plotly-live .xtick text, .plotly-live .ytick text, '
                                       + '.plotly-live .legendtext')].map((t) => getComputedStyle(t).fill),
  papers: [...document.querySelectorAll('.plotly-live')].map((d) => d._fullLayout.paper_bgcolor),
})"""


def rgba(css: str) -> tuple[float, float, float, float]:
    parts = [float(v) for v in re.findall(r"[\d.]+", css)]
    return (*parts[:3], parts[3] if len(parts) > 3 else 1.0)


def luminance(css: str) -> float:
    """WCAG 2's relative luminance of an sRGB colour."""
    def lin(c):
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b, _ = rgba(css)
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def assert_theme_reads(page, scheme: str) -> None:
    """The page in the browser's scheme, the charts drawn for it: a dark background with light text (or
    the reverse), every chart text at 4.5:1 or more on what is behind it (the charts' paper is the page's)."""
    seen = page.evaluate(COLOURS)
    background = seen["app"]
    assert (luminance(background) < 0.05) if scheme == "dark" else (luminance(background) > 0.9), seen["app"]
    assert len(seen["texts"]) > 20
    for fill in set(seen["texts"]):
        assert contrast(fill, background) >= 4.5, (fill, background)
        assert (luminance(fill) > 0.5) if scheme == "dark" else (luminance(fill) < 0.1), fill
    for paper in seen["papers"]:
        assert rgba(paper)[3] == 0 or contrast(paper, background) < 1.1, paper  # no white box on a dark page


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_start_pause_step_and_live_charts(server, scheme):
    with chromium_page(1500, 2300, scheme) as page:
        errors, outside = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # a classroom behind a firewall: every request stays on this server
        page.on("request", lambda r: None if r.url.startswith((server, "data:", "blob:")) else outside.append(r.url))
        page.goto(f"{server}/?speed=100&iterations=100000")
        wait_app_ready(page)
        wait_for(lambda: all(chart_state(page, k) for k in ("loss", "decision", "gradient_table",
                                                              "gradient_history", "dscores")))
        assert iteration(page) == 0
        button(page, "Start").click()
        first = wait_for(lambda: iteration(page) >= 5 and iteration(page))
        before = chart_state(page, "loss")
        later = wait_for(lambda: iteration(page) > first + 20 and iteration(page))
        assert later > first
        wait_for(lambda: chart_state(page, "loss") != before)  # the chart's data changed while training
        grads = chart_state(page, "gradient_history")
        wait_for(lambda: chart_state(page, "gradient_history") != grads)
        assert_theme_reads(page, scheme)

        button(page, "Pause").click()
        wait_for(lambda: page.locator("[data-test-script-state='notRunning']").count() > 0)
        time.sleep(0.5)
        held = iteration(page)
        time.sleep(1.0)
        assert iteration(page) == held

        button(page, "Step").click()
        wait_for(lambda: iteration(page) == held + 1)
        time.sleep(0.5)
        assert iteration(page) == held + 1
        page.mouse.move(5, 5)  # no tooltip over the page in the screenshot
        time.sleep(1.0)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"page-{scheme}.png"), full_page=True)
        assert not page.locator("[data-testid='stException']").count()
        assert not errors, errors
        assert not outside, outside


def test_explainer_pick_a_point_and_check_the_gradient(server):
    with chromium_page(1500, 4300) as page:
        page.goto(server)
        wait_app_ready(page)
        for _ in range(3):
            button(page, "Step").click()
            wait_app_ready(page)
        wait_for(lambda: iteration(page) == 3)
        page.get_by_role("tab", name="Explain the gradient").click()
        wait_app_ready(page)
        wait_for(lambda: chart_state(page, "explain_decision"))
        page.wait_for_selector("div.plotly-live[data-key='explain_decision'] .scatterlayer .point")
        # click a training point drawn in the chart; the page follows it as the example
        picked = page.evaluate(
            """() => {
                const div = document.querySelector("div.plotly-live[data-key='explain_decision']");
                const xa = div._fullLayout.xaxis, ya = div._fullLayout.yaxis;
                const box = div.getBoundingClientRect();
                const points = div._fullData.filter(t => t.customdata && t.hoverinfo !== 'skip').flatMap(t =>
                    Array.from({length: t._length}, (_, j) => ({index: t.customdata[j][0],
                        x: box.left + xa._offset + xa.l2p(t.x[j]), y: box.top + ya._offset + ya.l2p(t.y[j])})));
                // the point farthest from its nearest neighbour: a click there can hit no other
                const gap = (p) => Math.min(...points.filter(q => q !== p).map(q => Math.hypot(p.x - q.x, p.y - q.y)));
                const candidates = points.filter(p => p.index !== points.length / 3 - 1);  // not the default example
                return candidates.reduce((best, p) => (gap(p) > gap(best) ? p : best));
            }"""
        )
        page.mouse.move(picked["x"], picked["y"])
        time.sleep(0.3)
        page.mouse.click(picked["x"], picked["y"])
        wait_for(lambda: page.get_by_text(f"Example {int(picked['index'])}:", exact=False).count() > 0)
        assert page.get_by_text("'s term is outer(x").count() == 1

        button(page, "Run the gradient check").click()
        text = wait_for(lambda: page.get_by_text("largest relative error").count()
                        and page.get_by_text("largest relative error").first.inner_text())
        largest = float(re.search(r"largest relative error ([0-9.e+-]+)", text).group(1))
        assert largest <= 1e-7 and "good" in text
        page.mouse.move(5, 5)
        time.sleep(1.0)
        page.screenshot(path=str(ARTIFACTS / "explainer.png"), full_page=True)
        assert not page.locator("[data-testid='stException']").count()


def test_the_two_layer_net_reaches_98_percent_and_explains_its_layers(server):
    """The notes' second half on the page: the net trains to the published 98 %, and the Explain tab shows
    its backward pass layer by layer with a passing gradient check over every parameter."""
    with chromium_page(1500, 4300) as page:
        page.goto(f"{server}/?preset=two-layer&speed=10000")
        wait_app_ready(page)
        wait_for(lambda: chart_state(page, "loss"))
        button(page, "Start").click()
        wait_for(lambda: iteration(page) == 10_000, timeout=240, interval=0.5)
        status = page.locator("h3", has_text="Iteration").first.locator("xpath=..").locator("..").inner_text()
        assert re.search(r"accuracy\s*98(\.\d)?%", status), status
        page.get_by_role("tab", name="Explain the gradient").click()
        wait_app_ready(page)
        for line in ("dhidden = np.dot(dscores, W2.T)", "dhidden[hidden_layer <= 0] = 0", "dW = np.dot(X.T, dhidden)"):
            wait_for(lambda line=line: page.get_by_text(line, exact=False).count() > 0)
        button(page, "Run the gradient check").click()
        text = wait_for(lambda: page.get_by_text("largest relative error").count()
                        and page.get_by_text("largest relative error").first.inner_text(), timeout=120)
        assert "good" in text and float(re.search(r"largest relative error ([0-9.e+-]+)", text).group(1)) <= 1e-7
        for name in ("W1", "b1", "W2", "b2"):
            assert page.get_by_text(name, exact=False).count() > 0
        page.mouse.move(5, 5)
        time.sleep(1.0)
        page.screenshot(path=str(ARTIFACTS / "explainer-two-layer.png"), full_page=True)
        assert not page.locator("[data-testid='stException']").count()
