"""The hardened page in Chromium (issue #12, items 2 and 6).

- Links cannot put markup on the page: every query parameter carrying Markdown, HTML, LaTeX,
  autolinks or Streamlit directives shows up as plain text -- no link, image or KaTeX from it,
  no request to anywhere else (item 2; before, ``?seed=[click me](https://evil.example/p)`` drew
  a clickable link and ``![i](http://127.0.0.1:9/track.png)`` made every visitor fetch it).
- The page works fully under its Content-Security-Policy: it trains and draws (WebGL included),
  explains with KaTeX, takes a chart click, shares its link and downloads its script, with no
  CSP violation at all (item 6).
- No other site may frame it, unless the operator lists the site in SOFTMAX_FRAME_ANCESTORS.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import time
from urllib.parse import urlencode

import pytest

from softmax.config import SETTINGS
from testing.hostile import serve
from testing.support import chromium_page, free_port, wait_app_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PARAMETERS = [*SETTINGS, "preset", "hide", "view", "bogus"]
PAYLOADS = {  # kind -> (payload, a piece of it the notice must show literally)
    "markdown": ("[click me](https://evil.example/p) ![i](http://127.0.0.1:9/track.png)", "[click me]"),
    "html": ('<a href="https://evil.example/h">x</a><img src="http://127.0.0.1:9/h.png">', "<a href="),
    "latex": (r"$\frac{1}{2}$ $$x^2$$ \(y\)", "frac{1}{2}"),
    "autolinks": ("https://evil.example/b www.evil.example a@evil.example :red[big] :material/warning:",
                  "https://evil.example/b"),
    "reference": ("[x][1]\n\n[1]: https://evil.example/r\n# heading", "[x][1]"),
}
WATCH = """() => {
  const origin = location.origin, out = {links: [], images: [], katex: 0, alerts: []};
  for (const a of document.querySelectorAll('a[href]'))
    if (new URL(a.href, location.href).origin !== origin) out.links.push(a.href);
  for (const img of document.querySelectorAll('img'))
    if (img.src && !img.src.startsWith(origin) && !img.src.startsWith('data:')) out.images.push(img.src);
  out.katex = document.querySelectorAll('.katex').length;
  for (const el of document.querySelectorAll('[data-testid=stAlert]')) out.alerts.push(el.innerText);
  out.violations = window.__violations || [];
  return out;
}"""
VIOLATIONS = ("document.addEventListener('securitypolicyviolation', e => (window.__violations ??= [])"
              ".push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));")


@pytest.fixture(scope="module")
def server():
    with serve() as (base, _proc):
        yield base


def watch(page, base: str, outside: list[str]) -> None:
    page.add_init_script(VIOLATIONS)
    page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:")) else outside.append(r.url))


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_every_link_parameter_is_shown_as_plain_text(server, kind):
    payload, shown = PAYLOADS[kind]
    with chromium_page(1400, 1400) as page:
        outside: list[str] = []
        watch(page, server, outside)
        page.goto(f"{server}/?{urlencode({name: payload for name in PARAMETERS})}")
        wait_app_ready(page)
        page.wait_for_selector("[data-testid=stAlert]")
        time.sleep(1.0)  # let any image or font a payload might name start loading
        seen = page.evaluate(WATCH)
    assert seen["links"] == [] and seen["images"] == [], seen
    assert seen["katex"] == 0, seen  # the Watch tab has no formula of its own: any KaTeX came from a link
    assert seen["violations"] == [] and outside == [], (seen["violations"], outside)
    # the notices quote what the link said, literally (values are cut at 40 characters)
    alerts = "\n".join(seen["alerts"]).replace("\u2060", "")  # (the invisible joiner ui/text.py adds)
    assert shown in alerts, alerts


def test_the_page_works_under_its_content_security_policy(server):
    with chromium_page(1400, 1800) as page:
        outside: list[str] = []
        errors: list[str] = []
        watch(page, server, outside)
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/?speed=100&iterations=100000")
        wait_app_ready(page)
        page.get_by_role("button", name="Start", exact=True).click()
        page.wait_for_function("() => document.querySelectorAll('.plotly-live .main-svg').length >= 5")
        time.sleep(2)  # a few refreshes, the WebGL panels included
        page.get_by_role("tab", name="Explain the gradient").click()
        page.wait_for_selector(".katex")
        chart = page.locator("div.plotly-live").first
        chart.wait_for()
        box = chart.bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        page.get_by_role("button", name="Pause", exact=True).click()
        page.get_by_text("Copy link to this setup").click()
        with page.expect_download() as download:
            page.get_by_role("button", name="Download this run as a Python script").click()
        assert download.value.suggested_filename == "softmax_run.py"
        time.sleep(1)
        seen = page.evaluate(WATCH)
        webgl = page.evaluate("() => !!document.createElement('canvas').getContext('webgl')")
    assert seen["katex"] > 0
    assert seen["violations"] == [] and errors == [], (seen["violations"], errors)
    assert outside == []
    print(f"\nno CSP violation; WebGL available: {webgl}")


@contextlib.contextmanager
def framing_site(app_url: str):
    """Another origin (a second port) whose page frames the app."""
    html = f'<!doctype html><iframe src="{app_url}" width="1000" height="700"></iframe>'.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def framed(site: str) -> tuple[bool, list[str]]:
    """Open the framing site; True if the app drew inside its frame, and the console's refusals."""
    with chromium_page(1200, 900) as page:
        refusals: list[str] = []
        page.on("console", lambda m: refusals.append(m.text) if "frame-ancestors" in m.text else None)
        page.goto(site)
        frame = page.frame_locator("iframe")
        try:
            frame.locator("[data-testid=stApp]").wait_for(timeout=30_000)
            return True, refusals
        except Exception:
            return False, refusals


def test_no_other_site_may_frame_the_page():
    with serve() as (base, _proc):
        with framing_site(f"{base}/") as site:
            shown, refusals = framed(site)
    assert not shown and refusals, "another site framed the page"


def test_a_site_the_operator_lists_may_frame_the_page():
    app_port = free_port()  # the framing site must be named before the app starts
    with framing_site(f"http://127.0.0.1:{app_port}/") as site:
        with serve(env={"SOFTMAX_FRAME_ANCESTORS": site}, port=app_port) as (base, _proc):
            assert base.endswith(f":{app_port}")
            shown, refusals = framed(site)
    assert shown and not refusals, refusals
