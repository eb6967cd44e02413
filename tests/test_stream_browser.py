"""The live stream in headless Chromium (SOFTMAX_STREAM=1): after Start the board follows the stream,
shows the status line (the same 'Iteration N' heading and loss line as the page), and every chart is
redrawn from frames with no fragment run; Pause hands the status line back to the page at once; a run
that ends by itself redraws the page; light and dark themes."""

from __future__ import annotations

import re
import time

import pytest

from testing.browser import page_server, wait_for
from testing.support import chromium_page, wait_app_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOARD_JS = """() => {
  const b = document.querySelector('.plotly-board');
  const st = document.querySelector('.plotly-board-status');
  const drawn = {};
  for (const d of document.querySelectorAll('.plotly-live')) drawn[d.dataset.key] = d._plotlyLiveDrawnAt || 0;
  return {seq: b ? (b._streamSeq ?? null) : null, status: st ? st.innerText : null,
          headings: [...document.querySelectorAll('h3')].map((h) => h.textContent).filter((t) => /Iteration/.test(t)),
          drawn};
}"""


server = page_server(env={"SOFTMAX_STREAM": "1", "OPENBLAS_NUM_THREADS": "1"})


def board(page) -> dict:
    return page.evaluate(BOARD_JS)


def heading(page) -> int:
    text = page.locator("h3", has_text="Iteration").first.inner_text()
    return int(re.search(r"Iteration (\d+)", text).group(1))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_board_follows_the_stream_and_pause_hands_the_status_back(server, scheme):
    with chromium_page(1400, 2600, color_scheme=scheme) as page:  # every chart on screen
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/?speed=200&iterations=100000")
        wait_app_ready(page)
        page.get_by_role("button", name="Start").click()
        wait_for(lambda: board(page)["status"])  # the board drew a frame and the page handed it the status line
        first = board(page)
        time.sleep(2.0)
        later = board(page)
        assert later["seq"] > first["seq"], (first, later)
        assert len(later["headings"]) == 1, later["headings"]  # the page's own heading is gone meanwhile
        assert heading(page) > int(re.search(r"Iteration (\d+)", first["headings"][0]).group(1))
        status = page.locator("h3", has_text="Iteration").first.locator("xpath=..").locator("..").inner_text()
        line = r"loss\s*\d\.\d{6}\s*=\s*data\s*\d\.\d{6}\s*\+\s*reg\s*\S+\s*·\s*accuracy\s*\d+\.\d%"
        assert re.search(line, status), status
        # the charts a student watches redrawn from frames (a bound, no rate: this software-rendered browser on
        # a busy machine may take seconds over the costlier panels, which the board draws by weight)
        watched = ("loss", "decision", "gradient_table")
        wait_for(lambda: all(board(page)["drawn"][k] > first["drawn"].get(k, 0) for k in watched), timeout=20)
        page.get_by_role("button", name="Pause").click()
        wait_for(lambda: board(page)["status"] is None, timeout=5)
        stopped = heading(page)
        time.sleep(1.0)
        assert heading(page) == stopped
        assert len(board(page)["headings"]) == 1
        assert not errors, errors


def test_a_run_that_ends_by_itself_redraws_the_page(server):
    with chromium_page() as page:
        page.goto(f"{server}/?speed=2000&iterations=20000")
        wait_app_ready(page)
        page.get_by_role("button", name="Start").click()
        wait_for(lambda: board(page)["seq"] is not None)  # the board follows the stream
        wait_for(lambda: board(page)["status"] is None and heading(page) == 20000, timeout=90)
        assert page.get_by_role("button", name="Start").is_visible()
