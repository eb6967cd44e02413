"""Charts of the input plane: the decision regions, the hidden layer's ReLU regions, the SVM's margins.

Every point trace carries ``customdata`` rows whose first entry is the point's index in the
training set, so a click on any of them picks that exact example; the picked example is
ringed in every chart that shows points.
"""

from __future__ import annotations

import functools
import threading
import weakref

import numpy as np

from softmax.config import OWN
from softmax.models.base import top_class
from softmax.snapshot import Snapshot

from .style import (
    HEAT,
    SMALL_FONT,
    Theme,
    axis,
    class_color,
    colorbar,
    layout,
    rgba,
    sequential,
    sig,
    theme_of,
    title,
    typed,
)

GRID = 100  # cells a side of the plane's grid: 10 000 cells, 10 KB as uint8
# A net evaluates H hidden units at every cell: 80 a side keeps its decision regions near 4 ms
# of the frame's 15 (H = 100), and the hidden layer's count of units on, drawn smoothed under
# the units' exact boundary lines, needs fewer still.
NET_GRID = 80
HIDDEN_GRID = 48
CONFIDENCE_LEVELS = 8  # shades of each class colour in the decision regions
MAX_POINTS = 1500  # points drawn per chart; larger datasets are thinned evenly
LEGEND_MANY_FONT = 12  # ten classes' legend: its 10 entries within a 300 px chart


HOME = (-1.0, 1.0)  # the square [-1, 1]² always shown of a user's own plane (and of a plane with no points)


