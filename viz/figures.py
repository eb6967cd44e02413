"""Plotly figures of a training snapshot: one function per chart, no Streamlit.

Each function returns a figure as a plain dict in Plotly's JSON schema
(``plotly.graph_objects.Figure(d)`` accepts it). Dicts skip plotly.py's
validation, which would cost more than the whole frame budget, and arrays are
sent as Plotly's typed-array spec (``{"dtype", "bdata"}``: base64 of float32 or
uint8), which keeps a full frame near 60 KB. Every number comes from the
snapshot, i.e. from the model's own computation.
"""

from __future__ import annotations

import base64

import numpy as np

from softmax.snapshot import Snapshot

# Okabe & Ito's colour-blind-safe palette (without black, which vanishes on a
# dark theme), then grey, wine and olive from Paul Tol's for classes 8 to 10.
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9",
                "#CC79A7", "#F0E442", "#999999", "#882255", "#999933")
# Blue for negative, red for positive, pale at zero; centred with zmid=0.
DIVERGING = [[0.0, "#2166ac"], [0.25, "#67a9cf"], [0.5, "#f7f7f7"], [0.75, "#ef8a62"], [1.0, "#b2182b"]]
FONT = {"size": 16}
GRID = 100  # decision-region cells a side: 10 000 cells, 10 KB as uint8
CONFIDENCE_LEVELS = 8  # shades of each class colour in the decision regions
MAX_POINTS = 1500  # points drawn per chart; larger datasets are thinned evenly
MAX_PANEL_POINTS = 2000  # points over all the per-class panels together
MAX_HISTORY = 300  # iterations drawn in the history charts: about one per pixel column


def typed(a: np.ndarray, dtype: str = "f4") -> dict:
    """Plotly's typed-array spec: compact base64 instead of a JSON list of numbers."""
    a = np.ascontiguousarray(a, dtype=dtype)
    spec = {"dtype": {"f4": "f4", "u1": "u1", "i4": "i4"}[dtype], "bdata": base64.b64encode(a).decode("ascii")}
    if a.ndim > 1:
        spec["shape"] = ", ".join(map(str, a.shape))
    return spec


def class_color(k: int) -> str:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:.3f})"


def _layout(**extra) -> dict:
    """A lean layout that reads on a projector, in light and dark themes alike."""
    layout = {
        "font": FONT,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 70, "r": 20, "t": 50, "b": 60},
        "hoverlabel": {"font": {"size": 15}},
        "uirevision": "keep",  # keep zoom and legend clicks across refreshes
        "height": 440,
    }
    layout.update(extra)
    return layout


def _axis(title: str, **extra) -> dict:
    return {"title": {"text": title}, "gridcolor": "rgba(128,128,128,0.25)", "zerolinecolor": "rgba(128,128,128,0.5)",
            "automargin": True, **extra}


def _shown_points(snap: Snapshot, most: int = MAX_POINTS) -> np.ndarray:
    """Indices of the points to draw: all of them, or an even thinning of a large dataset."""
    n = len(snap.y)
    return np.arange(n) if n <= most else np.linspace(0, n - 1, most).astype(int)


def _thin(n: int, most: int) -> np.ndarray:
    """Indices of an even thinning of n entries to at most ``most``, always keeping the last."""
    return np.arange(n) if n <= most else np.unique(np.linspace(0, n - 1, most).round().astype(int))


def output_layer(snap: Snapshot) -> tuple[str, str]:
    """Names of the weights and bias that produce the class scores: ("W", "b") or the net's ("W2", "b2")."""
    weights = snap.model.output
    return weights, "b" + weights[1:]


def point_probs(snap: Snapshot) -> np.ndarray:
    """(N, K) softmax probabilities of the training points (the SVM's scores through a softmax)."""
    return snap.parts["probs"] if "probs" in snap.parts else snap.model.probabilities(snap.theta, snap.X).T


def plane_bounds(X: np.ndarray, pad: float = 0.15) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of the input plane shown: the data's box plus a margin."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.maximum(hi - lo, 1e-9) * pad
    return float(lo[0] - span[0]), float(hi[0] + span[0]), float(lo[1] - span[1]), float(hi[1] + span[1])


