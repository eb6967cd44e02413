"""Flicker-free Plotly charts for Streamlit: mounted plot divs, redrawn in place with ``Plotly.react``.

``st.plotly_chart`` in Streamlit 1.67 gives its element an id hashed from the figure, so
every data change remounts the chart and it blanks for a moment. :func:`plotly_board` is a
small ``st.components.v2`` component instead: Streamlit keeps it mounted under its ``key``
and hands each new set of figures to the JavaScript below, which redraws the same divs in
place, laid out on a six-column grid. :func:`plotly_live` is a board of one chart.
Figures are still built in Python; only the drawing moves to the browser.

plotly.js is loaded once per page from the copy the plotly package ships, served by
Streamlit's static file serving (``server.enableStaticServing = true``) at
``/app/static/plotly.min.js``; nothing is fetched from the internet.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import plotly
import plotly.graph_objects as go
import streamlit as st
from plotly.utils import PlotlyJSONEncoder

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
STATIC_NAME = "plotly.min.js"

# Runs in the page (isolate_styles=False, so parentElement is an ordinary div). Streamlit
# calls the default export on mount and again, on the same parentElement, whenever `data`
# changes; the cleanup it returns runs only when the element is removed.
_JS = r"""
const LOADS = (window.__plotlyLiveLoads ??= {});

function loadPlotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  LOADS[src] ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => { delete LOADS[src]; reject(new Error(`could not load ${src}`)); };
    document.head.appendChild(script);
  });
  return LOADS[src];
}

// A template from the Streamlit theme's CSS variables, so light and dark both read well.
// The same object while the theme stays: plotly.js then sees an unchanged template.
let templateCache = { key: null, template: null };
function themeTemplate(el) {
  const css = getComputedStyle(el);
  const v = (name) => css.getPropertyValue(name).trim();
  const text = v("--st-text-color") || "#31333f";
  const grid = v("--st-border-color-light") || "rgba(128,128,128,0.25)";
  const font = v("--st-font");
  const palette = v("--st-chart-categorical-colors");
  const key = [text, grid, font, palette].join("|");
  if (templateCache.key === key) return templateCache.template;
  const colors = palette.split(",").map((c) => c.trim()).filter(Boolean);
  const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid, automargin: true };
  const layout = {
    font: { color: text, family: font || undefined },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    margin: { l: 48, r: 16, t: 40, b: 40 },
    xaxis: axis,
    yaxis: axis,
    legend: { bgcolor: "rgba(0,0,0,0)" },
  };
  if (colors.length) layout.colorway = colors;
  templateCache = { key, template: { layout } };
  return templateCache.template;
}

// WebGL traces (many points) where the browser has WebGL, SVG ones where it has not.
let webgl = null;
function withoutWebGL(traces) {
  webgl ??= (() => {
    try { return !!document.createElement("canvas").getContext("webgl"); } catch (e) { return false; }
  })();
  return webgl ? traces : traces.map((t) => (t.type === "scattergl" ? { ...t, type: "scatter" } : t));
}

// Charts not on screen are redrawn at most this often (ms): a projector shows the top of the
// page; a full-page screenshot or a scroll still finds every chart drawn and recent.
const HIDDEN_MS = 1000;

// Draw one queued chart per animation frame, always its newest figure: the page stays
// responsive between charts (a Pause click is handled at once), and figures that arrive
// faster than the browser draws are skipped rather than queued. When the browser cannot
// draw everything, each chart gets a share of drawing time in proportion to its weight
// (stride scheduling on the measured cost): the charts a student watches keep up, the
// costly panels update less often.
// A chart off screen waits.
function schedule(board) {
  const s = board._live;
  if (!s.frame) s.frame = requestAnimationFrame(() => drawNext(board));
}

// A press or a key holds the drawing for a moment, so what answers it (a click's rerun,
// the heading it brings) is not queued behind a chart being drawn: Pause feels immediate.
const INPUT_HOLD_MS = 300;
if (!window.__plotlyLiveInput) {
  window.__plotlyLiveInput = { until: 0 };
  const hold = () => { window.__plotlyLiveInput.until = performance.now() + INPUT_HOLD_MS; };
  document.addEventListener("pointerdown", hold, true);
  document.addEventListener("keydown", hold, true);
}

