"""What the browser tests (tests/test_*browser*.py) share: polling, the page's buttons, its
``Iteration N`` heading, what the browser holds for a chart; and the server fixture of a module
that drives a real server (the browser tests, the websocket clients of test_stream and
test_crafted_widgets)."""

from __future__ import annotations

import re
import time

import pytest

from testing.support import streamlit_server


def wait_for(cond, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``cond`` until it returns something true, and return that; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met in {timeout} s")


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def iteration(page) -> int | None:
    """The number in the page's ``Iteration N`` heading (None while it reads otherwise)."""
    text = page.locator("h3", has_text="Iteration").first.inner_text()
    found = re.search(r"Iteration (\d+)", text)
    return int(found.group(1)) if found else None


def chart_state(page, key: str) -> str | None:
    """What the browser holds for one chart: its title and its first trace's data (base64 typed array)."""
    return page.evaluate(
        """(key) => {
            const div = document.querySelector(`div.plotly-live[data-key="${key}"]`);
            if (!div || !div.data || !div.querySelector('.main-svg')) return null;
            const t = div.data[0], v = t.z || t.y;
            return JSON.stringify([div.layout.title && div.layout.title.text, v && (v.bdata || v)]);
        }""",
        key,
    )


def page_server(env: dict | None = None, *, launch=streamlit_server, process: bool = False):
    """A module-scoped fixture: the app served by ``launch`` (``support.streamlit_server``, or
    ``hostile.serve``: BLAS on one thread) with ``env``, for the module's tests; yields its URL, or
    (URL, Popen) with ``process``."""
    @pytest.fixture(scope="module")
    def server():
        with launch(env=env) as (base, proc):
            yield (base, proc) if process else base

    return server
