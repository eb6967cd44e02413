"""The loss (total, data, regularization) and the accuracy against the iteration; with a held-out
share the test loss and accuracy, and the loss curves of runs saved for comparison."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from softmax.compare import SavedRun, labels, run_key
from softmax.snapshot import Snapshot

from .style import SMALL_FONT, Theme, axis, chip_text, layout, sig, theme_of, thin, title, typed, whole_dtick

MAX_HISTORY = 300  # iterations drawn: about one per pixel column
MAX_CHANGES = 100  # changes marked (the latest): a link carries at most 500
LOSS_COLOR, DATA_COLOR, REG_COLOR, ACCURACY_COLOR = "#0072B2", "#56B4E9", "#CC79A7", "#E69F00"
TEST_COLOR = "#009E73"  # Okabe-Ito green: everything measured on the held-out points
# Saved runs: a colour and a dash each, told apart by either (vermillion, then grey and wine, whose
# dark-theme versions read on a dark page); every one at least 3:1 against its theme's background.
SAVED_STYLES = {"light": (("#D55E00", "longdash"), ("#5F5B56", "longdashdot"), ("#882255", "dot")),
                "dark": (("#D55E00", "longdash"), ("#B8B3A8", "longdashdot"), ("#CC6677", "dot"))}
# The loss chart's smallest plot area (a 300 px high chart at 1280x720: about 260 x 144 px, less the room
# plotly's autorange leaves around the curves), a name chip's height (21 px) with a gap, and the width of one
# of its characters, generously: chips are placed in these pixels
PLOT_W_PX, PLOT_PX, CHIP_PX, CHAR_PX = 220, 120, 26, 7.5
LEGEND_ROW = 22  # px a row of the legend takes (two entries a row on a 1280x720 projector's loss chart)
LOSS_HOVER, ACCURACY_HOVER = "%{y:.4g}", "%{y:.1%}"


def loss_figure(snap: Snapshot, picked: int | None = None, theme: str | Theme = "light",
                saved: Sequence[SavedRun] = ()) -> dict:
    """Total, data and regularization loss against iteration, the accuracy on a second axis.

    The current iteration is marked on the total loss and the accuracy, so iteration 0 (one
    point, no line yet) shows too. A loss that blows up gets a log axis. With held-out points,
    the test loss (its data part: the penalty does not depend on the points) and the test
    accuracy, dashed in green. ``saved``: runs saved for comparison (at most three), each
    one's total loss in its own colour and dash, named by what differs in its setup. ``picked``
    is unused.
    """
    th = theme_of(theme)
    h = snap.history
    keep = thin(len(h.iteration), MAX_HISTORY)
    it = typed(h.iteration[keep], "i4")
    losses = h.loss[keep]
    fmt = LOSS_HOVER
    names = run_names(snap, saved)
    traces = [
        {"type": "scatter", "mode": "lines", "name": f"loss ({names[-1] or 'this run'})" if saved else "loss",
         "x": it, "y": typed(losses),
         "line": {"width": 3, "color": LOSS_COLOR}, "hovertemplate": fmt},
        {"type": "scatter", "mode": "lines", "name": "data part", "x": it, "y": typed(h.data_loss[keep]),
         "line": {"width": 2, "dash": "dash", "color": DATA_COLOR}, "hovertemplate": fmt},
        {"type": "scatter", "mode": "lines", "name": "reg part", "x": it, "y": typed(h.reg_loss[keep]),
         "line": {"width": 2, "dash": "dot", "color": REG_COLOR}, "hovertemplate": fmt},
        {"type": "scatter", "mode": "lines", "name": "accuracy", "x": it, "y": typed(h.accuracy[keep]),
         "yaxis": "y2", "line": {"width": 3, "color": ACCURACY_COLOR}, "hovertemplate": ACCURACY_HOVER},
        # now: the snapshot's own iteration, a point even before there is a line
        {"type": "scatter", "mode": "markers", "name": "now", "x": [snap.iteration],
         "y": [_finite(snap.loss)], "showlegend": False, "hoverinfo": "skip",
         "marker": {"size": 11, "color": LOSS_COLOR, "line": {"width": 2, "color": th.background}}},
        {"type": "scatter", "mode": "markers", "name": "accuracy now", "x": [snap.iteration], "y": [snap.accuracy],
         "yaxis": "y2", "showlegend": False, "hoverinfo": "skip",
         "marker": {"size": 11, "color": ACCURACY_COLOR, "line": {"width": 2, "color": th.background}}},
    ]
    traces += test_traces(snap, keep)
    traces += saved_traces(saved, names[:-1], th)
    traces += changes_trace(snap, th)
    every = [losses, *(r.loss for r in saved)]
    if h.test_loss is not None:
        every.append(h.test_loss[keep])
    every = np.concatenate([np.asarray(a, dtype=float) for a in every])
    finite = every[np.isfinite(every) & (every > 0)]
    lo = float(finite.min()) if finite.size else 1.0
    hi = float(finite.max()) if finite.size else 1.0
    # A blown-up loss spans orders of magnitude: a log axis keeps the early part readable. Its
    # range follows the total loss (the reg part starts near 0, which on a log axis would take
    # seven decades and crowd every label); labels at decades, or at 1-2-5 within few.
    log_y = snap.diverged or any(r.diverged for r in saved) or hi > 20 * max(lo, 1e-12)
    yaxis = axis(th, "loss", type="log" if log_y else "linear")
    if log_y:
        decades = np.log10(hi / lo)
        yaxis.update(range=[np.log10(lo) - 0.1, np.log10(hi) + 0.1], dtick=1 if decades > 2 else "D2")
    else:
        yaxis.update(rangemode="tozero", tickformat=".3~g")
    heading = f"Loss and accuracy — iteration {snap.iteration}"
    if snap.diverged:
        heading = f"Loss blew up — iteration {snap.iteration}, loss {sig(snap.loss)}"
    last = max([float(h.iteration[-1]), 10.0, *(float(r.iteration[-1]) for r in saved if len(r.iteration))])
    out = layout(
        th,
        title=title(heading),
        xaxis=axis(th, "iteration", rangemode="tozero", tickformat="d", dtick=whole_dtick(last)),
        yaxis=yaxis,
        yaxis2=axis(th, "accuracy", overlaying="y", side="right", range=[0, 1.02], showgrid=False, tickformat=".0%",
                    tickvals=[0, 0.25, 0.5, 0.75, 1.0]),
        # at the figure's foot, below the axis title whatever the chart's height (the first row's varies)
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0,
                "font": {"size": SMALL_FONT + 1}},
        margin={"l": 70, "r": 20, "t": 50, "b": 40 + LEGEND_ROW * -(-_legend_entries(traces) // 2)},
        hovermode="x unified",
    )
    if snap.iteration == 0 and last <= 10:  # one point: give the axis a width, or plotly centres it on nothing
        out["xaxis"]["range"] = [0, 10]
    if saved:
        y_range = (np.log10(lo), np.log10(hi)) if log_y else (0.0, hi)
        out["annotations"] = saved_labels(saved, names[:-1], th, log_y, last, y_range)
    out["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": c.iteration, "x1": c.iteration, "y0": 0,
                      "y1": 1, "line": {"width": 1, "dash": "dot", "color": th.muted}, "layer": "below"}
                     for c in _changes(snap)]
    return {"data": traces, "layout": out}


def test_traces(snap: Snapshot, keep: np.ndarray) -> list[dict]:
    """The test loss and the test accuracy over the iterations (none without held-out points)."""
    h = snap.history
    if h.test_loss is None or not len(snap.y_test):
        return []
    it = typed(h.iteration[keep], "i4")
    return [
        {"type": "scatter", "mode": "lines", "name": "test loss", "x": it, "y": typed(h.test_loss[keep]),
         "line": {"width": 3, "dash": "dash", "color": TEST_COLOR},
         "hovertemplate": LOSS_HOVER},
        {"type": "scatter", "mode": "lines", "name": "test accuracy", "x": it, "y": typed(h.test_accuracy[keep]),
         "yaxis": "y2", "line": {"width": 3, "dash": "dashdot", "color": TEST_COLOR},
         "hovertemplate": ACCURACY_HOVER},
    ]


def saved_traces(saved: Sequence[SavedRun], names: Sequence[str], th: Theme) -> list[dict]:
    """Each saved run's total loss, in its own colour and dash ("saved: step 10")."""
    styles = SAVED_STYLES[th.name]
    return [{"type": "scatter", "mode": "lines", "name": f"saved: {name}", "x": typed(r.iteration, "i4"),
             "y": typed(r.loss), "line": {"width": 2.5, "dash": styles[i % len(styles)][1],
                                          "color": styles[i % len(styles)][0]},
             "showlegend": False, "hovertemplate": LOSS_HOVER}  # named at its end instead (saved_labels)
            for i, (r, name) in enumerate(zip(saved, names, strict=True))]