function drawNext(board) {
  const s = board._live;
  s.frame = 0;
  if (!board.isConnected) return;
  const now = performance.now();
  const held = window.__plotlyLiveInput.until - now;
  if (held > 0) {
    clearTimeout(s.held);
    s.held = setTimeout(() => schedule(board), held);
    return;
  }
  let next = null;
  for (const [key, job] of s.queue) {
    const div = job.div;
    if (!div.isConnected) { s.queue.delete(key); continue; }
    if (!div._plotlyLiveVisible && div._plotlyLiveDrawnAt && now - div._plotlyLiveDrawnAt < HIDDEN_MS) continue;
    if (!next || div._plotlyLivePass < next.div._plotlyLivePass) next = job;
  }
  if (next) {
    s.queue.delete(next.chart.key);
    draw(board, next).finally(() => s.queue.size && schedule(board));
  } else if (s.queue.size && !s.wake) {  // only hidden charts wait: look again when one is due
    s.wake = setTimeout(() => { s.wake = 0; schedule(board); }, HIDDEN_MS);
  }
}

function draw(board, { div, chart, msg }) {
  return loadPlotly(msg.src)
    .then((Plotly) => {
      if (!div.isConnected) return;
      // uirevision keeps a student's zoom and legend clicks across refreshes.
      const layout = { uirevision: chart.key, ...(chart.figure.layout || {}), autosize: true, height: chart.height };
      delete layout.width;
      if (msg.theme === "streamlit") layout.template = themeTemplate(board);
      const started = performance.now();
      return Plotly.react(div, withoutWebGL(chart.figure.data || []), layout, msg.config).then(() => {
        div._plotlyLiveDrawnAt = performance.now();
        div._plotlyLivePass += (div._plotlyLiveDrawnAt - started) / chart.weight;
        if (div._plotlyLiveReady) return;
        div._plotlyLiveReady = true;
        div.on("plotly_click", (ev) => {
          const p = ev.points && ev.points[0];
          if (!p) return;
          board._live.setState("click", {
            chart: chart.key,
            curve: p.curveNumber,
            index: p.pointIndex ?? p.pointNumber ?? null,
            x: p.x ?? null,
            y: p.y ?? null,
            // a row of a typed array would reach Python as {"0": ..}: send a plain list
            customdata: ArrayBuffer.isView(p.customdata) ? Array.from(p.customdata) : (p.customdata ?? null),
            time: Date.now(),  // tells a new click from the last one, even on the same point
          });
        });
        let frame = 0;
        div._plotlyLiveResize = new ResizeObserver(() => {
          cancelAnimationFrame(frame);
          frame = requestAnimationFrame(() => div.isConnected && Plotly.Plots.resize(div));
        });
        div._plotlyLiveResize.observe(div);
      });
    })
    .catch((err) => {
      div.textContent = `plotly_live: ${err}`;
      console.error(err);
    });
}

