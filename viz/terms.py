"""Where one gradient entry comes from, in the plane: each point coloured by its term of the sum, the largest ringed."""

from __future__ import annotations

import numpy as np

from softmax.provenance import Terms
from softmax.snapshot import Snapshot

from .plane import plane_bounds
from .style import SMALL_FONT, Theme, axis, colorbar, diverging, layout, theme_of, title, typed

MAX_POINTS = 3000  # points drawn (an even thinning beyond, the largest terms always kept)


def terms_figure(snap: Snapshot, t: Terms, largest: int = 8, theme: str | Theme = "light") -> dict:
    """The training points coloured by their term of d{name}[index] (blue pulls it down, red up; pale: ~0),
    the ``largest`` terms ringed (their example in the hover); examples a ReLU blocked are drawn hollow."""
    th = theme_of(theme)
    n = len(t.terms)
    top = t.largest(min(largest, n))
    idx = np.arange(n) if n <= MAX_POINTS else np.union1d(np.linspace(0, n - 1, MAX_POINTS).astype(int), top)
    finite = t.terms[np.isfinite(t.terms)]
    cmax = float(np.max(np.abs(finite))) if finite.size and np.max(np.abs(finite)) > 0 else 1.0
    name = f"d{t.name}[{','.join(map(str, t.index))}]"
    blocked = t.blocked if t.blocked is not None else np.zeros(n, bool)
    x0, x1, y0, y1 = plane_bounds(snap.points)
    traces = []
    for hollow in (False, True):
        sel = idx[blocked[idx] == hollow]
        if not sel.size:
            continue
        traces.append({
            "type": "scatter", "mode": "markers", "x": typed(snap.points[sel, 0]), "y": typed(snap.points[sel, 1]),
            "customdata": typed(sel[:, None], "i4"), "name": "blocked by the ReLU" if hollow else "term",
            "marker": {"color": typed(t.terms[sel]), "coloraxis": "coloraxis", "size": 8,
                       "symbol": "circle-open" if hollow else "circle",
                       "line": {"width": 0.5, "color": "rgba(128,128,128,0.6)"}},
            "hovertemplate": f"point %{{customdata[0]}}: term of {name} = %{{marker.color:.4g}}<extra></extra>",
            "showlegend": hollow,
        })
    traces.append({
        "type": "scatter", "mode": "markers", "name": f"the {len(top)} largest terms",
        "x": [float(snap.points[i, 0]) for i in top], "y": [float(snap.points[i, 1]) for i in top],
        "text": [str(int(i)) for i in top], "hovertemplate": "example %{text}: one of the largest<extra></extra>",
        "marker": {"symbol": "circle-open", "size": 18, "color": th.text, "line": {"width": 2}}, "showlegend": True,
    })
    out = layout(
        th, title=title(f"The terms of {name}, point by point"), height=420,
        coloraxis={"colorscale": diverging(th), "cmin": -cmax, "cmax": cmax, "colorbar": colorbar("term")},
        xaxis=axis(th, "x₁", range=[x0, x1], zeroline=False),
        yaxis=axis(th, "x₂", range=[y0, y1], scaleanchor="x", zeroline=False),
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0,
                "font": {"size": SMALL_FONT + 1}},
        margin={"l": 60, "r": 20, "t": 50, "b": 90},
    )
    return {"data": traces, "layout": out}


def contributor_rings(snap: Snapshot, t: Terms, chart: str, largest: int = 8,
                      theme: str | Theme = "light") -> list[dict]:
    """Rings around the examples with the ``largest`` terms of one gradient entry, to lay over a Watch-tab chart:
    the decision regions ("decision"), or the dscores panel of the entry's output column ("dscores", whose
    panel k has axes x{k+1}, y{k+1}). Red rings pull the entry up, blue ones down (the sign of the term)."""
    th = theme_of(theme)
    top = t.largest(min(largest, len(t.terms)))
    axes = {}
    if chart == "dscores" and t.output_name == "dscores":
        s = "" if t.output_column == 0 else str(t.output_column + 1)
        axes = {"xaxis": f"x{s}", "yaxis": f"y{s}"}
    name = f"d{t.name}[{','.join(map(str, t.index))}]"
    rings = []
    for sign, color in ((1, th.div_positive), (-1, th.div_negative)):
        sel = [int(i) for i in top if np.sign(t.terms[i]) == sign]
        if not sel:
            continue
        rings.append({
            "type": "scatter", "mode": "markers", "name": f"pulls {name} {'up' if sign > 0 else 'down'}",
            "x": [float(snap.points[i, 0]) for i in sel], "y": [float(snap.points[i, 1]) for i in sel],
            "customdata": [[i] for i in sel], "showlegend": chart == "decision", **axes,
            "hovertemplate": f"point %{{customdata[0]}}: one of the largest terms of {name}<extra></extra>",
            "marker": {"symbol": "circle-open", "size": 20, "color": color, "line": {"width": 3, "color": color}},
        })
    return rings
