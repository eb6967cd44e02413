"""The gradient, now and over the iterations, for any model's parameters by name and shape.

A model's parameters come in layers: a weight matrix (R, C) followed by its bias (C,), the
layer's C outputs (a linear model's K classes; a net's H hidden units, then its K classes).
A layer's gradient is one block [dW; db] of R + 1 rows and C columns, which is how the
model itself stores it (``theta`` holds [W; b] row by row).
"""

from __future__ import annotations

import numpy as np

from softmax.features import labels as feature_labels
from softmax.snapshot import Snapshot

from .style import (
    FONT_SIZE,
    SMALL_FONT,
    Theme,
    axis,
    class_chip,
    colorbar,
    common_scale,
    diverging,
    layout,
    sequential,
    theme_of,
    thin,
    times_ten,
    title,
    typed,
    whole_dtick,
)

MAX_HISTORY = 300  # iterations drawn in the history charts: about one per pixel column
# A net's frame carries more charts: its panels keep at most half as many iterations, and at
# most NET_HISTORY_CELLS cells each (a hidden layer's 100 units: 20 iterations; their norms
# change slowly), which keeps the net's frame under 150 KB with the SVM's margins too.
NET_HISTORY = 150
NET_HISTORY_CELLS = 2_000
# A table writes its numbers in the cells up to this many columns (ten classes; the board gives
# the table the width its columns need, see ui/charts.py), and shows them on hover past it.
NUMBERS_MAX_COLUMNS = 10
NUMBERS_MAX_ROWS = 12
TICKS = 11  # labelled rows of a long axis (a hidden layer's units)


def layers(snap: Snapshot) -> list[tuple[str, str | None]]:
    """(weights, bias) names of each layer, in the model's order: a 2-D parameter and the 1-D one
    after it whose length is the weights' last dimension (None if there is none)."""
    shapes = list(snap.layout.shapes)
    out, i = [], 0
    while i < len(shapes):
        name, shape = shapes[i]
        if len(shape) == 2:
            nxt = shapes[i + 1] if i + 1 < len(shapes) else None
            if nxt is not None and nxt[1] == (shape[1],):
                out.append((name, nxt[0]))
                i += 2
                continue
            out.append((name, None))
        i += 1
    return out


def output_layer(snap: Snapshot) -> tuple[str, str | None]:
    """Names of the weights and bias that produce the class scores: the linear model's, or a net's last."""
    return next(layer for layer in layers(snap) if layer[0] == snap.model.output)


def single_layer(snap: Snapshot) -> bool:
    """True when the class scores' weights act on the plane itself (the linear model)."""
    return layers(snap)[0][0] == snap.model.output


def input_names(snap: Snapshot) -> list[str] | None:
    """What each of the model's D inputs is called (x₁, x₂, x₁², ...) when input features are on; None
    without them: the rows keep their numbers, as in the notes (W[0, k])."""
    features = snap.transform.features
    return feature_labels(features) if features else None


def row_names(snap: Snapshot, weights: str) -> list[str]:
    """How the rows of a weight matrix are indexed in labels: the inputs' names for the layer fed by the
    inputs when features are on (W[x₁², k]), else their numbers."""
    R = snap.params[weights].shape[0]
    names = input_names(snap)
    if names is not None and weights == layers(snap)[0][0] and len(names) == R:
        return names
    return [str(r) for r in range(R)]


def _columns(snap: Snapshot, weights: str) -> tuple[str, list[str]]:
    """The letter of a layer's output index and its column names: classes k or hidden units j."""
    C = snap.params[weights].shape[1]
    if weights == snap.model.output:
        return "k", [f"class {k}" for k in range(C)]
    return "j", [f"unit {j}" for j in range(C)]


def numbers_span(columns: int) -> int:
    """How many of a six-column board's columns a table with its numbers in ``columns`` cells a row
    needs: about 60 px a cell (a number is 6 characters, 44 px at 16 px) on the narrowest board
    shown, a 1280x720 projector's 820 px with the sidebar open."""
    return 2 if columns <= 3 else 3 if columns <= 6 else 6


