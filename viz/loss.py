"""The loss (total, data, regularization) and the accuracy against the iteration."""

from __future__ import annotations

import numpy as np

from softmax.snapshot import Snapshot

from .style import SMALL_FONT, Theme, axis, layout, sig, theme_of, thin, title, typed, whole_dtick

MAX_HISTORY = 300  # iterations drawn: about one per pixel column
LOSS_COLOR, DATA_COLOR, REG_COLOR, ACCURACY_COLOR = "#0072B2", "#56B4E9", "#CC79A7", "#E69F00"


def loss_figure(snap: Snapshot, picked: int | None = None, theme: str | Theme = "light") -> dict:
    """Total, data and regularization loss against iteration, the accuracy on a second axis.

    The current iteration is marked on the total loss and the accuracy, so iteration 0 (one
    point, no line yet) shows too. A loss that blows up gets a log axis. ``picked`` is unused.
    """
    th = theme_of(theme)
    h = snap.history
    keep = thin(len(h.iteration), MAX_HISTORY)
    it = typed(h.iteration[keep], "i4")
    losses = h.loss[keep]
    fmt = "%{y:.4g}"
    traces = [
        {"type": "scatter", "mode": "lines", "name": "loss", "x": it, "y": typed(losses),
         "line": {"width": 3, "color": LOSS_COLOR}, "hovertemplate": fmt},
        {"type": "scatter", "mode": "lines", "name": "data part", "x": it, "y": typed(h.data_loss[keep]),
         "line": {"width": 2, "dash": "dash", "color": DATA_COLOR}, "hovertemplate": fmt},
        {"type": "scatter", "mode": "lines", "name": "reg part", "x": it, "y": typed(h.reg_loss[keep]),
         "line": {"width": 2, "dash": "dot", "color": REG_COLOR}, "hovertemplate": fmt},
        {"type": "scatter", "mode": "lines", "name": "accuracy", "x": it, "y": typed(h.accuracy[keep]),
         "yaxis": "y2", "line": {"width": 3, "color": ACCURACY_COLOR}, "hovertemplate": "%{y:.1%}"},
        # now: the snapshot's own iteration, a point even before there is a line
        {"type": "scatter", "mode": "markers", "name": "now", "x": [snap.iteration],
         "y": [_finite(snap.loss)], "showlegend": False, "hoverinfo": "skip",
         "marker": {"size": 11, "color": LOSS_COLOR, "line": {"width": 2, "color": th.background}}},
        {"type": "scatter", "mode": "markers", "name": "accuracy now", "x": [snap.iteration], "y": [snap.accuracy],
         "yaxis": "y2", "showlegend": False, "hoverinfo": "skip",
         "marker": {"size": 11, "color": ACCURACY_COLOR, "line": {"width": 2, "color": th.background}}},
    ]
    finite = losses[np.isfinite(losses) & (losses > 0)]
    lo = float(finite.min()) if finite.size else 1.0
    hi = float(finite.max()) if finite.size else 1.0
    # A blown-up loss spans orders of magnitude: a log axis keeps the early part readable. Its
    # range follows the total loss (the reg part starts near 0, which on a log axis would take
    # seven decades and crowd every label); labels at decades, or at 1-2-5 within few.
    log_y = snap.diverged or hi > 20 * max(lo, 1e-12)
    yaxis = axis(th, "loss", type="log" if log_y else "linear")
    if log_y:
        decades = np.log10(hi / lo)
        yaxis.update(range=[np.log10(lo) - 0.1, np.log10(hi) + 0.1], dtick=1 if decades > 2 else "D2")
    else:
        yaxis.update(rangemode="tozero", tickformat=".3~g")
    heading = f"Loss and accuracy — iteration {snap.iteration}"
    if snap.diverged:
        heading = f"Loss blew up — iteration {snap.iteration}, loss {sig(snap.loss)}"
    out = layout(
        th,
        title=title(heading),
        xaxis=axis(th, "iteration", rangemode="tozero", tickformat="d",
                   dtick=whole_dtick(max(float(h.iteration[-1]), 10.0))),
        yaxis=yaxis,
        yaxis2=axis(th, "accuracy", overlaying="y", side="right", range=[0, 1.02], showgrid=False, tickformat=".0%",
                    tickvals=[0, 0.25, 0.5, 0.75, 1.0]),
        # at the figure's foot, below the axis title whatever the chart's height (the first row's varies)
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0,
                "font": {"size": SMALL_FONT + 1}},
        margin={"l": 70, "r": 20, "t": 50, "b": 84},
        hovermode="x unified",
    )
    if snap.iteration == 0:  # one point: give the axis a width, or plotly centres it on nothing
        out["xaxis"]["range"] = [0, 10]
    return {"data": traces, "layout": out}


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None
