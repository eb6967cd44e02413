"""The live stream in headless Chromium (SOFTMAX_STREAM=1): after Start the board follows the stream,
shows the status line (the same 'Iteration N' heading and loss line as the page), and every chart is
redrawn from frames with no fragment run; Pause hands the status line back to the page at once; a run
that ends by itself redraws the page; light and dark themes."""

from __future__ import annotations

import json
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


server = page_server(env={"SOFTMAX_STREAM": "1", "SOFTMAX_STREAM_DELTAS": "1", "OPENBLAS_NUM_THREADS": "1"})


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
        # the page hands the board the status line when the stream goes live, which may be before its first frame
        wait_for(lambda: (b := board(page))["status"] and b["seq"] is not None)
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


rerun_server = page_server(env={"SOFTMAX_STREAM": "0", "OPENBLAS_NUM_THREADS": "1"})


def test_with_the_stream_off_the_board_redraws_from_fragment_reruns(rerun_server):
    """SOFTMAX_STREAM=0 (and what a page gets whose stream cannot open): no stream, the page's own heading
    moves and the charts are redrawn by fragment reruns; Pause stops them."""
    with chromium_page() as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{rerun_server}/?speed=200&iterations=100000")
        wait_app_ready(page)
        page.get_by_role("button", name="Start").click()
        wait_for(lambda: heading(page) > 0)
        first = board(page)
        wait_for(lambda: heading(page) > 200 and all(board(page)["drawn"][k] > first["drawn"].get(k, 0)
                                                     for k in ("loss", "decision")), timeout=20)
        assert board(page)["seq"] is None and board(page)["status"] is None  # no stream, no status on the board
        page.get_by_role("button", name="Pause").click()
        wait_for(lambda: page.get_by_role("button", name="Start").is_visible(), timeout=5)
        time.sleep(0.5)  # (a fragment run in flight at the click may still draw the iteration Pause stopped at)
        stopped = heading(page)
        time.sleep(1.5)
        assert heading(page) == stopped
        assert not errors, errors


def test_a_run_that_ends_by_itself_redraws_the_page(server):
    with chromium_page() as page:
        page.goto(f"{server}/?speed=2000&iterations=20000")
        wait_app_ready(page)
        page.get_by_role("button", name="Start").click()
        wait_for(lambda: board(page)["seq"] is not None)  # the board follows the stream
        wait_for(lambda: board(page)["status"] is None and heading(page) == 20000, timeout=90)
        assert page.get_by_role("button", name="Start").is_visible()


DRAWN_JS = """() => {
  const b = document.querySelector('.plotly-board');
  if (!b || !b._live || b._streamSeq == null) return null;
  const s = b._live;
  // a typed-array spec as sent (plotly.js caches its decoded array on it); what plotly.js adds ("_...") left out
  const clean = (v) => {
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === 'object') {
      if (typeof v.dtype === 'string' && 'bdata' in v) {
        const o = {dtype: v.dtype, bdata: v.bdata};
        if (v.shape !== undefined) o.shape = v.shape;
        return o;
      }
      const o = {};
      for (const k of Object.keys(v)) if (k[0] !== '_') o[k] = clean(v[k]);
      return o;
    }
    return v;
  };
  const charts = {};
  for (const d of document.querySelectorAll('.plotly-live')) {
    charts[d.dataset.key] = {data: clean(d.data || []), layout: clean(d.layout || {})};
  }
  return {seq: b._streamSeq, idle: s.queue.size === 0 && !s.frame && !s.drawing, charts};
}"""


def holds(got, want) -> bool:
    """Everything in ``want`` is in ``got``, the same (``got`` may hold more keys), but an axis's range and
    domain: plotly.js writes into the layout it was given those it drew ("reversed" becomes true and a reversed
    range; a range widened, a domain narrowed to keep an axis's scale to another's)."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in ("autorange", "range", "domain") or (k in got and holds(got[k], v))
                                             for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(holds, got, want))
    return got == want


def test_the_boards_drawn_figures_are_its_full_frame_with_the_deltas_applied(server):
    """The board draws what the stream's full frame and the deltas after it add up to (its divs' data and
    layout), as testing/frames.py applies them; tests/test_delta.py checks those are the full figures."""
    from testing.frames import Board

    with chromium_page(1400, 2600) as page:  # every chart on screen: each one drawn with its newest figure
        received = []

        def watch(ws):
            if "/_softmax/stream" in ws.url:
                ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

        page.on("websocket", watch)
        page.goto(f"{server}/?speed=200&iterations=100000&refresh=2")
        wait_app_ready(page)
        page.get_by_role("button", name="Start").click()
        # (Playwright's sync API hands over the websocket's frames while it is called: wait in it)
        wait_for(lambda: page.wait_for_timeout(100) or sum(f["type"] == "delta" for f in received) >= 4, timeout=60,
                 what="four delta frames")
        drawn = wait_for(lambda: (state := page.evaluate(DRAWN_JS)) and state["idle"] and state, timeout=30,
                         what="the board drawing its newest figures")
        wait_for(lambda: page.wait_for_timeout(100) or any(f.get("seq") == drawn["seq"] for f in received))
        board = Board()
        for frame in received:
            if frame.get("seq", -1) <= drawn["seq"]:
                board.take(frame)
        assert [f["type"] for f in received][:2] == ["frame", "delta"]
        assert set(drawn["charts"]) == set(board.charts)
        for key, chart in board.charts.items():
            want, got = chart["figure"], drawn["charts"][key]
            for i, (g, w) in enumerate(zip(got["data"], want["data"], strict=True)):
                assert g == w, (key, i, [(k, g.get(k), w.get(k)) for k in set(g) | set(w) if g.get(k) != w.get(k)])
            # (plotly.js writes what it worked out into the layout it was given: the axes' autorange and range)
            for k, v in want["layout"].items():
                g = got["layout"].get(k)
                assert k == "height" or holds(g, v), (key, k, [(j, g.get(j), v[j]) for j in v if g.get(j) != v[j]]
                                                      if isinstance(v, dict) and isinstance(g, dict) else (g, v))
        page.get_by_role("button", name="Pause").click()
