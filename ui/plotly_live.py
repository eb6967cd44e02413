"""Flicker-free Plotly charts for Streamlit: mounted plot divs, redrawn in place with ``Plotly.react``.

``st.plotly_chart`` in Streamlit 1.67 gives its element an id hashed from the figure, so
every data change remounts the chart and it blanks for a moment. :func:`plotly_board` is a
small ``st.components.v2`` component instead: Streamlit keeps it mounted under its ``key``
and hands each new set of figures to its JavaScript (``board.js``, styled by ``board.css``,
beside this file), which redraws the same divs in place, laid out on a six-column grid.
:func:`plotly_live` is a board of one chart. Figures are still built in Python; only the
drawing moves to the browser.

plotly.js is loaded once per page from the copy the plotly package ships, read where the
package is installed: from :func:`plotly_js_route` when the app mounts it (``st.App``), else
as Streamlit component assets. Nothing is fetched from the internet, and nothing is written
into the app's folder (a read-only deployment works).
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import plotly
import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components
from plotly.utils import PlotlyJSONEncoder
from streamlit import runtime

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

HERE = Path(__file__).resolve().parent
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# The plotly package pins the plotly.js it ships: its version busts browser caches.
ROUTE = f"/vendor/plotly-{plotly.__version__}.min.js"
# Bound once: plotly's graph_objects resolves each attribute lazily (~6 µs a lookup), and a stream's frame
# asks a dozen times.
Figure = go.Figure
_ASSETS = "plotly_js"  # the component-asset fallback's name (see _plotly_src)

_component = st.components.v2.component(
    "plotly_live", js=(HERE / "board.js").read_text(encoding="utf-8"),
    css=(HERE / "board.css").read_text(encoding="utf-8"), isolate_styles=False)
_route_mounted = False


def plotly_js_route(base_url_path: str | None = None) -> Route:
    """A Starlette route serving the plotly package's own ``plotly.min.js``, for ``st.App(routes=[...])``.

    Nothing is copied or written: the file is read from the installed package, so a read-only
    deployment works. Served with an ETag and a year's ``immutable`` cache (the URL carries
    the plotly version), so a reload costs no download. ``base_url_path`` defaults to the
    ``server.baseUrlPath`` option. Calling this tells the boards of this process to load
    plotly.js from the route; without it they use Streamlit's component assets (see
    ``_plotly_src``).
    """
    global _route_mounted
    from starlette.responses import FileResponse, Response
    from starlette.routing import Route

    stat = PLOTLY_JS.stat()  # the installed package does not change under a running server
    cache = {"Cache-Control": "public, max-age=31536000, immutable"}

    async def plotly_js(request: Request) -> Response:
        response = FileResponse(PLOTLY_JS, media_type="text/javascript", stat_result=stat, headers=cache)
        if request.headers.get("if-none-match") == response.headers["etag"]:  # a revalidation: no body
            return Response(status_code=304, headers={**cache, "ETag": response.headers["etag"]})
        return response

    base = st.get_option("server.baseUrlPath") if base_url_path is None else base_url_path
    _route_mounted = True
    return Route(_prefix(base) + ROUTE, plotly_js, methods=["GET", "HEAD"])


def _prefix(base_url_path: str) -> str:
    base = (base_url_path or "").strip("/")
    return f"/{base}" if base else ""


_registries: weakref.WeakSet = weakref.WeakSet()


def _plotly_src() -> str:
    """Where this page loads plotly.js from: the route, if this process mounted it, else the plotly
    package's folder served as a (v1) component's assets at ``/component/...``, which needs
    no route and no file written, for a page run with a plain ``streamlit run``. That folder
    holds only the package's own public files (plotly.js, its templates and sample datasets);
    the component route answers with ``Cache-Control: public`` and no ETag, so a reload
    downloads plotly.js again (1.5 MB gzipped), where the route answers 304."""
    prefix = _prefix(st.get_option("server.baseUrlPath") or "")
    if _route_mounted:
        return prefix + ROUTE
    # Registered once per runtime (a test may start several), from inside a script run.
    registry = runtime.get_instance().component_registry if runtime.exists() else None
    if registry is not None and registry not in _registries:
        components.declare_component(_ASSETS, path=str(PLOTLY_JS.parent))
        _registries.add(registry)
    return f"{prefix}/component/{__name__}.{_ASSETS}/{PLOTLY_JS.name}?v={plotly.__version__}"


def figure_json(fig: go.Figure | dict[str, Any], *, keep_template: bool = False) -> str:
    """The figure as compact JSON for ``Plotly.react``; numpy arrays as base64 typed arrays.

    ``to_plotly_json`` (a deep copy) already turns numpy arrays into
    ``{"dtype", "bdata", "shape"}`` specs that plotly.js decodes itself; the encoder
    handles what is left (numpy scalars, NaN -> null, dates). The template is dropped
    unless kept: it is most of a small figure, and the page supplies a themed one.
    """
    return to_json(figure_spec(fig, keep_template=keep_template))


class _OnePass(PlotlyJSONEncoder):
    """plotly's encoder without its second pass. That pass (parse the text and dump it again, to turn NaN
    into null) runs whenever "NaN" or "Infinity" appears anywhere in the text, and base64 arrays spell
    "NaN" by chance: about one whole frame in three at K = 3. Here a float that is not finite raises
    instead (``allow_nan=False``), and only then does ``to_json`` take plotly's way."""

    def encode(self, o: Any) -> str:
        return json.JSONEncoder.encode(self, o)