def loss_figure(snap: Snapshot) -> dict:
    """Total, data and regularization loss against iteration, and accuracy on a second axis."""
    h = snap.history
    keep = _thin(len(h.iteration), MAX_HISTORY)
    it = typed(h.iteration[keep], "i4")
    traces = [
        {"type": "scatter", "mode": "lines", "name": "total loss", "x": it, "y": typed(h.loss[keep]),
         "line": {"width": 3, "color": "#0072B2"}},
        {"type": "scatter", "mode": "lines", "name": "data loss", "x": it, "y": typed(h.data_loss[keep]),
         "line": {"width": 2, "dash": "dash", "color": "#56B4E9"}},
        {"type": "scatter", "mode": "lines", "name": "reg loss", "x": it, "y": typed(h.reg_loss[keep]),
         "line": {"width": 2, "dash": "dot", "color": "#CC79A7"}},
        {"type": "scatter", "mode": "lines", "name": "accuracy", "x": it, "y": typed(h.accuracy[keep]),
         "yaxis": "y2", "line": {"width": 3, "color": "#E69F00"}},
    ]
    # A blown-up loss spans orders of magnitude: a log axis keeps the early part readable.
    log_y = snap.diverged or float(np.max(h.loss)) > 20 * max(float(np.min(h.loss)), 1e-12)
    layout = _layout(
        title={"text": f"Loss and accuracy — iteration {snap.iteration}"},
        xaxis=_axis("iteration", rangemode="tozero"),
        yaxis=_axis("loss", type="log" if log_y else "linear", rangemode="tozero"),
        yaxis2=_axis("accuracy", overlaying="y", side="right", range=[0, 1.02], showgrid=False, tickformat=".0%",
                     tickvals=[0, 0.25, 0.5, 0.75, 1.0]),
        # below the axis title, not on it
        legend={"orientation": "h", "y": -0.3, "yanchor": "top", "x": 0},
        margin={"l": 70, "r": 20, "t": 50, "b": 110},
        hovermode="x unified",
    )
    return {"data": traces, "layout": layout}


def decision_figure(snap: Snapshot) -> dict:
    """The input plane coloured by predicted class (paler where less confident), the points on top.

    Grid: GRID x GRID cells; each cell's value is class * CONFIDENCE_LEVELS + confidence level,
    drawn with a colour scale of K * CONFIDENCE_LEVELS translucent class colours.
    """
    K = snap.config.classes
    x0, x1, y0, y1 = plane_bounds(snap.X)
    gx, gy = np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID)
    xx, yy = np.meshgrid(gx, gy)
    probs_t = snap.model.probabilities(snap.theta, np.c_[xx.ravel(), yy.ravel()])  # (K, cells)
    pred = probs_t.argmax(axis=0)
    # confidence from 1/K (a toss-up) to 1 (certain), in CONFIDENCE_LEVELS steps
    conf = (probs_t.max(axis=0) - 1.0 / K) / (1.0 - 1.0 / K)
    level = np.minimum((conf * CONFIDENCE_LEVELS).astype(int), CONFIDENCE_LEVELS - 1)
    cells = (pred * CONFIDENCE_LEVELS + level).reshape(GRID, GRID)
    n_codes = K * CONFIDENCE_LEVELS
    scale = []
    for code in range(n_codes):
        k, lv = divmod(code, CONFIDENCE_LEVELS)
        color = _rgba(class_color(k), 0.15 + 0.6 * (lv + 1) / CONFIDENCE_LEVELS)
        scale.append([code / max(n_codes - 1, 1), color])
    if n_codes == 1:
        scale.append([1.0, scale[0][1]])
    traces = [{
        "type": "heatmap", "x": typed(gx), "y": typed(gy), "z": typed(cells, "u1"),
        "zmin": 0, "zmax": n_codes - 1, "colorscale": scale, "showscale": False, "hoverinfo": "skip",
        "zsmooth": False,
    }]
    idx = _shown_points(snap)
    labels = " · ".join(f"class {k}: %{{customdata[{k + 1}]:.2f}}" for k in range(K))
    probs = point_probs(snap)
    wrong = probs[idx].argmax(axis=1) != snap.y[idx]
    for k in range(K):
        for miss in (False, True):
            mine = idx[(snap.y[idx] == k) & (wrong == miss)]
            traces.append({
                "type": "scatter", "mode": "markers", "name": f"class {k}", "legendgroup": f"class {k}",
                "showlegend": not miss,
                "x": typed(snap.X[mine, 0]), "y": typed(snap.X[mine, 1]),
                "customdata": typed(np.c_[mine, probs[mine]]),
                "marker": {"color": class_color(k), "size": 11 if miss else 9, "symbol": "x" if miss else "circle",
                           "line": {"width": 1, "color": "white"}},
                "hovertemplate": f"point %{{customdata[0]}} (class {k}{', misclassified' if miss else ''})"
                                 f"<br>{labels}<extra></extra>",
            })
    wrong_count = int(np.sum(probs.argmax(axis=1) != snap.y))
    layout = _layout(
        title={"text": f"Decision regions: {wrong_count} of {len(snap.y)} wrong (✕)"},
        xaxis=_axis("x₁", range=[x0, x1], constrain="domain"),
        yaxis=_axis("x₂", range=[y0, y1], scaleanchor="x", constrain="domain"),
        # below the axis title, not on it
        legend={"orientation": "h", "y": -0.3, "yanchor": "top", "x": 0},
        margin={"l": 70, "r": 20, "t": 50, "b": 100},
        hovermode="closest",
    )
    return {"data": traces, "layout": layout}


