"""Back in time and the mistakes sandbox in a real browser (issue #15), read against the command line's history.

The oracle: ``python -m softmax train --json`` (the same settings), whose history holds the loss every
10 iterations. Screenshots go to test-artifacts/ to be looked at.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from testing.browser import button, iteration, page_server, wait_for
from testing.support import ARTIFACTS, ROOT, chromium_page, wait_app_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]


server = page_server()


@pytest.fixture(scope="module")
def cli_losses() -> dict[int, float]:
    out = subprocess.run([sys.executable, "-m", "softmax", "train", "--iterations", "60", "--json"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return {h["iteration"]: h["loss"] for h in json.loads(out)["history"]}


def status_loss(page) -> str:
    text = page.get_by_text(re.compile(r"^loss \d")).first.inner_text()
    return re.search(r"loss ([0-9.]+)", text).group(1)


def trained_to_60(page, server) -> None:
    page.goto(f"{server}/?iterations=60&speed=1000")
    wait_app_ready(page)
    button(page, "Start").click()
    wait_for(lambda: iteration(page) == 60, timeout=30)
    wait_for(lambda: not page.locator("[data-testid=stSlider]", has_text="Go to iteration")
             .get_by_role("slider").is_disabled(), timeout=10)


def test_scrub_back_and_click_the_loss_curve(server, cli_losses):
    with chromium_page(1400, 1100) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        trained_to_60(page, server)
        thumb = page.locator("[data-testid=stSlider]", has_text="Go to iteration").get_by_role("slider")
        thumb.focus()
        for _ in range(40):
            page.keyboard.press("ArrowLeft")
        wait_for(lambda: iteration(page) == 20, timeout=20)
        wait_app_ready(page)
        assert status_loss(page) == f"{cli_losses[20]:.6f}"
        wait_for(lambda: page.evaluate("""() => {
            const d = document.querySelector('div.plotly-live[data-key="loss"]');
            return d && d.layout && d.layout.title.text.endsWith('iteration 20');
        }"""))
        page.screenshot(path=str(ARTIFACTS / "timeline-scrubbed.png"))
        # a click on the loss curve at iteration 40 (the curve drawn up to the shown iteration 20 -- so first
        # go back to the newest, where the whole curve is drawn)
        thumb.focus()
        page.keyboard.press("End")
        wait_for(lambda: iteration(page) == 60, timeout=20)
        wait_app_ready(page)
        wait_for(lambda: page.evaluate("""() => {  // the curve drawn whole (the browser draws when it can)
            const d = document.querySelector('div.plotly-live[data-key="loss"]');
            return d && d._fullLayout && d.layout.title.text.endsWith('iteration 60')
                && d._fullLayout.xaxis.range[1] >= 60;
        }"""))
        point = page.evaluate("""() => {
            const d = document.querySelector('div.plotly-live[data-key="loss"]');
            const box = d.getBoundingClientRect(), xa = d._fullLayout.xaxis, ya = d._fullLayout.yaxis;
            return [box.left + xa._offset + xa.l2p(40), box.top + ya._offset + ya._length / 2];
        }""")
        page.mouse.move(*point)
        page.mouse.click(*point)
        wait_for(lambda: iteration(page) == 40, timeout=20)
        wait_app_ready(page)
        assert status_loss(page) == f"{cli_losses[40]:.6f}"
        assert not errors


def test_a_mistake_turns_the_check_wrong_and_off_good(server):
    with chromium_page(1400, 1100) as page:
        page.goto(f"{server}/?view=Explain+the+gradient")
        wait_app_ready(page)
        box = page.locator("[data-testid=stSelectbox]", has_text="Make a mistake")
        box.scroll_into_view_if_needed()
        box.click()
        page.get_by_role("option", name="Forget the /N").click()
        wait_for(lambda: page.get_by_text("The check finds the gradient wrong in 9 entries").count() > 0, timeout=30)
        page.get_by_text("The check finds the gradient wrong").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "timeline-mistake.png"))
        box.click()
        page.get_by_role("option", name="None: the correct code").click()
        wait_for(lambda: page.get_by_text(re.compile(r"The gradient of the correct code at iteration 0: largest "
                                                     r"relative error \S+ — good")).count() > 0, timeout=30)
        assert page.get_by_text("The check finds the gradient wrong").count() == 0


def test_a_click_on_a_gradient_cell_rings_its_largest_terms(server):
    with chromium_page(1400, 1400) as page:
        trained_to_60(page, server)
        table = 'div.plotly-live[data-key="gradient_table"]'
        wait_for(lambda: page.evaluate(f"""() => {{ const d = document.querySelector('{table}');
            return d && d._fullLayout && d.layout.title.text.includes('iteration 60'); }}"""))
        page.locator(table).scroll_into_view_if_needed()
        point = page.evaluate(f"""() => {{
            const d = document.querySelector('{table}');
            const box = d.getBoundingClientRect(), xa = d._fullLayout.xaxis, ya = d._fullLayout.yaxis;
            return [box.left + xa._offset + xa.l2p(2), box.top + ya._offset + ya.l2p(1)];  // dW[1,2]
        }}""")
        page.mouse.move(*point)
        page.mouse.click(*point)
        wait_for(lambda: page.get_by_text("largest terms of dW[1,2]").count() > 0, timeout=20)
        rings = wait_for(lambda: page.evaluate("""() => {
            const d = document.querySelector('div.plotly-live[data-key="decision"]');
            const r = d && d.data.filter(t => (t.name || '').startsWith('pulls dW[1,2]'));
            return r && r.length ? r.reduce((n, t) => n + t.x.length, 0) : 0;
        }"""), timeout=20)
        assert rings == 8
        page.locator('div.plotly-live[data-key="decision"]').scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "timeline-cell-rings.png"))