def _ticks(labels: list[str], short: list[str] | None = None) -> dict:
    """Every label when they fit, else about TICKS of them evenly, always the last (a bias row) and
    never one crowding it. ``short``: the text shown for each (a unit's number), if not the label."""
    n = len(labels)
    if n <= NUMBERS_MAX_ROWS * 2:
        keep = list(range(n))
    else:  # round steps (every 10th unit of 100), the last row too, and none crowding it
        step = int(whole_dtick(n - 1, TICKS - 1))
        keep = [i for i in range(0, n - 1, step) if (n - 1) - i >= step / 2] + [n - 1]
    out = {"tickvals": [labels[i] for i in keep], "tickangle": 0}
    if short is not None:
        out["ticktext"] = [short[i] for i in keep]
    return out


def gradient_table_figure(snap: Snapshot, weights: str | None = None, picked: int | None = None,
                          theme: str | Theme = "light") -> dict:
    """One layer's gradient now: d(weights) (R x C) with d(bias) as a last row, centred at zero.

    ``weights`` names the layer (default: the one that makes the class scores). A small block
    (up to NUMBERS_MAX_COLUMNS columns) writes its numbers in the cells, in units of one power of
    ten so that the largest keeps 4 significant digits and every number is 6 characters at most;
    a larger one (a hidden layer's) shows them on hover (4 significant digits). ``picked`` is
    unused (no points).
    """
    th = theme_of(theme)
    wn = weights or snap.model.output
    bn = dict(layers(snap))[wn]
    W = snap.grads[wn]
    R, C = W.shape
    z = np.vstack([W, snap.grads[bn][None, :]]) if bn else W  # (R+1, C)
    finite = np.isfinite(z)
    zmax = float(np.max(np.abs(z[finite]))) if finite.any() and np.max(np.abs(z[finite])) > 0 else 1.0
    letter, columns = _columns(snap, wn)
    rows = [f"d{wn}[{r}, {letter}]" for r in row_names(snap, wn)] + ([f"d{bn}[{letter}]"] if bn else [])
    numbers = len(columns) <= NUMBERS_MAX_COLUMNS and len(rows) <= NUMBERS_MAX_ROWS
    trace = {
        "type": "heatmap", "z": typed(z), "x": columns, "y": rows, "zmin": -zmax, "zmax": zmax, "zmid": 0,
        "colorscale": diverging(th, under_text=numbers), "showscale": not numbers,
        "hovertemplate": "%{y}, %{x}: %{z:.4g}<extra></extra>", "xgap": 2 if len(columns) <= 20 else 0,
        "ygap": 2 if len(rows) <= 20 else 0,
    }
    unit = ""
    if numbers:
        p = common_scale(zmax)
        unit = times_ten(p)
        scaled = z / 10.0 ** p
        trace["text"] = [[_cell(v) for v in row] for row in scaled]
        trace["texttemplate"] = "%{text}"
        trace["textfont"] = {"size": FONT_SIZE, "color": th.text}  # the scale keeps every cell 4.5:1 under it
    else:
        trace["colorbar"] = colorbar("gradient", len=0.9)
    grads = f"d{wn}" + (f" and d{bn}" if bn else "")
    heading = f"{grads} now{unit}" if numbers else f"{grads} now (hover a cell)"
    row_px = 34 if numbers else max(3, min(28, 380 // len(rows)))
    many = len(columns) > 12
    # a hidden layer's columns are numbered only: the rows' labels (dW1[0, j]) say what j is
    xaxis = {"side": "top", "tickfont": {"size": SMALL_FONT + 1}, "automargin": True, "showgrid": False,
             **(_ticks(columns, [c.split()[-1] for c in columns]) if many else _ticks(columns))}
    out = layout(
        th,
        # the iteration on a line of its own: a table a third of the board wide clips a long title
        title=title(f"{heading}<br><span style='font-size:{SMALL_FONT}px'>iteration {snap.iteration}</span>"),
        xaxis=xaxis,
        yaxis={"autorange": "reversed", "tickfont": {"size": SMALL_FONT + 1}, "automargin": True, "showgrid": False,
               **_ticks(rows)},
        height=int(min(max(row_px * len(rows) + 120, 220), 520)),
        margin={"l": 20, "r": 20, "t": 110, "b": 20},
    )
    return {"data": [trace], "layout": out}


def _cell(v: float) -> str:
    """One cell's number in the table's unit: the largest keeps 4 significant digits, -1.234."""
    if not np.isfinite(v):
        return "∞" if v > 0 else ("−∞" if v < 0 else "?")
    text = f"{v:.3f}"
    return "0" if text in ("0.000", "-0.000") else text.replace("-", "−")


def _history_rows(snap: Snapshot) -> list[dict]:
    """The history chart's panels: each a title, row labels, rows (T, n) over the kept iterations,
    and whether the values are signed (a diverging scale) or norms (sequential)."""
    h = snap.history
    panels = []
    if single_layer(snap):
        # the linear model: one panel per class k, its weights' column and its bias
        wn, bn = output_layer(snap)
        w = h.grads[wn]
        if h.kinds[wn] == "norms":
            wrows, wlabels = w[:, None, :], [f"|d{wn}[:, {{k}}]|"]
        else:
            wrows, wlabels = w, [f"d{wn}[{r}, {{k}}]" for r in row_names(snap, wn)]
        blocks = [wrows] + ([h.grads[bn][:, None, :]] if bn else [])
        labels = wlabels + ([f"d{bn}[{{k}}]"] if bn else [])
        grads = np.concatenate(blocks, axis=1)  # (T, rows, K)
        for k in range(snap.K):
            panels.append({"title": f"class {k}", "k": k, "labels": [lb.format(k=k) for lb in labels],
                           "rows": grads[:, :, k], "signed": True, "shared": True})
        return panels
    # a net: one panel per parameter; a weight matrix by the norm of each output's column
    for name, shape in snap.layout.shapes:
        g = h.grads[name]
        out_letter, out_names = ("k", [f"class {k}" for k in range(shape[-1])]) \
            if name in output_layer(snap) else ("j", [f"unit {j}" for j in range(shape[-1])])
        if len(shape) == 1:
            panels.append({"title": f"d{name}[{out_letter}]", "labels": out_names, "rows": g, "signed": True})
            continue
        if h.kinds[name] == "values":  # the same norm the history keeps for a larger parameter
            g = np.sqrt(np.einsum("tik,tik->tk", g, g))
        panels.append({"title": f"|d{name}[:, {out_letter}]|", "labels": out_names, "rows": g, "signed": False})
    return panels


def gradient_history_figure(snap: Snapshot, picked: int | None = None, theme: str | Theme = "light") -> dict:
    """The gradient over the iterations so far, one heatmap row per entry (time runs left to right).

    Linear model: one panel per class k with dW[:, k] and db[k], all on one diverging scale
    centred at zero, so a gradient that shrinks fades into the background. A net: one panel
    per parameter, each on its own scale (their sizes differ by orders of magnitude): biases
    signed, weight matrices as the norm of each output's column (what the History keeps for a
    large one). Every class's and every parameter's row is labelled. ``picked`` is unused.
    """
    th = theme_of(theme)
    h = snap.history
    panels = _history_rows(snap)
    shared = all(p.get("shared") for p in panels)
    # every labelled row at least 18 px tall; a panel title (or chip) 28 px above its rows
    # labelled rows share about 300 px (18 to 30 px each: ten classes' 30 rows get 18), a hidden
    # layer's units 240 px a panel (a few px each, every tenth labelled)
    labelled = [len(p["labels"]) <= NUMBERS_MAX_ROWS * 2 for p in panels]
    n_labelled = sum(p["rows"].shape[1] for p, lab in zip(panels, labelled, strict=True) if lab) or 1
    row_px = [max(18, min(30, 300 // n_labelled)) if lab else max(2, 240 // p["rows"].shape[1])
              for p, lab in zip(panels, labelled, strict=True)]
    heights = [r * p["rows"].shape[1] for r, p in zip(row_px, panels, strict=True)]
    gap = 34
    plot_h = sum(heights) + gap * (len(panels) - 1)
    top, bottom = 70, 60
    total = plot_h + top + bottom
    traces, axes, annotations = [], {}, []
    y_cursor = 1.0
    shared_max = max((_finite_max(np.abs(p["rows"])) for p in panels), default=1.0) if shared else None
    for i, (p, ph) in enumerate(zip(panels, heights, strict=True)):
        s = "" if i == 0 else str(i + 1)
        y1 = y_cursor
        y0 = y1 - ph / plot_h
        y_cursor = y0 - gap / plot_h
        most = MAX_HISTORY if shared else max(8, min(NET_HISTORY, NET_HISTORY_CELLS // p["rows"].shape[1]))
        keep = thin(len(h.grad_iteration), most)
        iterations = typed(h.grad_iteration[keep], "i4")
        rows = p["rows"][keep]  # (T, n): an iteration a row, drawn as a column (transpose); a live stream then
        # sends a new iteration's row appended to the bytes before it (ui/delta.py)
        caxis = "coloraxis" if shared else f"coloraxis{s}"
        traces.append({
            "type": "heatmap", "x": iterations, "y": p["labels"], "z": typed(rows), "transpose": True,
            "coloraxis": caxis,
            "xaxis": f"x{s}", "yaxis": f"y{s}",
            "hovertemplate": f"{p['title']}: %{{y}}, iteration %{{x}}: %{{z:.4g}}<extra></extra>",
        })
        last = i == len(panels) - 1
        span = float(h.grad_iteration[-1] - h.grad_iteration[0])
        axes[f"xaxis{s}"] = axis(th, "iteration" if last else None, anchor=f"y{s}", showticklabels=last,
                                 showgrid=False, tickformat="d", dtick=whole_dtick(span),
                                 **({"matches": "x"} if i else {}))
        axes[f"yaxis{s}"] = {"domain": [max(round(y0, 6), 0.0), min(round(y1, 6), 1.0)], "anchor": f"x{s}",
                             "autorange": "reversed", "tickfont": {"size": SMALL_FONT}, "automargin": True,
                             "showgrid": False, **_ticks(p["labels"])}
        if "k" in p:
            annotations.append(class_chip(p["k"], f"<b>{p['title']}</b>", 0.0, y1, xanchor="left",
                                          yanchor="bottom", yshift=3))
        else:
            annotations.append({"text": f"<b>{p['title']}</b>", "x": 0.0, "xref": "paper", "xanchor": "left",
                                "y": y1, "yref": "paper", "yanchor": "bottom", "yshift": 3, "showarrow": False,
                                "font": {"size": SMALL_FONT + 1, "color": th.text}})
        if not shared:
            m = _finite_max(np.abs(rows))
            axes[caxis] = {"colorscale": diverging(th) if p["signed"] else sequential(th),
                           "cmin": -m if p["signed"] else 0.0, "cmax": m,
                           "colorbar": colorbar("", len=(y1 - y0), y=(y0 + y1) / 2, yanchor="middle",
                                                thickness=10, tickfont={"size": SMALL_FONT - 1})}
    if shared:
        axes["coloraxis"] = {"colorscale": diverging(th), "cmin": -shared_max, "cmax": shared_max,
                             "colorbar": colorbar("gradient")}
    heading = ("Gradient of each class's parameters over the iterations" if shared
               else "Gradient of each parameter over the iterations")
    out = layout(
        th,
        title=title(heading),
        annotations=annotations,
        height=int(total),
        margin={"l": 20, "r": 20, "t": top, "b": bottom},
        **axes,
    )
    return {"data": traces, "layout": out}


def _finite_max(a: np.ndarray) -> float:
    finite = a[np.isfinite(a)]
    m = float(finite.max()) if finite.size else 0.0
    return m if m > 0 else 1.0
