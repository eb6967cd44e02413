"""The confusion matrix of the iteration shown: counts and row shares, for the training points and
(with a held-out share) the test points side by side."""

from __future__ import annotations

import numpy as np

from softmax.compare import confusions, row_shares
from softmax.snapshot import Snapshot

from .style import FONT_SIZE, SMALL_FONT, Theme, axis, colorbar, layout, sequential, theme_of, title

GAP = 0.12  # share of the figure's width between the train and the test matrices, side by side
STACK_ABOVE = 5  # more classes than this: the test matrix goes below the training one
ROW_PX, STACK_GAP_PX = 40, 80  # stacked: a row of cells (two lines of text), the room between the matrices


def cell_text(counts: np.ndarray, shares: np.ndarray) -> list[list[str]]:
    """Each cell's count over its row share (``87<br>87%``); a class with no points has no share (–)."""
    return [[f"{c}<br>{'–' if np.isnan(s) else f'{s:.0%}'}" for c, s in zip(crow, srow, strict=True)]
            for crow, srow in zip(counts, shares, strict=True)]


def confusion_figure(snap: Snapshot, picked: int | None = None, theme: str | Theme = "light") -> dict:
    """Where each class's points went at the iteration shown: rows the true class, columns the predicted
    one, each cell's count and its share of the row (the diagonal: the right ones), coloured by that
    share. With held-out points, the test set's matrix too: beside the training set's up to STACK_ABOVE
    classes (square cells), below it beyond (each as wide as the chart: ten classes' cells need the
    width for their two lines). ``picked`` is unused."""
    th = theme_of(theme)
    mats = confusions(snap)
    K = snap.K
    stacked = K > STACK_ABOVE
    ticks = list(range(K))
    names = list(mats)
    n = len(names)
    width = (1.0 - GAP * (n - 1)) / n
    plot_px = n * K * ROW_PX + (n - 1) * STACK_GAP_PX  # the plot area's height when stacked
    traces, out_axes, notes = [], {}, []
    for i, name in enumerate(names):
        counts = mats[name]
        shares = row_shares(counts)
        total, right = int(counts.sum()), int(np.trace(counts))
        suffix = "" if i == 0 else str(i + 1)
        traces.append({
            "type": "heatmap", "name": name, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
            "z": np.nan_to_num(shares, nan=0.0).round(4).tolist(), "zmin": 0, "zmax": 1,
            "x": ticks, "y": ticks, "colorscale": sequential(th, pale=True), "showscale": i == n - 1,
            "colorbar": colorbar("share of the row", tickformat=".0%", len=0.9 if not stacked else 0.6),
            "text": cell_text(counts, shares), "texttemplate": "%{text}",
            "textfont": {"size": SMALL_FONT if stacked else FONT_SIZE, "color": th.text},
            "customdata": counts.tolist(), "xgap": 2, "ygap": 2,
            "hovertemplate": (f"{name}: true class %{{y}}, predicted %{{x}}: %{{customdata}} points "
                              "(%{z:.1%} of the row)<extra></extra>"),
        })
        if stacked:  # one above the other, each the chart's width
            top = 1.0 - i * (K * ROW_PX + STACK_GAP_PX) / plot_px
            x_dom, y_dom = [0.0, 1.0], [max(top - K * ROW_PX / plot_px, 0.0), top]
            square = {}
        else:  # side by side, square cells
            lo = i * (width + GAP)
            x_dom, y_dom = [lo, lo + width], [0.0, 1.0]
            square = {"scaleanchor": f"x{suffix}"}
        out_axes[f"xaxis{suffix}"] = axis(th, "predicted class" if not stacked or i == n - 1 else None,
                                          domain=x_dom, tickvals=ticks, showgrid=False, zeroline=False,
                                          constrain="domain", side="bottom", anchor=f"y{suffix}")
        out_axes[f"yaxis{suffix}"] = axis(th, "true class", domain=y_dom, tickvals=ticks, showgrid=False,
                                          zeroline=False, autorange="reversed", constrain="domain",
                                          anchor=f"x{suffix}", **square)
        share = f"{right / total:.1%}" if total else "no points"
        notes.append({"text": f"<b>{name}</b>: {right} of {total} right ({share})",
                      "x": (x_dom[0] + x_dom[1]) / 2, "y": y_dom[1], "xref": "paper", "yref": "paper",
                      "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": FONT_SIZE}})
    heading = f"Confusion matrix — iteration {snap.iteration}: rows the true class, columns the predicted"
    top_px, bottom_px = 80, 60
    height = top_px + plot_px + bottom_px if stacked else 440
    return {"data": traces, "layout": layout(
        th, title=title(heading), annotations=notes, height=height,
        margin={"l": 70, "r": 20, "t": top_px, "b": bottom_px}, **out_axes)}
