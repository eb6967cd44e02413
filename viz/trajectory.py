"""One training example over the run: its probability of the true class, its loss, and its dscores row."""

from __future__ import annotations

import numpy as np

from .style import SMALL_FONT, Theme, axis, class_color, layout, theme_of, title, typed


def trajectory_figure(path: dict[str, np.ndarray], index: int, shown: int, theme: str | Theme = "light") -> dict:
    """``path``: Run.trajectory(index) (iteration (T,), loss (T,), dscores (T, K), p_y (T,) for the softmax).
    Top: its loss (and p_y on a 0..1 axis); bottom: its dscores row, one line a class. The iteration the
    page shows is marked."""
    th = theme_of(theme)
    it = typed(path["iteration"], "i4")
    traces = [{"type": "scatter", "mode": "lines", "name": "its loss", "x": it, "y": typed(path["loss"]),
               "line": {"width": 3, "color": th.text}, "hovertemplate": "%{y:.4g}"}]
    if "p_y" in path:
        traces.append({"type": "scatter", "mode": "lines", "name": "p of its true class", "x": it,
                       "y": typed(path["p_y"]), "yaxis": "y3", "line": {"width": 2, "dash": "dash", "color": th.muted},
                       "hovertemplate": "%{y:.3f}"})
    for k in range(path["dscores"].shape[1]):
        traces.append({"type": "scatter", "mode": "lines", "name": f"dscores[{index}, {k}]", "x": it,
                       "y": typed(path["dscores"][:, k]), "xaxis": "x", "yaxis": "y2",
                       "line": {"width": 2, "color": class_color(k)}, "hovertemplate": "%{y:.4g}"})
    out = layout(
        th, title=title(f"Example {index} over the run"), height=420, hovermode="x unified",
        xaxis=axis(th, "iteration", tickformat="d", anchor="y2"),
        yaxis=axis(th, "loss", domain=[0.55, 1.0], rangemode="tozero"),
        yaxis2=axis(th, "dscores", domain=[0.0, 0.45], zeroline=True, zerolinecolor=th.muted),
        yaxis3=axis(th, "p", overlaying="y", side="right", range=[0, 1.02], showgrid=False,
                    tickvals=[0, 0.5, 1], tickformat=".1f"),
        shapes=[{"type": "line", "xref": "x", "yref": "paper", "x0": shown, "x1": shown, "y0": 0, "y1": 1,
                 "line": {"width": 1, "dash": "dot", "color": th.muted}}],
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0,
                "font": {"size": SMALL_FONT}},
        margin={"l": 70, "r": 50, "t": 50, "b": 90},
    )
    return {"data": traces, "layout": out}
