"""Flicker benchmark: blank chart boxes and drawn refreshes, st.plotly_chart vs plotly_live.

Starts ``bench/flicker_page.py`` (four charts redrawn at 5 Hz in a fragment), opens it in
headless Chromium once per mode, and samples the page every 50 ms inside the browser:

- blank: a sample in which some chart box on screen has no drawn plot (no ``.main-svg``)
  -- what a student sees as flicker; also as a share of time, timed by a MutationObserver
  (the 50 ms timer starves when the page is busy, so samples alone under-sample);
- <4 drawn: a sample in which fewer than four charts are drawn (blank or absent);
- drawn/s: changes of each chart's title (it carries the frame number) per second,
  averaged over the charts, against the frames/s the server produced.

Run: ``python -m bench.flicker [--seconds 10]``. Prints one line per mode.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from testing.support import chromium_page, streamlit_server, wait_app_ready

ROOT = Path(__file__).resolve().parent.parent

PAGE = "bench/flicker_page.py"
CHARTS = 4
BOXES = {
    "plotly_chart": "[data-testid='stPlotlyChart']",
    "plotly_live": "[data-testid='stBidiComponentRegular']",
}

# Collects samples in the page itself, so the 50 ms period does not depend on round trips.
# A busy main thread delays the timer, so a MutationObserver also times every blank spell
# (it fires after each task that changed the DOM, i.e. at every state that could be painted).
_SAMPLER = """([selector, periodMs, seconds]) => new Promise((resolve) => {
  const visible = () => [...document.querySelectorAll(selector)].filter((b) => {
    const r = b.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight;
  });
  // No layout reads here: forcing layout after every DOM change would slow the page down.
  const isBlank = () => [...document.querySelectorAll(selector)].some((b) => !b.querySelector('.main-svg'));
  const samples = [];
  const t0 = performance.now();
  let blankSince = isBlank() ? t0 : null, blankMs = 0;
  const observer = new MutationObserver(() => {
    const now = performance.now(), blank = isBlank();
    if (blank && blankSince === null) blankSince = now;
    if (!blank && blankSince !== null) { blankMs += now - blankSince; blankSince = null; }
  });
  observer.observe(document.body, { childList: true, subtree: true });
  const timer = setInterval(() => {
    const boxes = visible();
    samples.push({
      t: performance.now() - t0,
      boxes: boxes.length,
      drawn: boxes.filter((b) => b.querySelector('.main-svg')).length,
      titles: boxes.map((b) => b.querySelector('.gtitle')?.textContent ?? null),
    });
    const now = performance.now();
    if (now - t0 >= seconds * 1000) {
      clearInterval(timer);
      observer.disconnect();
      if (blankSince !== null) blankMs += now - blankSince;
      resolve({ samples, blankMs, totalMs: now - t0 });
    }
  }, periodMs);
})"""


def frame_of(title: str | None) -> int | None:
    """The frame number in a title like ``chart 2 · frame 41``."""
    return int(title.rsplit(" ", 1)[1]) if title and title[-1].isdigit() else None


def summarize(result: dict) -> dict[str, float]:
    """Blank and not-drawn fractions, blank time, drawn refreshes/s per chart, server frames/s."""
    samples = result["samples"]
    n = len(samples)
    seconds = (samples[-1]["t"] - samples[0]["t"]) / 1000
    blank = sum(s["drawn"] < s["boxes"] for s in samples) / n
    short = sum(s["drawn"] < CHARTS for s in samples) / n
    changes, frames = [], []
    for i in range(CHARTS):
        seen = [s["titles"][i] for s in samples if len(s["titles"]) == CHARTS and s["titles"][i]]
        changes.append(sum(a != b for a, b in zip(seen, seen[1:], strict=False)))
        numbers = [f for f in map(frame_of, seen) if f is not None]
        if numbers:
            frames.append(numbers[-1] - numbers[0])
    return {
        "samples": n,
        "seconds": seconds,
        "blank": blank,
        "blank_time": result["blankMs"] / result["totalMs"],
        "short": short,
        "drawn_per_s": sum(changes) / CHARTS / seconds,
        "server_per_s": (sum(frames) / len(frames) / seconds) if frames else 0.0,
    }


def measure(base: str, mode: str, seconds: float, period_ms: int = 50) -> dict[str, float]:
    """Open the page in ``mode``, wait until all charts are drawn, then sample it."""
    with chromium_page() as page:
        page.goto(f"{base}/?mode={mode}")
        wait_app_ready(page)
        page.wait_for_function(
            "([sel, n]) => [...document.querySelectorAll(sel)].filter(b => b.querySelector('.main-svg')).length >= n",
            arg=[BOXES[mode], CHARTS],
            timeout=60_000,
        )
        time.sleep(1.0)  # let the first-load work settle
        result = page.evaluate(_SAMPLER, [BOXES[mode], period_ms, seconds])
    return summarize(result)


def main() -> None:
    """Measure both modes against one server and print one line per mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--modes", nargs="+", default=list(BOXES), choices=list(BOXES))
    args = parser.parse_args()
    with streamlit_server(PAGE) as (base, _proc):
        for mode in args.modes:
            r = measure(base, mode, args.seconds)
            print(
                f"{mode:<13} blank {r['blank']:6.1%} of samples, {r['blank_time']:6.1%} of time  "
                f"<{CHARTS} drawn {r['short']:6.1%}  "
                f"drawn {r['drawn_per_s']:4.2f} refreshes/s per chart  "
                f"(server {r['server_per_s']:4.2f} frames/s; {r['samples']} samples in {r['seconds']:.1f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