def saved_labels(saved: Sequence[SavedRun], names: Sequence[str], th: Theme, log_y: bool, x_span: float,
                 y_range: tuple[float, float]) -> list[dict]:
    """Each saved curve's name on a chip of its colour, just above the curve's last point, to its left (to
    its right if there is no room): inside the plot, clear of the accuracy axis. A legend of seven entries
    would not fit a projector's loss chart. Chips are placed on the smallest plot the page draws (PLOT_W_PX
    by PLOT_PX: on a larger one they only get further apart); one that would cover an earlier one is lifted
    above it."""
    styles = SAVED_STYLES[th.name]
    y_lo, y_hi = y_range
    y_span = max(y_hi - y_lo, 1e-12)
    placed: list[tuple[float, float, float]] = []  # (left, right, bottom) in px of each chip placed
    out = []
    for i, (r, name) in enumerate(zip(saved, names, strict=True)):
        if not len(r.iteration) or not np.isfinite(r.loss[-1]) or (log_y and r.loss[-1] <= 0):
            continue
        text = f"saved: {name}"
        x, y = float(r.iteration[-1]), float(r.loss[-1])
        yv = float(np.log10(y)) if log_y else y
        x_px, w = x / max(x_span, 1.0) * PLOT_W_PX, chip_width(text)
        right_anchor = x_px >= w or x_px >= PLOT_W_PX - x_px  # left of the end if it fits there, else where wider
        left = x_px - w if right_anchor else x_px
        base = (yv - y_lo) / y_span * PLOT_PX
        lift = 0
        while any(left < r_ + 4 and l_ < left + w + 4 and abs(b_ - (base + CHIP_PX * lift)) < CHIP_PX
                  for l_, r_, b_ in placed):
            lift += 1
        placed.append((left, left + w, base + CHIP_PX * lift))
        color = styles[i % len(styles)][0]
        out.append({"text": text, "x": x, "y": yv, "xref": "x", "yref": "y",
                    "xanchor": "right" if right_anchor else "left", "yanchor": "bottom",
                    "yshift": 4 + CHIP_PX * lift, "showarrow": False, "bgcolor": color,
                    "borderpad": 2, "font": {"color": chip_text(color), "size": SMALL_FONT}})
    return out


def chip_width(text: str) -> float:
    """A generous estimate of a name chip's width in px (13 px text, its padding)."""
    return CHAR_PX * len(text) + 8


def run_names(snap: Snapshot, saved: Sequence[SavedRun]) -> list[str]:
    """What tells each saved run and the snapshot's own run (last) apart: ``["step 10", "step 1"]``; a
    saved run whose setup nothing tells apart is "run N" (its place), the snapshot's own "" (empty
    without saved runs). A saved run that is the snapshot's own run (saved, then trained on or not) gets
    the same name as it."""
    if not saved:
        return []
    setups = [(r.config, r.changes) for r in saved] + [(snap.start_config, _changes_made(snap))]
    names = labels(setups, [r.key for r in saved] + [run_key(snap)])
    return [name or f"run {i + 1}" for i, name in enumerate(names[:-1])] + names[-1:]


def _legend_entries(traces: list[dict]) -> int:
    return sum(1 for t in traces if t.get("showlegend", True))


def _changes_made(snap: Snapshot) -> int:
    """Mid-run changes of training settings up to the iteration shown."""
    return sum(1 for c in snap.log if c.settings and c.iteration <= snap.iteration)


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
