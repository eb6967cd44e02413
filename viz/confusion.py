"""The confusion matrix of the iteration shown: counts and row shares, for the training points and
(with a held-out share) the test points side by side."""

from __future__ import annotations

import numpy as np

from softmax.compare import confusions, row_shares
from softmax.snapshot import Snapshot

from .style import FONT_SIZE, SMALL_FONT, Theme, axis, colorbar, layout, sequential, theme_of, title

GAP = 0.12  # share of the figure's width between the train and the test matrices


def cell_text(counts: np.ndarray, shares: np.ndarray) -> list[list[str]]:
    """Each cell's count over its row share (``87<br>87%``); a class with no points has no share (–)."""
    return [[f"{c}<br>{'–' if np.isnan(s) else f'{s:.0%}'}" for c, s in zip(crow, srow, strict=True)]
            for crow, srow in zip(counts, shares, strict=True)]


def confusion_figure(snap: Snapshot, picked: int | None = None, theme: str | Theme = "light") -> dict:
    """Where each class's points went at the iteration shown: rows the true class, columns the predicted
    one, each cell's count and its share of the row (the diagonal: the right ones), coloured by that
    share. With held-out points, the test set's matrix beside the training set's. ``picked`` is unused."""
    th = theme_of(theme)
    mats = confusions(snap)
    K = snap.K
    small = K > 5
    ticks = list(range(K))
    names = list(mats)
    width = (1.0 - GAP * (len(names) - 1)) / len(names)
    traces, out_axes, notes = [], {}, []
    for i, name in enumerate(names):
        counts = mats[name]
        shares = row_shares(counts)
        total, right = int(counts.sum()), int(np.trace(counts))
        suffix = "" if i == 0 else str(i + 1)
        traces.append({
            "type": "heatmap", "name": name, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
            "z": np.nan_to_num(shares, nan=0.0).round(4).tolist(), "zmin": 0, "zmax": 1,
            "x": ticks, "y": ticks, "colorscale": sequential(th, pale=True), "showscale": i == len(names) - 1,
            "colorbar": colorbar("share of the row", tickformat=".0%", len=0.9),
            "text": cell_text(counts, shares), "texttemplate": "%{text}",
            "textfont": {"size": SMALL_FONT if small else FONT_SIZE, "color": th.text},
            "customdata": counts.tolist(), "xgap": 2, "ygap": 2,
            "hovertemplate": (f"{name}: true class %{{y}}, predicted %{{x}}: %{{customdata}} points "
                              "(%{z:.1%} of the row)<extra></extra>"),
        })
        lo = i * (width + GAP)
        out_axes[f"xaxis{suffix}"] = axis(th, "predicted class", domain=[lo, lo + width], tickvals=ticks,
                                          showgrid=False, zeroline=False, constrain="domain", side="bottom",
                                          anchor=f"y{suffix}")
        out_axes[f"yaxis{suffix}"] = axis(th, "true class" if i == 0 else None, tickvals=ticks, showgrid=False,
                                          zeroline=False, autorange="reversed", scaleanchor=f"x{suffix}",
                                          constrain="domain", anchor=f"x{suffix}")
        share = f"{right / total:.1%}" if total else "no points"
        notes.append({"text": f"<b>{name}</b>: {right} of {total} right ({share})", "x": lo + width / 2,
                      "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                      "showarrow": False,
                      "font": {"size": FONT_SIZE}})
    heading = f"Confusion matrix — iteration {snap.iteration}: rows the true class, columns the predicted"
    return {"data": traces, "layout": layout(
        th, title=title(heading), annotations=notes, height=520 if small else 440,
        margin={"l": 70, "r": 20, "t": 80, "b": 60}, **out_axes)}