def plane_bounds(X: np.ndarray, pad: float = 0.15, home: bool = False) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of the input plane shown: the data's box (X (N, 2)) plus a margin.

    With ``home`` (a user's own points) or no points at all, the box holds the square [-1, 1]²
    too: an empty plane has a place to put the first point, and the plane does not jump as
    points are added inside it."""
    X = np.asarray(X, dtype=float).reshape(-1, 2)
    if len(X) == 0:
        lo, hi = np.full(2, HOME[0]), np.full(2, HOME[1])
    else:
        lo, hi = X.min(axis=0), X.max(axis=0)
        if home:
            lo, hi = np.minimum(lo, HOME[0]), np.maximum(hi, HOME[1])
    span = np.maximum(hi - lo, 1e-9) * pad
    return float(lo[0] - span[0]), float(hi[0] + span[0]), float(lo[1] - span[1]), float(hi[1] + span[1])


_last_bounds = threading.local()  # each thread's last (weak reference to a snapshot, its bounds): a frame asks
# ~2K times, and the stream's builders take turns between students' snapshots


def snap_bounds(snap: Snapshot) -> tuple[float, float, float, float]:
    """The plane a snapshot's charts show: a user's own points with [-1, 1]² in it, unless they are in units
    of their own (standardized for the model: the square means nothing there)."""
    ref, bounds = getattr(_last_bounds, "last", (None, None))
    if ref is not None and ref() is snap:
        return bounds
    t = snap.transform
    bounds = plane_bounds(snap.points, home=snap.config.dataset == OWN and t.center == (0.0, 0.0)
                          and t.scale == (1.0, 1.0))
    _last_bounds.last = (weakref.ref(snap), bounds)
    return bounds


@functools.lru_cache(maxsize=64)
def plane_grid(bounds: tuple[float, float, float, float], n: int = GRID) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid's x (n,) and y (n,) coordinates over ``bounds`` and its points (n*n, 2), row by row (y major).
    Read-only, and kept for the next frame of the same plane (a run's points stay put: every frame asks)."""
    x0, x1, y0, y1 = bounds
    gx, gy = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    xx, yy = np.meshgrid(gx, gy)
    out = gx, gy, np.c_[xx.ravel(), yy.ravel()]
    for a in out:
        a.flags.writeable = False
    return out


def shown_points(snap: Snapshot, most: int = MAX_POINTS, picked: int | None = None) -> np.ndarray:
    """Indices of the points to draw (sorted): all of them, or an even thinning of a large dataset
    that keeps the picked example, so that its ring is never empty."""
    n = len(snap.y)
    if n <= most:
        return np.arange(n)
    idx = np.linspace(0, n - 1, most).astype(int)
    i = valid_pick(snap, picked)
    return idx if i is None else np.union1d(idx, [i])


def valid_pick(snap: Snapshot, picked: int | None) -> int | None:
    """``picked`` if it is the index of a training point of this snapshot (an int), else None."""
    if isinstance(picked, bool) or not isinstance(picked, (int, np.integer)):
        return None
    return int(picked) if 0 <= picked < len(snap.y) else None


def ring_trace(snap: Snapshot, picked: int | None, th: Theme, xaxis: str = "x", yaxis: str = "y",
               label: bool = True) -> dict | None:
    """A ring around the picked example, in the theme's text colour (the most contrast there is)."""
    i = valid_pick(snap, picked)
    if i is None:
        return None
    x, y = (float(v) for v in snap.points[i])
    return {
        "type": "scatter", "mode": "markers+text" if label else "markers", "name": f"example {i}",
        "x": [x], "y": [y], "xaxis": xaxis, "yaxis": yaxis, "customdata": [[i]],
        "marker": {"symbol": "circle-open", "size": 24, "color": th.text, "line": {"width": 3, "color": th.text}},
        # the label on the side of the point away from the nearer edge: never clipped
        "text": [f"i = {i}"] if label else None,
        "textposition": "top left" if x > float(np.mean(snap_bounds(snap)[:2])) else "top right",
        "cliponaxis": False,
        "textfont": {"color": th.text, "size": SMALL_FONT + 2, "weight": "bold", "shadow": "auto"},
        "hovertemplate": f"example {i} (the one the Explain tab follows)<extra></extra>", "showlegend": False,
    }


def _plane_axes(th: Theme, bounds: tuple[float, float, float, float]) -> dict:
    x0, x1, y0, y1 = bounds
    return {"xaxis": axis(th, "x₁", range=[x0, x1], constrain="domain"),
            "yaxis": axis(th, "x₂", range=[y0, y1], scaleanchor="x", constrain="domain")}


def _legend_entry(name: str, color: str, symbol: str, th: Theme, group: str | None = None) -> dict:
    """A legend-only entry: it stays when its class has no point in some trace (all wrong, say)."""
    return {"type": "scatter", "mode": "markers", "name": name, "x": [None], "y": [None],
            "legendgroup": group or name, "hoverinfo": "skip",
            "marker": {"color": color, "symbol": symbol, "size": 10, "line": {"width": 1, "color": th.background}}}


def _legend(th: Theme, entries: int) -> dict:
    """Beside the square plot. Ten classes in a smaller type, packed: the list must fit the plot's
    height even when the first row is fitted to a projector's screen (300 px), or plotly.js
    gives it a scroll bar, which nobody can use on a projector."""
    many = entries > 6
    # maxheight in px (plotly.js's default caps a vertical legend at the plot's height): the list
    # may run on into the margin below rather than grow a scroll bar
    return {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1.0, "yanchor": "top", "tracegroupgap": 0,
            "font": {"size": LEGEND_MANY_FONT if many else SMALL_FONT}, "itemclick": "toggle",
            "bgcolor": "rgba(0,0,0,0)", "maxheight": 400}


def _class_values(snap: Snapshot) -> tuple[str, np.ndarray]:
    """What a point's hover lists per class: softmax probabilities, or the SVM's scores."""
    if "probs" in snap.parts:
        return "p", snap.parts["probs"]
    return "s", snap.parts["scores"]


@functools.lru_cache(maxsize=16)
def _region_scale(K: int) -> tuple[tuple[float, str], ...]:
    """The decision regions' colour scale: code class * CONFIDENCE_LEVELS + level -> the class colour, paler
    for a lower level (the same for every frame of K classes: built once)."""
    n_codes = K * CONFIDENCE_LEVELS
    return tuple((code / max(n_codes - 1, 1), rgba(class_color(code // CONFIDENCE_LEVELS),
                                                    0.12 + 0.6 * (code % CONFIDENCE_LEVELS + 1) / CONFIDENCE_LEVELS))
                 for code in range(n_codes))


def decision_figure(snap: Snapshot, picked: int | None = None, theme: str | Theme = "light") -> dict:
    """The input plane coloured by predicted class (paler where less sure), the points on top.

    Grid: GRID x GRID cells (NET_GRID for a model with a hidden layer); a cell's value is
    class * CONFIDENCE_LEVELS + confidence level, drawn with a colour scale of K * CONFIDENCE_LEVELS
    translucent class colours. Confidence is the model's softmax probability of its top class
    (for the SVM: of its scores). The picked example (an index into the training set) is ringed.
    """
    th = theme_of(theme)
    K = snap.K
    n = GRID if first_layer(snap) is None else NET_GRID
    gx, gy, cells_xy = plane_grid(snap_bounds(snap), n)
    pred, p_top = top_class(snap.model.scores(snap.theta, snap.transform(cells_xy)))  # (cells,), through the features
    # confidence from 1/K (a toss-up) to 1 (certain), in CONFIDENCE_LEVELS steps
    conf = np.nan_to_num((p_top - 1.0 / K) / (1.0 - 1.0 / K))
    level = np.clip((conf * CONFIDENCE_LEVELS).astype(int), 0, CONFIDENCE_LEVELS - 1)
    cells = (pred * CONFIDENCE_LEVELS + level).reshape(n, n)
    n_codes = K * CONFIDENCE_LEVELS
    scale = [list(stop) for stop in _region_scale(K)]
    traces = [{
        "type": "heatmap", "x": typed(gx), "y": typed(gy), "z": typed(cells, "u1"),
        "zmin": 0, "zmax": n_codes - 1, "colorscale": scale, "showscale": False,
        # no label, but a click on the plane is reported (where a user's new point goes); a point
        # within reach of the pointer is still nearer than the cell under it, and is the one clicked
        "hoverinfo": "none",
        "zsmooth": False,
    }]
    idx = shown_points(snap, picked=picked)
    letter, values = _class_values(snap)
    per_line = 5  # a hover of ten classes in two lines, not one too wide for the chart
    listing = "".join(("<br>" if k % per_line == 0 else " · ") + f"{letter}{k} %{{customdata[{k + 1}]:.4g}}"
                      for k in range(K))
    wrong = snap.parts["scores"].argmax(axis=1) != snap.y
    # the shown points grouped by trace (class k, right then wrong: group 2k + wrong), in one sort
    group = snap.y[idx] * 2 + wrong[idx]
    order = np.argsort(group, kind="stable")
    ends = np.searchsorted(group[order], np.arange(2 * K + 1)).tolist()
    xy = snap.points[idx[order]].astype(np.float32)
    custom = np.column_stack((idx[order], values[idx[order]]))
    for k in range(K):
        # The class's legend entry rides on its first trace with points: on the misclassified
        # one when every point of the class is wrong (plotly.js leaves an empty trace out of the
        # legend). No legend-only traces: every scatter trace here draws training points.
        listed = False
        for miss in (False, True):
            mine = slice(ends[2 * k + miss], ends[2 * k + miss + 1])
            legend = not listed and mine.stop > mine.start
            listed = listed or legend
            traces.append({
                "type": "scatter", "mode": "markers", "name": f"class {k}", "legendgroup": f"class {k}",
                "showlegend": legend,
                "x": typed(xy[mine, 0]), "y": typed(xy[mine, 1]),
                "customdata": typed(custom[mine]),
                "marker": {"color": class_color(k), "size": 11 if miss else 9, "symbol": "x" if miss else "circle",
                           "line": {"width": 1, "color": th.background}},
                "hovertemplate": f"point %{{customdata[0]}}, class {k}{' (misclassified)' if miss else ''}"
                                 f"{listing}<extra></extra>",
            })
    ring = ring_trace(snap, picked, th)
    if ring:
        traces.append(ring)
    wrong_count = int(np.sum(wrong))
    out = layout(
        th,
        title=title(f"Decision regions: {wrong_count} of {len(snap.y)} wrong (✕)"),
        legend=_legend(th, K),
        margin={"l": 60, "r": 10, "t": 50, "b": 50},
        hovermode="closest",
        **_plane_axes(th, snap_bounds(snap)),
    )
    return {"data": traces, "layout": out}


def first_layer(snap: Snapshot) -> tuple[str, str] | None:
    """Names of the weights (D, H) and bias (H,) of a hidden layer fed by the plane, or None (no hidden layer)."""
    shapes = snap.layout.shapes
    if len(shapes) < 4 or not hasattr(snap.model, "hidden"):
        return None
    (w, w_shape), (b, b_shape) = shapes[0], shapes[1]
    if len(w_shape) == 2 and w_shape[0] == snap.D and b_shape == (w_shape[1],) and w != snap.model.output:
        return w, b
    return None


def unit_lines(W: np.ndarray, b: np.ndarray, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Where each unit's pre-activation x·W[:, j] + b[j] is zero, clipped to the plane: (H, 2, 2) endpoints.

    W (2, H), b (H,). A unit whose line misses the box (always on or always off there) gets NaN.
    """
    x0, x1, y0, y1 = bounds
    a, c, d = W[0], W[1], b  # a*x + c*y + d = 0
    H = len(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        cand = np.stack([
            np.stack([np.full(H, x0), -(a * x0 + d) / c], axis=1),
            np.stack([np.full(H, x1), -(a * x1 + d) / c], axis=1),
            np.stack([-(c * y0 + d) / a, np.full(H, y0)], axis=1),
            np.stack([-(c * y1 + d) / a, np.full(H, y1)], axis=1),
        ], axis=1)  # (H, 4, 2)
    eps = 1e-9 * max(x1 - x0, y1 - y0)
    inside = (np.isfinite(cand).all(axis=2) & (cand[..., 0] >= x0 - eps) & (cand[..., 0] <= x1 + eps)
              & (cand[..., 1] >= y0 - eps) & (cand[..., 1] <= y1 + eps))
    out = np.full((H, 2, 2), np.nan)
    direction = np.stack([-c, a], axis=1)  # along the line
    for j in np.flatnonzero(inside.sum(axis=1) >= 2):
        pts = cand[j][inside[j]]
        t = pts @ direction[j]
        lo, hi = pts[np.argmin(t)], pts[np.argmax(t)]
        if np.hypot(*(hi - lo)) > eps:
            out[j] = lo, hi
    return out


def hidden_figure(snap: Snapshot, picked: int | None = None, theme: str | Theme = "light") -> dict:
    """How the hidden layer cuts the plane: over a grid (HIDDEN_GRID a side), how many ReLU units are
    on, and each unit's boundary x·W1[:, j] + b1[j] = 0 (on on one side, off on the other), the points on top.

    The count at each cell comes from the model's own ``hidden(theta, X)``; the lines from the
    first layer's weights and bias, read by name and shape.
    """
    th = theme_of(theme)
    names = first_layer(snap)
    if names is None:
        raise ValueError("hidden_figure needs a model with a hidden layer fed by the plane")
    wn, bn = names
    W, b = snap.params[wn], snap.params[bn]
    H = W.shape[1]
    gx, gy, cells_xy = plane_grid(snap_bounds(snap), HIDDEN_GRID)
    on = np.count_nonzero(snap.model.hidden(snap.theta, snap.transform(cells_xy)) > 0, axis=0).reshape(
        HIDDEN_GRID, HIDDEN_GRID)
    bounds = snap_bounds(snap)
    # a unit's boundary x.W1[:, j] + b1[j] = 0 is a line in the plane only when the model sees the plane as it is
    lines = unit_lines(W, b, bounds) if snap.transform.identity else np.full((H, 2, 2), np.nan)  # (H, 2, 2)
    # one trace for every line: NaN after each segment breaks the polyline into H segments
    seg = np.concatenate([lines, np.full((H, 1, 2), np.nan)], axis=1).reshape(-1, 2)
    crossing = int(np.sum(np.isfinite(lines[:, 0, 0])))
    dead = int(np.sum(~(snap.parts["hidden"] > 0).any(axis=0)))  # on for no training point: no gradient
    traces = [
        {"type": "heatmap", "x": typed(gx), "y": typed(gy), "z": typed(on, "u1" if H < 256 else "i4"),
         "zmin": 0, "zmax": H, "colorscale": sequential(th, pale=True), "zsmooth": "best",
         "colorbar": colorbar("units on", len=0.8), "hovertemplate": "%{z} of " + str(H) + " units on<extra></extra>"},
        {"type": "scatter", "mode": "lines", "name": "a unit's on/off boundary", "x": typed(seg[:, 0]),
         "y": typed(seg[:, 1]), "line": {"width": 1, "color": rgba(th.muted, 0.7)}, "hoverinfo": "skip",
         "connectgaps": False, "showlegend": False},
    ]
    idx = shown_points(snap, picked=picked)
    for k in range(snap.K):
        mine = idx[snap.y[idx] == k]
        traces.append({
            "type": "scatter", "mode": "markers", "name": f"class {k}", "x": typed(snap.points[mine, 0]),
            "y": typed(snap.points[mine, 1]), "customdata": typed(mine[:, None], "i4"), "showlegend": False,
            "marker": {"color": class_color(k), "size": 7, "line": {"width": 1, "color": th.background}},
            "hovertemplate": f"point %{{customdata[0]}}, class {k}<extra></extra>",
        })
    ring = ring_trace(snap, picked, th)
    if ring:
        traces.append(ring)
    out = layout(
        th,
        title=title(f"Hidden layer: units on, of {H}"),
        annotations=[{"text": f"lines: where a unit switches ({crossing} cross the view)<br>"
                              f"{dead} of {H} units dead: on for no point, no gradient",
                      "x": 0, "xref": "paper", "xanchor": "left", "y": -0.1, "yref": "paper", "yanchor": "top",
                      "showarrow": False, "font": {"size": SMALL_FONT, "color": th.muted}}],
        margin={"l": 60, "r": 10, "t": 50, "b": 80},
        hovermode="closest",
        **_plane_axes(th, bounds),
    )
    out["xaxis"]["title"] = None  # the caption below stands where the axis title would
    return {"data": traces, "layout": out}


def margins_figure(snap: Snapshot, picked: int | None = None, theme: str | Theme = "light") -> dict:
    """The SVM's view of the points: each coloured by its share of the hinge loss, violators marked.

    A point's share is L_i = sum_j max(0, s_j - s_y + delta), read off the loss's own ``margins``
    and ``active`` (which margins are violated); the data loss is their mean. A violator is a
    disc filled by its share (pale yellow to deep red), ringed in its class colour; a point that
    wins every margin by delta adds nothing (and no gradient): a hollow ring of its class.
    """
    th = theme_of(theme)
    if "margins" not in snap.parts:
        raise ValueError("margins_figure needs the SVM loss's margins")
    margins, active = snap.parts["margins"], snap.parts["active"] > 0
    share = np.where(active, margins, 0.0).sum(axis=1)  # (N,): example i's hinge loss
    count = active.sum(axis=1)
    top = float(np.max(share, initial=0.0))  # (no points at all: an empty plane of a user's own)
    cmax = top if np.isfinite(top) and top > 0 else 1.0
    idx = shown_points(snap, picked=picked)
    K = snap.K
    listing = "".join(("<br>" if j % 5 == 0 else " · ") + f"m{j} %{{customdata[{j + 3}]:.4g}}" for j in range(K))
    traces = []
    for k in range(K):
        for violates in (False, True):
            mine = idx[(snap.y[idx] == k) & ((count[idx] > 0) == violates)]
            traces.append({
                "type": "scatter", "mode": "markers", "name": f"class {k}", "legendgroup": f"class {k}",
                "showlegend": False, "x": typed(snap.points[mine, 0]), "y": typed(snap.points[mine, 1]),
                "customdata": typed(np.c_[mine, share[mine], count[mine], margins[mine]]),
                "marker": ({"color": typed(share[mine]), "coloraxis": "coloraxis", "symbol": "circle", "size": 11,
                            "line": {"width": 1.5, "color": class_color(k)}} if violates else
                           {"color": th.background, "symbol": "circle", "size": 8,
                            "line": {"width": 1.5, "color": class_color(k)}}),
                "hovertemplate": f"point %{{customdata[0]}}, class {k}: hinge loss %{{customdata[1]:.4g}}, "
                                 f"%{{customdata[2]}} violated margin(s)<br>margins s_j − s_y + Δ:{listing}"
                                 "<extra></extra>",
            })
    delta = getattr(snap.model, "delta", 1.0)
    traces.append(_legend_entry(f"violates a margin of Δ = {sig(delta)} (filled)", HEAT[2][1], "circle", th))
    traces.append(_legend_entry("wins every margin", th.background, "circle", th))
    traces[-1]["marker"]["line"] = {"width": 1.5, "color": th.muted}
    ring = ring_trace(snap, picked, th)
    if ring:
        traces.append(ring)
    violators = int(np.sum(count > 0))
    out = layout(
        th,
        title=title(f"SVM: {violators} of {len(snap.y)} violate a margin"),
        coloraxis={"colorscale": HEAT, "cmin": 0, "cmax": cmax,
                   "colorbar": colorbar("hinge loss Lᵢ", len=0.6, y=0.3, yanchor="middle")},
        legend={"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top", "font": {"size": SMALL_FONT}},
        margin={"l": 60, "r": 10, "t": 50, "b": 70},
        hovermode="closest",
        **_plane_axes(th, snap_bounds(snap)),
    )
    out["xaxis"]["title"] = None  # the legend below stands where the axis title would
    return {"data": traces, "layout": out}
