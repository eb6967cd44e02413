"""Compare in a real browser (issue #15): save two runs with other step sizes, train a third, see three loss
curves on one chart; with a held-out share, the test curves and both confusion matrices.

Screenshots land in test-artifacts/ (compare-WxH-SCHEME.png: the first screen; ...-confusion.png: the
confusion matrices), to be looked at as a class would on a projector.
"""

from __future__ import annotations

import pytest

from testing.browser import button, iteration, page_server, wait_for
from testing.support import ARTIFACTS, chromium_page, wait_app_ready
from tests.test_watch_browser import LEGEND_SCROLL, OVERLAPS, TITLES_OUTSIDE
from ui.compare import SAVE_LABEL

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOSS = 'div.plotly-live[data-key="loss"]'
CONFUSION = 'div.plotly-live[data-key="confusion"]'


server = page_server()


def loss_names(page) -> list[str] | None:
    """The loss chart's drawn traces that are loss curves (the run's own, the test loss, the saved ones)."""
    return page.evaluate(f"""() => {{
        const d = document.querySelector('{LOSS}');
        if (!d || !d._fullData || !d.querySelector('.main-svg')) return null;
        return d._fullData.map(t => t.name).filter(n => n.startsWith('loss') || n.startsWith('saved')
                                                     || n === 'test loss');
    }}""")


def set_step_size(page, presses: int) -> None:
    """Move the Step size slider by ``presses`` stops of its 1-2-5 grid (negative: smaller)."""
    thumb = page.locator("[data-testid=stSlider]", has_text="Step size").get_by_role("slider")
    thumb.focus()
    for _ in range(abs(presses)):
        page.keyboard.press("ArrowRight" if presses > 0 else "ArrowLeft")
    wait_app_ready(page)


def train(page, to: int) -> None:
    """Reset, Start, and Pause at iteration ``to`` or a little later (as a student would)."""
    button(page, "Reset").click()
    wait_for(lambda: iteration(page) == 0, timeout=30)
    wait_app_ready(page)
    button(page, "Start").click()
    wait_for(lambda: iteration(page) >= to, timeout=60)
    button(page, "Pause").click()
    wait_for(lambda: page.locator("[data-testid=stSlider]", has_text="Go to iteration").count() == 1, timeout=30)
    wait_app_ready(page)


def save(page, count: int) -> None:
    button(page, SAVE_LABEL).click()
    wait_for(lambda: len([n for n in (loss_names(page) or []) if n.startswith("saved")]) == count, timeout=30)
    wait_app_ready(page)


GEOMETRY = """(key) => { const l = document.querySelector(`div.plotly-live[data-key="${key}"]`)._fullLayout;
    return [l.xaxis.range, l.yaxis.range, l._size, (l.annotations || []).map(a => [a.text, a.x, a.y, a.yshift])]; }"""


def readable(page, key: str, selectors: tuple[str, ...]) -> None:
    """No two texts of the chart on top of each other, no legend to scroll, every title whole."""
    for selector in selectors:
        found = page.evaluate(OVERLAPS, [key, selector])
        assert found["count"] and not found["overlaps"], (key, selector, found, page.evaluate(GEOMETRY, key))
    assert page.evaluate(LEGEND_SCROLL) == 0
    assert page.evaluate(TITLES_OUTSIDE) == []
    return True


@pytest.mark.parametrize("width,height,scheme", [(1280, 720, "light"), (1600, 1000, "dark")])
def test_save_two_runs_and_see_three_curves(server, width, height, scheme):
    with chromium_page(width, height, scheme) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/?speed=50&iterations=100000&test_share=0.2")
        wait_app_ready(page)
        train(page, 40)
        save(page, 1)
        set_step_size(page, 3)  # 1 -> 2 -> 5 -> 10
        train(page, 40)
        save(page, 2)
        set_step_size(page, -6)  # 10 -> 0.1
        train(page, 40)
        names = wait_for(lambda: (n := loss_names(page)) and "loss (step 0.1)" in n and n, timeout=30)
        assert names == ["loss (step 0.1)", "test loss", "saved: step 1", "saved: step 10"]
        assert page.get_by_text("Saved for comparison, on the loss chart: step 1, step 10.").count() == 1
        shown = iteration(page)
        wait_for(lambda: page.evaluate(f"""() => {{  // the chart drawn for the iteration the status line says
            const d = document.querySelector('{LOSS}');
            return d && d._fullLayout && d.layout.title.text.endsWith('iteration {shown}'); }}"""), timeout=30)
        chips = page.evaluate(f"""() => document.querySelector('{LOSS}').layout.annotations.map(a => a.text)""")
        assert chips == ["saved: step 1", "saved: step 10"]
        page.mouse.move(2, 2)  # no tooltip on the screenshot
        page.screenshot(path=str(ARTIFACTS / f"compare-{width}x{height}-{scheme}.png"))
        readable(page, "loss", ("g.annotation", ".legendtext"))
        # the first row of charts (loss beside the decision regions) whole on the first screen
        box = page.locator(LOSS).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, box
        # both confusion matrices, counts summing to the points
        page.locator(CONFUSION).scroll_into_view_if_needed()
        sums = wait_for(lambda: page.evaluate(f"""() => {{
            const d = document.querySelector('{CONFUSION}');
            if (!d || !d.data || !d.querySelector('.main-svg')) return null;
            return d.data.map(t => [t.name, t.customdata.flat().reduce((a, b) => a + b, 0)]);
        }}"""), timeout=30)
        assert sums == [["train", 240], ["test", 60]]
        readable(page, "confusion", ("g.annotation", ".heatmaplayer text", ".xtick text", ".ytick text"))
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / f"compare-{width}x{height}-{scheme}-confusion.png"))
        assert not errors


def test_ten_classes_confusion_matrices_read_on_a_projector(server):
    with chromium_page(1280, 720, "light") as page:
        page.goto(f"{server}/?preset=ten-classes&test_share=0.2&speed=100")
        wait_app_ready(page)
        for _ in range(3):
            button(page, "Step").click()
            wait_app_ready(page)
        wait_for(lambda: iteration(page) == 3, timeout=30)
        page.locator(CONFUSION).scroll_into_view_if_needed()
        sums = wait_for(lambda: page.evaluate(f"""() => {{
            const d = document.querySelector('{CONFUSION}');
            if (!d || !d.data || !d.querySelector('.main-svg') || !d.layout.title.text.includes('iteration 3'))
                return null;
            return d.data.map(t => [t.name, t.customdata.length, t.customdata.flat().reduce((a, b) => a + b, 0)]);
        }}"""), timeout=30)
        assert sums == [["train", 10, 800], ["test", 10, 200]]
        page.mouse.move(2, 2)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "compare-ten-classes-1280x720-light-confusion.png"))
        readable(page, "confusion", ("g.annotation", ".heatmaplayer text", ".xtick text", ".ytick text"))