export default function ({ data, parentElement, setStateValue }) {
  const msg = JSON.parse(new TextDecoder().decode(data));
  let board = parentElement.querySelector(":scope > .plotly-board");
  if (!board) {
    board = document.createElement("div");
    board.className = "plotly-board";
    parentElement.appendChild(board);
    board._live = { queue: new Map(), frame: 0, wake: 0 };
    board._live.seen = new IntersectionObserver((entries) => {
      for (const e of entries) e.target._plotlyLiveVisible = e.isIntersecting;
      schedule(board);
    });
  }
  const s = board._live;
  s.setState = setStateValue;
  const keys = new Set(msg.charts.map((c) => c.key));
  for (const div of [...board.children]) {
    if (!keys.has(div.dataset.key)) forget(board, div);
  }
  msg.charts.forEach((chart, i) => {
    let div = [...board.children].find((d) => d.dataset.key === chart.key);
    if (!div) {
      div = document.createElement("div");
      div.className = "plotly-live";
      div.dataset.key = chart.key;
      // a new chart starts level with the others' drawing time, first in line
      const passes = [...board.children].map((d) => d._plotlyLivePass);
      div._plotlyLivePass = passes.length ? Math.min(...passes) : 0;
      s.seen.observe(div);
    }
    if (board.children[i] !== div) board.insertBefore(div, board.children[i] ?? null);
    div.style.gridColumn = `span ${chart.span}`;
    div.style.height = `${chart.height}px`;
    div._plotlyLiveSeq = (div._plotlyLiveSeq || 0) + 1;  // figures received (benchmarks read it)
    s.queue.set(chart.key, { div, chart, msg });
  });
  schedule(board);

  // Streamlit may also call this when a newer figure overtakes a pending call, with the
  // board still on the page; so purge only once it has really left the document.
  return () => setTimeout(() => {
    if (board.isConnected) return;
    for (const div of [...board.children]) forget(board, div);
    s.seen.disconnect();
    clearTimeout(s.wake);
    clearTimeout(s.held);
    cancelAnimationFrame(s.frame);
  }, 0);
}

function forget(board, div) {
  board._live.queue.delete(div.dataset.key);
  board._live.seen.unobserve(div);
  div._plotlyLiveResize?.disconnect();
  window.Plotly?.purge(div);
  div.remove();
}
"""

# Six grid columns: a chart spans some of them; in a narrow column (a phone, a sidebar
# layout) every chart takes the whole width, as st.columns would stack.
_CSS = """
.plotly-board {
  container-type: inline-size;
  display: grid;
  grid-template-columns: repeat(6, minmax(0, 1fr));
  gap: 0.5rem 1rem;
}
.plotly-board > .plotly-live { width: 100%; min-width: 0; }
@container (max-width: 720px) {
  .plotly-board > .plotly-live { grid-column: 1 / -1 !important; }
}
"""

_component = st.components.v2.component("plotly_live", js=_JS, css=_CSS, isolate_styles=False)
_ensured: set[Path] = set()


def ensure_static_plotly(root: Path) -> Path:
    """Copy the plotly package's ``plotly.min.js`` to ``root/static/`` if missing or stale.

    ``root`` is the folder of the page's main script (Streamlit serves ``root/static/``
    at ``/app/static/``). Staleness is judged by size; the copy is written to a temporary
    file and renamed, so concurrent servers never serve half a file. Returns the path.
    """
    dest = Path(root) / "static" / STATIC_NAME
    if dest.is_file() and dest.stat().st_size == PLOTLY_JS.stat().st_size:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".plotly-", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(PLOTLY_JS, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _script_root() -> Path:
    """Folder of the running page's main script (where Streamlit looks for ``static/``)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return _folder(ctx.main_script_path if ctx is not None else None)


@functools.lru_cache(maxsize=8)
def _folder(main_script: str | None) -> Path:
    # Resolving a path touches the file system: once per script, not once per chart and refresh.
    return Path(main_script).resolve().parent if main_script else Path.cwd()


@functools.lru_cache(maxsize=8)
def _plotly_src(base_url_path: str) -> str:
    """URL of the served plotly.js under ``server.baseUrlPath``; the file size busts caches."""
    base = base_url_path.strip("/")
    prefix = f"/{base}" if base else ""
    return f"{prefix}/app/static/{STATIC_NAME}?v={PLOTLY_JS.stat().st_size}"


def figure_json(fig: go.Figure | dict[str, Any], *, keep_template: bool = False) -> str:
    """The figure as compact JSON for ``Plotly.react``; numpy arrays as base64 typed arrays.

    ``to_plotly_json`` (a deep copy) already turns numpy arrays into
    ``{"dtype", "bdata", "shape"}`` specs that plotly.js decodes itself; the encoder
    handles what is left (numpy scalars, NaN -> null, dates). The template is dropped
    unless kept: it is most of a small figure, and the page supplies a themed one.
    """
    if isinstance(fig, go.Figure):
        spec = fig.to_plotly_json()
    else:
        # A dict is taken as already valid: plotly.py's validation would cost more
        # than building the figure. Copy the top level so the caller's dict is untouched.
        spec = {**fig, "layout": dict(fig.get("layout", {})), "data": [dict(t) for t in fig.get("data", [])]}
    layout = spec.setdefault("layout", {})
    if not keep_template:
        layout.pop("template", None)
    for trace in spec.get("data", []):
        trace.pop("uid", None)
    return json.dumps(spec, cls=PlotlyJSONEncoder, separators=(",", ":"))


