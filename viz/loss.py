"""The loss (total, data, regularization) and the accuracy against the iteration."""

from __future__ import annotations

import numpy as np

from softmax.snapshot import Snapshot

from .style import SMALL_FONT, Theme, axis, layout, sig, theme_of, thin, title, typed, whole_dtick

MAX_HISTORY = 300  # iterations drawn: about one per pixel column
MAX_CHANGES = 100  # changes marked (the latest): a link carries at most 500
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
    traces += changes_trace(snap, th)
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
    out["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": c.iteration, "x1": c.iteration, "y0": 0,
                      "y1": 1, "line": {"width": 1, "dash": "dot", "color": th.muted}, "layer": "below"}
                     for c in _changes(snap)]
    return {"data": traces, "layout": out}


def _changes(snap: Snapshot) -> list:
    """The run's logged changes up to the iteration shown (a view of an earlier one knows the later ones too)."""
    return [c for c in snap.log if c.iteration <= snap.iteration][-MAX_CHANGES:]


def change_text(change) -> str:
    """``step size → 0.5 · reg → 0`` and the edits of the points, for a change's hover."""
    from softmax.config import format_value, setting_info

    parts = [f"{setting_info(k)['label'].lower()} → {format_value(v)}" for k, v in change.settings.items()]
    if change.edits:
        parts.append(f"{len(change.edits)} edit(s) of the points")
    return f"iteration {change.iteration}: " + " · ".join(parts)


def changes_trace(snap: Snapshot, th: Theme) -> list[dict]:
    """A marker at the top of the chart (on the accuracy axis, at 100 %) at each logged change of a setting,
    its hover saying what changed; a dotted line down the chart marks it too (the layout's shapes)."""
    changes = _changes(snap)
    if not changes:
        return []
    return [{"type": "scatter", "mode": "markers", "name": "setting changed", "x": [c.iteration for c in changes],
             "y": [1.0] * len(changes), "yaxis": "y2", "text": [change_text(c) for c in changes],
             "hovertemplate": "%{text}<extra></extra>", "cliponaxis": False,
             "marker": {"symbol": "triangle-down", "size": 12, "color": th.muted}}]


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None
