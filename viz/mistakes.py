"""A short run of the notes' loop with a mistake made, beside the same run with the correct code."""

from __future__ import annotations

import numpy as np

from .loss import LOSS_COLOR
from .style import SMALL_FONT, Theme, axis, layout, theme_of, title

WRONG_COLOR = "#D55E00"  # Okabe–Ito vermillion: the mistaken code


def _finite(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def mistake_run_figure(correct: np.ndarray, wrong: np.ndarray, start: int, mistake: str,
                       theme: str | Theme = "light") -> dict:
    """The losses (T,) of the correct loop and of the mistaken one from iteration ``start``; a loss that blows
    up gets a log axis, a loss that is not a number leaves a gap (and the title says so)."""
    th = theme_of(theme)
    it = list(range(start, start + max(len(correct), len(wrong))))
    traces = [
        {"type": "scatter", "mode": "lines", "name": "correct code", "x": it[: len(correct)],
         "y": _finite(correct), "line": {"width": 3, "color": LOSS_COLOR}, "hovertemplate": "%{y:.6g}"},
        {"type": "scatter", "mode": "lines", "name": mistake, "x": it[: len(wrong)], "y": _finite(wrong),
         "line": {"width": 3, "dash": "dash", "color": WRONG_COLOR}, "hovertemplate": "%{y:.6g}"},
    ]
    both = np.concatenate([correct, wrong])
    finite = both[np.isfinite(both) & (both > 0)]
    log_y = finite.size > 0 and float(finite.max()) > 20 * float(finite.min())
    heading = f"{len(correct)} iterations from here, correct and mistaken"
    if not np.isfinite(wrong).all():
        heading += " — the mistaken loss turns to NaN"
    return {"data": traces, "layout": layout(
        th, title=title(heading), height=320, hovermode="x unified",
        xaxis=axis(th, "iteration", tickformat="d"),
        yaxis=axis(th, "loss", type="log" if log_y else "linear"),
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0,
                "font": {"size": SMALL_FONT + 1}},
        margin={"l": 70, "r": 20, "t": 50, "b": 80})}