def param_labels(D: int) -> list[str]:
    """Row names of the parameters of one class: the D weights, then the bias."""
    return [f"W[{d}]" for d in range(D)] + ["b"]


def gradient_table_figure(snap: Snapshot) -> dict:
    """The current dW (D x K) with db as a last row, one annotated heatmap, centred at zero."""
    wn, bn = output_layer(snap)
    D, K = snap.params[wn].shape
    z = np.vstack([snap.grads[wn], snap.grads[bn][None, :]])  # (D+1, K)
    zmax = float(np.max(np.abs(z))) or 1.0
    rows = [f"d{wn}[{d}, k]" for d in range(D)] + [f"d{bn}[k]"]
    trace = {
        "type": "heatmap", "z": typed(z), "x": [f"class {k}" for k in range(K)], "y": rows,
        "zmin": -zmax, "zmax": zmax, "colorscale": DIVERGING, "showscale": False,
        "texttemplate": ("%{z:.2e}" if zmax < 1e-3 or zmax >= 1e4 else "%{z:.4f}") if D <= 12 else "",
        "textfont": {"size": 18 if K <= 4 else 13},  # colour left to plotly: dark on pale cells, light on deep
        "hovertemplate": "%{y}, %{x}: %{z:.6g}<extra></extra>", "xgap": 2, "ygap": 2,
    }
    layout = _layout(
        title={"text": f"Gradient now — iteration {snap.iteration}"},
        xaxis={"side": "top", "tickfont": FONT, "automargin": True},
        yaxis={"autorange": "reversed", "tickfont": FONT, "automargin": True},
        margin={"l": 90, "r": 20, "t": 90, "b": 20},
    )
    return {"data": [trace], "layout": layout}


