"""Flicker-free Plotly charts for Streamlit: one mounted plot div per key, redrawn with ``Plotly.react``.

``st.plotly_chart`` in Streamlit 1.67 gives its element an id hashed from the figure, so
every data change remounts the chart and it blanks for a moment. :func:`plotly_live` is a
small ``st.components.v2`` component instead: Streamlit keeps it mounted under its ``key``
and hands each new figure to the JavaScript below, which redraws the same div in place.
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
function themeTemplate(el) {
  const css = getComputedStyle(el);
  const v = (name) => css.getPropertyValue(name).trim();
  const text = v("--st-text-color") || "#31333f";
  const grid = v("--st-border-color-light") || "rgba(128,128,128,0.25)";
  const colors = v("--st-chart-categorical-colors").split(",").map((c) => c.trim()).filter(Boolean);
  const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid, automargin: true };
  const layout = {
    font: { color: text, family: v("--st-font") || undefined },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    margin: { l: 48, r: 16, t: 40, b: 40 },
    xaxis: axis,
    yaxis: axis,
    legend: { bgcolor: "rgba(0,0,0,0)" },
  };
  if (colors.length) layout.colorway = colors;
  return { layout };
}

export default function ({ data, parentElement, setStateValue }) {
  const msg = JSON.parse(new TextDecoder().decode(data));
  let div = parentElement.querySelector(":scope > .plotly-live");
  if (!div) {
    div = document.createElement("div");
    div.className = "plotly-live";
    div.style.width = "100%";
    parentElement.appendChild(div);
  }
  div.dataset.key = msg.key;
  div.style.height = `${msg.height}px`;
  div._plotlyLiveSetState = setStateValue;
  const seq = (div._plotlyLiveSeq = (div._plotlyLiveSeq || 0) + 1);

  loadPlotly(msg.src)
    .then((Plotly) => {
      if (seq !== div._plotlyLiveSeq) return;  // a newer figure arrived meanwhile
      // uirevision keeps a student's zoom and legend clicks across refreshes.
      const layout = { uirevision: msg.key, ...(msg.figure.layout || {}), autosize: true, height: msg.height };
      delete layout.width;
      if (msg.theme === "streamlit") layout.template = themeTemplate(parentElement);
      return Plotly.react(div, msg.figure.data || [], layout, msg.config).then(() => {
        if (div._plotlyLiveReady) return;
        div._plotlyLiveReady = true;
        div.on("plotly_click", (ev) => {
          const p = ev.points && ev.points[0];
          if (!p) return;
          div._plotlyLiveSetState("click", {
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
        div._plotlyLiveObserver = new ResizeObserver(() => {
          cancelAnimationFrame(frame);
          frame = requestAnimationFrame(() => div.isConnected && Plotly.Plots.resize(div));
        });
        div._plotlyLiveObserver.observe(div);
      });
    })
    .catch((err) => {
      div.textContent = `plotly_live: ${err}`;
      console.error(err);
    });

  // Streamlit may also call this when a newer figure overtakes a pending call, with the
  // div still on the page; so purge only once the div has really left the document.
  return () => setTimeout(() => {
    if (div.isConnected) return;
    div._plotlyLiveObserver?.disconnect();
    window.Plotly?.purge(div);
  }, 0);
}
"""

_component = st.components.v2.component("plotly_live", js=_JS, isolate_styles=False)
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


def plotly_live(
    fig: go.Figure | dict[str, Any],
    *,
    key: str,
    height: int = 400,
    theme: Literal["streamlit"] | None = "streamlit",
) -> dict[str, Any] | None:
    """Draw ``fig`` into a chart that stays mounted under ``key`` and updates in place.

    Args:
        fig: a plotly Figure (fast path) or its dict.
        key: stable, unique per chart; the element and its plot div survive reruns.
        height: chart height in pixels; the width follows the container.
        theme: ``"streamlit"`` replaces the figure's template with one drawn from the
            Streamlit theme (text, grid and series colors, transparent background);
            ``None`` keeps the figure's own template (a template must then be set
            explicitly, since Streamlit makes its placeholder template the default).

    Returns:
        The last clicked point, ``{"curve", "index", "x", "y", "customdata"}``, or
        ``None`` before the first click. A click reruns the enclosing fragment (or script).
        The value is kept in ``st.session_state[key]["click"]``.
    """
    root = _script_root()
    if root not in _ensured:
        ensure_static_plotly(root)
        _ensured.add(root)
    meta = {
        "key": key,
        "height": int(height),
        "theme": theme,
        "src": _plotly_src(st.get_option("server.baseUrlPath") or ""),
        "config": {"displayModeBar": False, "responsive": True},
    }
    # One JSON object sent as bytes: the figure JSON is spliced in, not re-encoded.
    payload = f'{json.dumps(meta)[:-1]},"figure":{figure_json(fig, keep_template=theme is None)}}}'
    result = _component(
        key=key,
        data=payload.encode(),
        height=int(height),
        on_click_change=_ignore,
    )
    return result.get("click")