def _ignore() -> None:
    """Callback that lets the ``click`` state exist; the rerun itself is the event."""


@dataclass(frozen=True)
class Panel:
    """One chart of a board: its key (unique in the board), figure, width, height and weight.

    ``span`` is how many of the board's six columns the chart takes (6: the full width);
    ``height`` in pixels, by default the figure's own ``layout.height`` or 400. ``weight``
    matters only when the browser cannot draw every figure it is sent: each chart then
    gets a share of the drawing time in proportion to its weight.
    """

    key: str
    figure: go.Figure | dict[str, Any]
    span: int = 6
    height: int | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not (1 <= self.span <= 6 and self.weight > 0):
            raise ValueError(f"panel {self.key!r}: span must be 1 to 6 and weight positive")

    def spec(self) -> str:
        fig = self.figure
        layout = fig.layout.to_plotly_json() if isinstance(fig, go.Figure) else fig.get("layout", {})
        height = int(self.height or layout.get("height") or 400)
        return (f'{{"key":{json.dumps(self.key)},"span":{int(self.span)},"height":{height},'
                f'"weight":{float(self.weight)!r},"figure":')


def plotly_board(
    panels: list[Panel],
    *,
    key: str,
    theme: Literal["streamlit"] | None = "streamlit",
) -> dict[str, Any] | None:
    """Draw several charts as one element that stays mounted under ``key`` and updates in place.

    One element for a page's charts costs the server one element per refresh instead of one
    per chart (plus the columns that would lay them out), and lets the browser schedule the
    drawing: one chart per animation frame, always its newest figure, charts off screen at
    most once a second.

    Args:
        panels: the charts, in reading order; they flow left to right over six columns.
        key: stable and unique on the page; the element and its plot divs survive reruns.
        theme: ``"streamlit"`` replaces each figure's template with one drawn from the
            Streamlit theme (text, grid and series colors, transparent background);
            ``None`` keeps the figures' own templates.

    Returns:
        The last clicked point, ``{"chart", "curve", "index", "x", "y", "customdata"}``
        (``chart``: the panel's key), or ``None`` before the first click. A click reruns
        the enclosing fragment (or script); the value is kept in
        ``st.session_state[key]["click"]``.
    """
    root = _script_root()
    if root not in _ensured:
        ensure_static_plotly(root)
        _ensured.add(root)
    meta = {
        "key": key,
        "theme": theme,
        "src": _plotly_src(st.get_option("server.baseUrlPath") or ""),
        "config": {"displayModeBar": False, "responsive": True},
    }
    # One JSON object sent as bytes: the figures' JSON is spliced in, not re-encoded.
    keep = theme is None
    charts = ",".join(f"{p.spec()}{figure_json(p.figure, keep_template=keep)}}}" for p in panels)
    payload = f'{json.dumps(meta)[:-1]},"charts":[{charts}]}}'
    result = _component(key=key, data=payload.encode(), on_click_change=_ignore)
    return result.get("click")


def plotly_live(
    fig: go.Figure | dict[str, Any],
    *,
    key: str,
    height: int = 400,
    theme: Literal["streamlit"] | None = "streamlit",
) -> dict[str, Any] | None:
    """Draw ``fig`` into a chart that stays mounted under ``key`` and updates in place.

    A board of one chart, as wide as its container; see :func:`plotly_board`.
    Returns the last clicked point (``{"chart", "curve", "index", "x", "y", "customdata"}``)
    or ``None``.
    """
    return plotly_board([Panel(key, fig, 6, height)], key=key, theme=theme)