def to_json(value: Any) -> str:
    """Compact JSON of a figure's spec (or of anything holding figures' parts: a stream's delta); NaN and
    infinities as null, as plotly.py writes them."""
    try:
        return json.dumps(value, cls=_OnePass, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere
        return json.dumps(value, cls=PlotlyJSONEncoder, separators=(",", ":"))


def figure_spec(fig: go.Figure | dict[str, Any], *, keep_template: bool = False) -> dict[str, Any]:
    """What ``figure_json`` encodes: the figure's dict with new top-level containers (the caller's figure is
    untouched), no template unless kept, no trace ``uid``."""
    if isinstance(fig, Figure):
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
    return spec


def _ignore() -> None:
    """Callback that lets the ``click`` state exist; the rerun itself is the event."""


@dataclass(frozen=True)
class Panel:
    """One chart of a board: its key (unique in the board), figure, width, height and weight.

    ``span`` is how many of the board's six columns the chart takes (6: the full width);
    ``height`` in pixels, by default the figure's own ``layout.height`` or 400. ``weight``
    matters only when the browser cannot draw every figure it is sent: each chart then
    gets a share of the draws in proportion to its weight. ``fit``: a smallest height;
    the chart is then made no taller than the first screen leaves below the board's top (the
    charts that must show whole on a projector), and no shorter than ``fit``.
    """

    key: str
    figure: go.Figure | dict[str, Any]
    span: int = 6
    height: int | None = None
    weight: float = 1.0
    fit: int | None = None

    def __post_init__(self) -> None:
        if not (1 <= self.span <= 6 and self.weight > 0) or (self.fit is not None and self.fit < 100):
            raise ValueError(f"panel {self.key!r}: span must be 1 to 6, weight positive, fit at least 100")

    def meta(self) -> dict[str, Any]:
        """The chart's place on the board: ``{"key", "span", "height", "weight", "fit"}``."""
        fig = self.figure
        layout = fig.layout.to_plotly_json() if isinstance(fig, Figure) else fig.get("layout", {})
        return {"key": self.key, "span": int(self.span), "height": int(self.height or layout.get("height") or 400),
                "weight": float(self.weight), "fit": None if self.fit is None else int(self.fit)}

    def spec(self) -> str:
        """The chart's JSON up to its figure's (``{"key": .., ..., "figure":``): the figure is spliced in."""
        return json.dumps(self.meta(), separators=(",", ":"))[:-1] + ',"figure":'


def plotly_board(
    panels: list[Panel],
    *,
    key: str,
    theme: Literal["streamlit"] | None = "streamlit",
    built_for: Literal["light", "dark"] | None = None,
    stream: dict[str, Any] | None = None,
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
        built_for: the theme ("light" or "dark") whose colours the figures use, if any (by
            default the one their ``layout.meta.theme`` names, as viz's figures do). When the
            page shows the other one, the board reports it (``browser_theme(key)``) and the
            enclosing fragment reruns, to build the figures again for it.
        stream: where the board follows a live stream of frames (ui/stream.py, docs/stream.md):
            ``{"url", "token", "live", "status"}``. While ``live``, the board opens the websocket,
            draws each frame's charts in these divs and ``status`` (then each frame's) above them,
            reports the first frame as its ``stream`` state (the token) and the server's "stopped"
            as its ``stopped`` trigger; both rerun the enclosing fragment.

    Returns:
        The last clicked point, ``{"chart", "curve", "index", "x", "y", "customdata"}``
        (``chart``: the panel's key), or ``None`` before the first click. A click reruns
        the enclosing fragment (or script); the value is kept in
        ``st.session_state[key]["click"]``.
    """
    if built_for is None:
        named = {_figure_theme(p.figure) for p in panels}
        built_for = named.pop() if len(named) == 1 else None
    meta = {
        "key": key,
        "theme": theme,
        "built_for": built_for,
        "src": _plotly_src(),
        "config": {"displayModeBar": False, "responsive": True},
    }
    if stream is not None:
        meta["stream"] = stream
    # One JSON object sent as bytes: the figures' JSON is spliced in, not re-encoded.
    payload = charts_message(meta, panels, keep_template=theme is None)
    result = _component(key=key, data=payload.encode(), on_click_change=_ignore, on_theme_change=_ignore,
                        on_stream_change=_ignore, on_stopped_change=_ignore, on_visible_change=_ignore)
    return result.get("click")


def charts_message(meta: dict[str, Any], panels: list[Panel], *, keep_template: bool = False) -> str:
    """``meta`` (a JSON object) with the panels as its ``charts`` list: the board's message, and the
    stream's frame (ui/stream.py). The figures' JSON is spliced in, not re-encoded."""
    charts = ",".join(f"{p.spec()}{figure_json(p.figure, keep_template=keep_template)}}}" for p in panels)
    head = json.dumps(meta)[:-1]
    return f'{head}{"," if len(head) > 1 else ""}"charts":[{charts}]}}'


def _figure_theme(fig: go.Figure | dict[str, Any]) -> str | None:
    """The theme a figure says it was built for (``layout.meta.theme``), or None."""
    layout = fig.layout.to_plotly_json() if isinstance(fig, Figure) else fig.get("layout", {})
    meta = layout.get("meta")
    theme = meta.get("theme") if isinstance(meta, dict) else None
    return theme if theme in ("light", "dark") else None


def browser_theme(key: str) -> str:
    """"dark" or "light": the theme the page shows, as the board under ``key`` last reported it
    (Streamlit's own guess before the board has drawn). Build the board's figures for it."""
    state = st.session_state.get(key)
    reported = state.get("theme") if hasattr(state, "get") else None
    if reported in ("light", "dark"):
        return reported
    guess = st.context.theme.type
    return guess if guess in ("light", "dark") else "light"


def plotly_live(
    fig: go.Figure | dict[str, Any],
    *,
    key: str,
    height: int = 400,
    theme: Literal["streamlit"] | None = "streamlit",
    built_for: Literal["light", "dark"] | None = None,
) -> dict[str, Any] | None:
    """Draw ``fig`` into a chart that stays mounted under ``key`` and updates in place.

    A board of one chart, as wide as its container; see :func:`plotly_board`.
    Returns the last clicked point (``{"chart", "curve", "index", "x", "y", "customdata"}``)
    or ``None``.
    """
    return plotly_board([Panel(key, fig, 6, height)], key=key, theme=theme, built_for=built_for)
