"""Where the output layer's gradient comes from: every point coloured by its dscores[i, k], one panel a class."""

from __future__ import annotations

import numpy as np

from softmax.snapshot import Snapshot

from .gradients import output_layer, single_layer
from .plane import ring_trace, shown_points, snap_bounds
from .style import SMALL_FONT, Theme, class_chip, class_color, colorbar, diverging, layout, sig, theme_of, title, typed

MAX_PANEL_POINTS = 2000  # points over all the per-class panels together


def panel_domains(K: int, columns: int, gap: float = 0.04, vgap: float = 0.1) -> list[tuple[list[float], list[float]]]:
    """(x domain, y domain) of K small multiples in a grid of ``columns`` columns, top to bottom."""
    rows = -(-K // columns)
    w = (1 - gap * (columns - 1)) / columns
    h = (1 - vgap * (rows - 1)) / rows
    out = []
    for k in range(K):
        r, c = divmod(k, columns)
        x0 = c * (w + gap)
        y1 = 1 - r * (h + vgap)
        out.append(([round(max(x0, 0.0), 6), round(min(x0 + w, 1.0), 6)],
                    [round(max(y1 - h, 0.0), 6), round(min(y1, 1.0), 6)]))
    return out


def dscores_figure(snap: Snapshot, picked: int | None = None, theme: str | Theme = "light") -> dict:
    """Where d(weights)[:, k] comes from: each point coloured by dscores[i, k], one panel a class k.

    For the linear model dW[:, k] = sum_i x_i * dscores[i, k] (+ reg*W[:, k]): points with large
    |dscores[i, k]| pull hardest, and the arrow from the origin is this step's change of W[:, k]
    (next_params - params: whatever the optimizer), drawn at a fixed length, its true length
    under the panel. For a net the same dscores feed dW2 = hidden.T @ dscores, whose columns
    live among the hidden units, not in the plane: no arrow. ``picked`` is ringed in every panel.
    """
    th = theme_of(theme)
    wn, _ = output_layer(snap)
    K = snap.K
    dscores = snap.parts["dscores"]
    idx = shown_points(snap, MAX_PANEL_POINTS // K, picked)
    x0, x1, y0, y1 = snap_bounds(snap)
    finite = dscores[np.isfinite(dscores)]
    cmax = float(np.max(np.abs(finite))) if finite.size and np.max(np.abs(finite)) > 0 else 1.0
    columns = min(K, 5)
    rows = -(-K // columns)
    # square panels: a row as tall as a panel is wide (five a row on a projector's 820 px board),
    # and 60 px between rows for one row's length note and the next row's chips
    # the output weights multiply the points themselves: an arrow (not through input features or a change of
    # units: W[:, k] then lives in the model's inputs, not in the plane shown)
    in_plane = single_layer(snap) and snap.transform.identity
    top = 105 if in_plane else 80  # the heading's second line (the arrow's meaning) above the chips
    row_px, bottom, between = (300 if columns <= 3 else 230 if columns == 4 else 180), 30, 60
    height = row_px * rows + between * (rows - 1) + top + bottom
    domains = panel_domains(K, columns, vgap=between / (height - top - bottom))
    traces, arrows, rings, axes, annotations = [], [], [], {}, []
    arrow_len = 0.35 * min(x1 - x0, y1 - y0)
    xs, ys = typed(snap.points[idx, 0]), typed(snap.points[idx, 1])
    custom = typed(idx[:, None], "i4")
    for k in range(K):
        s = "" if k == 0 else str(k + 1)
        traces.append({
            # WebGL: a third of the SVG drawing time for K x N points (the page falls back to SVG)
            "type": "scattergl", "mode": "markers", "x": xs, "y": ys, "xaxis": f"x{s}", "yaxis": f"y{s}",
            "marker": {"color": typed(dscores[idx, k]), "coloraxis": "coloraxis", "size": 7,
                       "line": {"width": 0.5, "color": "rgba(128,128,128,0.6)"}},
            "customdata": custom, "name": f"class {k}",
            "hovertemplate": f"point %{{customdata[0]}}: dscores[i, {k}] = %{{marker.color:.4g}}<extra></extra>",
            "showlegend": False,
        })
        xdom, ydom = domains[k]
        plain = {"zeroline": True, "zerolinecolor": th.grid, "showgrid": False, "showticklabels": False,
                 "fixedrange": False}
        axes[f"xaxis{s}"] = {"domain": xdom, "anchor": f"y{s}", "range": [x0, x1], **plain}
        axes[f"yaxis{s}"] = {"domain": ydom, "anchor": f"x{s}", "range": [y0, y1], "scaleanchor": f"x{s}", **plain}
        annotations.append(class_chip(k, f"<b>class {k}</b>", xdom[0], ydom[1], xanchor="left", yanchor="bottom",
                                      yshift=2))
        ring = ring_trace(snap, picked, th, f"x{s}", f"y{s}", label=False)
        if ring:
            rings.append(ring)
        if not in_plane:
            continue
        update = snap.next_params[wn][:, k] - snap.params[wn][:, k]
        norm = float(np.linalg.norm(update))
        annotations.append({"text": f"|Δ{wn}[:, {k}]| = {sig(norm)}", "x": (xdom[0] + xdom[1]) / 2, "xref": "paper",
                            "xanchor": "center", "y": ydom[0], "yref": "paper", "yanchor": "top", "showarrow": False,
                            "font": {"size": SMALL_FONT, "color": th.muted}})
        if norm > 0 and np.isfinite(norm):
            # A line with an arrow-shaped end marker: a third of the drawing cost of an
            # annotation arrow, which plotly.js lays out again on every redraw.
            ux, uy = update[0] / norm * arrow_len, update[1] / norm * arrow_len
            arrows.append({
                "type": "scatter", "mode": "lines+markers", "name": f"update of class {k}",
                "x": [0.0, float(ux)], "y": [0.0, float(uy)], "xaxis": f"x{s}", "yaxis": f"y{s}",
                "line": {"width": 3, "color": class_color(k)},
                "marker": {"symbol": ["circle", "arrow"], "size": [0, 18], "angleref": "previous",
                           "color": class_color(k)},
                "hoverinfo": "skip", "showlegend": False,
            })
    heading = f"Where d{wn}[:, k] comes from: points coloured by dscores[i, k]"
    if in_plane:
        heading += f"<br><span style='font-size:{SMALL_FONT + 1}px'>arrow: this step's change of {wn}[:, k]</span>"
    out = layout(
        th,
        title=title(heading),
        coloraxis={"colorscale": diverging(th), "cmin": -cmax, "cmax": cmax, "colorbar": colorbar("dscores")},
        annotations=annotations,
        height=height,
        margin={"l": 20, "r": 20, "t": top, "b": bottom},
        **axes,
    )
    return {"data": traces + arrows + rings, "layout": out}  # point traces first: data[k] is class k