def _panel_domains(K: int, columns: int, gap: float = 0.06) -> list[tuple[list[float], list[float]]]:
    """(x domain, y domain) of K small multiples in a grid of ``columns`` columns, top to bottom."""
    rows = -(-K // columns)
    w = (1 - gap * (columns - 1)) / columns
    h = (1 - gap * 1.5 * (rows - 1)) / rows
    out = []
    for k in range(K):
        r, c = divmod(k, columns)
        x0 = c * (w + gap)
        y1 = 1 - r * (h + gap * 1.5)
        out.append(([round(max(x0, 0.0), 6), round(min(x0 + w, 1.0), 6)],
                    [round(max(y1 - h, 0.0), 6), round(min(y1, 1.0), 6)]))
    return out


def gradient_history_figure(snap: Snapshot) -> dict:
    """For each class k, its parameters' gradient (dW[:, k] and db[k]) over the iterations so far.

    One panel a class, stacked; one diverging colour scale centred at zero, shared
    by every panel, so a gradient that shrinks fades to white.
    """
    h = snap.history
    wn, bn = output_layer(snap)
    K = snap.K
    keep = _thin(len(h.grad_iteration), MAX_HISTORY)
    w = h.grads[wn][keep]
    if h.kinds[wn] == "norms":  # a large layer keeps one norm per class: one row, |dW[:, k]|
        w = w[:, None, :]
        labels = [f"|d{wn}[:, k]|", f"d{bn}[k]"]
    else:
        labels = param_labels(w.shape[1])
    grads = np.concatenate([w, h.grads[bn][keep, None, :]], axis=1)  # (T, rows, K)
    iterations = typed(h.grad_iteration[keep], "i4")
    zmax = float(np.max(np.abs(grads))) or 1.0
    traces, layout_axes, annotations = [], {}, []
    domains = _panel_domains(K, 1, gap=0.06 if K <= 4 else 0.035)
    for k in range(K):
        suffix = "" if k == 0 else str(k + 1)
        traces.append({
            "type": "heatmap", "x": iterations, "y": labels, "z": typed(grads[:, :, k].T),
            "coloraxis": "coloraxis", "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
            "hovertemplate": f"class {k}, %{{y}}, iteration %{{x}}: %{{z:.3g}}<extra></extra>",
        })
        _, ydom = domains[k]
        last = k == K - 1
        layout_axes[f"xaxis{suffix}"] = {"anchor": f"y{suffix}", "showticklabels": last, "matches": "x" if k else None,
                                         "title": {"text": "iteration"} if last else None, "automargin": True}
        layout_axes[f"yaxis{suffix}"] = {"domain": ydom, "anchor": f"x{suffix}", "autorange": "reversed",
                                         "tickfont": {"size": 13}, "automargin": True}
        annotations.append({"text": f"<b>class {k}</b>", "x": 0.0, "xref": "paper", "xanchor": "left",
                            "y": ydom[1], "yref": "paper", "yanchor": "bottom", "showarrow": False,
                            "font": {"color": class_color(k), "size": 15}})
    layout = _layout(
        title={"text": "Gradient of each class's parameters over the iterations"},
        coloraxis={"colorscale": DIVERGING, "cmin": -zmax, "cmax": zmax,
                   "colorbar": {"title": {"text": "gradient"}, "thickness": 14}},
        annotations=annotations,
        margin={"l": 70, "r": 20, "t": 60, "b": 50},
        **{k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in layout_axes.items()},
    )
    return {"data": traces, "layout": layout}


def dscores_figure(snap: Snapshot) -> dict:
    """Where dW[:, k] comes from: each point coloured by dscores[i, k], and the update -step*dW[:, k].

    dW[:, k] = sum_i x_i * dscores[i, k] (+ reg*W[:, k]): points with large |dscores[i, k]|
    pull hardest. The arrow from the origin is the direction the update moves W[:, k],
    drawn at a fixed length (its true length is in the panel title).
    """
    wn, _ = output_layer(snap)
    D, K = snap.params[wn].shape
    dscores = snap.parts["dscores"]
    idx = _shown_points(snap, MAX_PANEL_POINTS // K)
    x0, x1, y0, y1 = plane_bounds(snap.X)
    cmax = float(np.max(np.abs(dscores))) or 1.0
    columns = min(K, 5)
    domains = _panel_domains(K, columns)
    traces, arrows, axes, annotations = [], [], {}, []
    arrow_len = 0.35 * min(x1 - x0, y1 - y0)
    xs, ys = typed(snap.X[idx, 0]), typed(snap.X[idx, 1])
    for k in range(K):
        s = "" if k == 0 else str(k + 1)
        traces.append({
            # WebGL: a third of the SVG drawing time for K x N points (the page falls back to SVG)
            "type": "scattergl", "mode": "markers", "x": xs, "y": ys, "xaxis": f"x{s}", "yaxis": f"y{s}",
            "marker": {"color": typed(dscores[idx, k]), "coloraxis": "coloraxis", "size": 7,
                       "line": {"width": 0.5, "color": "rgba(128,128,128,0.6)"}},
            "customdata": typed(idx, "i4"),
            "hovertemplate": f"point %{{customdata}}: dscores[i, {k}] = %{{marker.color:.3g}}<extra></extra>",
            "showlegend": False,
        })
        xdom, ydom = domains[k]
        axes[f"xaxis{s}"] = {"domain": xdom, "anchor": f"y{s}", "range": [x0, x1], "showticklabels": False,
                             "zeroline": True, "zerolinecolor": "rgba(128,128,128,0.5)", "showgrid": False}
        axes[f"yaxis{s}"] = {"domain": ydom, "anchor": f"x{s}", "range": [y0, y1], "showticklabels": False,
                             "scaleanchor": f"x{s}", "zeroline": True, "zerolinecolor": "rgba(128,128,128,0.5)",
                             "showgrid": False}
        update = snap.next_params[wn][:, k] - snap.params[wn][:, k]
        norm = float(np.linalg.norm(update))
        title = f"<b>class {k}</b>: |Δ{wn}[:, k]| = {norm:.2g}"
        annotations.append({"text": title, "x": (xdom[0] + xdom[1]) / 2, "xref": "paper", "y": ydom[1],
                            "yref": "paper", "yanchor": "bottom", "showarrow": False,
                            "font": {"color": class_color(k), "size": 15}})
        if norm > 0 and D == 2:  # an arrow in the input plane: only the linear model's W lives there
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
    rows = -(-K // columns)
    layout = _layout(
        title={"text": "Where dW[:, k] comes from: points coloured by dscores[i, k]; arrow = −step·dW[:, k]"},
        coloraxis={"colorscale": DIVERGING, "cmin": -cmax, "cmax": cmax,
                   "colorbar": {"title": {"text": "dscores"}, "thickness": 14}},
        annotations=annotations,
        height=330 * rows + 60,
        margin={"l": 20, "r": 20, "t": 80, "b": 20},
        **axes,
    )
    return {"data": traces + arrows, "layout": layout}  # point traces first: data[k] is class k


def all_figures(snap: Snapshot) -> dict[str, dict]:
    """Every chart of the page, by name."""
    return {
        "loss": loss_figure(snap),
        "decision": decision_figure(snap),
        "gradient_table": gradient_table_figure(snap),
        "gradient_history": gradient_history_figure(snap),
        "dscores": dscores_figure(snap),
    }
