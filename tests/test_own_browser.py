"""Your own points in a real browser: clicks on the decision regions add points, where they were clicked.

Chromium headless at /usr/bin/chromium, a server on a free loopback port stopped in teardown
(testing/support.py). The screenshot is kept in test-artifacts/ to be looked at.
"""

from __future__ import annotations

import re
import time

import pytest

from testing.browser import page_server, wait_for
from testing.support import ARTIFACTS, chromium_page, wait_app_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The page position of a point of the plane (x, y), in the decision chart; and what the chart draws.
TO_PAGE = """([x, y]) => {
    const div = document.querySelector("div.plotly-live[data-key='decision']");
    const xa = div._fullLayout.xaxis, ya = div._fullLayout.yaxis, box = div.getBoundingClientRect();
    return {x: box.left + xa._offset + xa.l2p(x), y: box.top + ya._offset + ya.l2p(y)};
}"""
DRAWN = """() => {
    const div = document.querySelector("div.plotly-live[data-key='decision']");
    if (!div || !div._fullData || !div.querySelector('.main-svg')) return null;
    return div._fullData.filter(t => t.type === 'scatter' && /^class /.test(t.name)).flatMap(t =>
        Array.from({length: t._length}, (_, j) => [t.x[j], t.y[j], t.name]));
}"""


def count(page) -> int | None:
    found = re.search(r"(\d+) training points?", page.locator("[data-testid='stMain']").inner_text())
    return int(found.group(1)) if found else None


server = page_server()


def test_clicks_on_the_plane_add_points_where_they_fall(server):
    with chromium_page(1500, 1400) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/?dataset=own&speed=20&iterations=100000")
        wait_app_ready(page)
        wait_for(lambda: page.evaluate(DRAWN) is not None)
        assert count(page) == 0
        placed = [((0.5, 0.5), 0), ((-0.5, -0.5), 1), ((0.5, -0.6), 2), ((-0.6, 0.4), 0)]
        for n, ((x, y), k) in enumerate(placed, start=1):
            if n == 3:  # the rest while training: the run goes on, on the new points
                page.get_by_role("button", name="Start", exact=True).click()
                wait_app_ready(page)
            page.get_by_role("radio", name=f"class {k}", exact=True).click()  # the class of the next point
            wait_for(lambda: page.locator("[data-test-script-state='notRunning']").count() > 0)
            at = page.evaluate(TO_PAGE, [x, y])
            page.mouse.click(at["x"], at["y"])
            wait_for(lambda n=n: count(page) == n)
        drawn = wait_for(lambda: (d := page.evaluate(DRAWN)) and len(d) == 4 and d)
        for (x, y), k in placed:  # each point where the pointer was, within a pixel or two
            assert any(abs(px - x) < 0.02 and abs(py - y) < 0.02 and name == f"class {k}" for px, py, name in drawn), \
                (x, y, k, drawn)
        time.sleep(1.5)
        page.get_by_role("button", name="Pause", exact=True).click()
        wait_app_ready(page)
        page.mouse.move(5, 5)
        time.sleep(1.0)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "own-points.png"), full_page=True)
        assert not page.locator("[data-testid='stException']").count()
        assert not errors, errors


def test_a_csv_goes_up_through_the_server_and_comes_back_down(server, tmp_path):
    """The uploader's file passes the server's guard (ui/server.py caps uploads, it no longer refuses them),
    and the download button gives the points back, byte for byte what was loaded (written by the page)."""
    csv = b"x1,x2,label\n0.5,0.5,0\n-0.5,0.25,1\n0.125,-0.75,2\n0.25,0.25,0\n"
    path = tmp_path / "mine.csv"
    path.write_bytes(csv)
    with chromium_page(1500, 1400) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/?dataset=own")
        wait_app_ready(page)
        page.get_by_text("Load or save your points as a CSV file").click()
        page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(path))
        wait_for(lambda: count(page) == 4)
        wait_app_ready(page)
        with page.expect_download() as download:
            page.locator("[data-testid='stDownloadButton']", has_text="Download these points").locator(
                "button, a").first.click()
        saved = tmp_path / "back.csv"
        download.value.save_as(saved)
        assert saved.read_bytes() == csv
        assert not errors, errors
