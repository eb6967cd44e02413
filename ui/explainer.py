"""The "Explain the gradient" tab: why dscores = (p − onehot)/N, why dW = X.T @ dscores, why
db = sum(dscores), why + reg·W — for the model in front of the student (linear or the 2-layer
net, softmax or SVM), with this iteration's numbers.

Every number comes from the snapshot through ``softmax.explain`` and ``softmax.gradcheck``;
this module only lays them out (and formats them). Nothing a user typed or a link carried is
interpolated into Markdown here: the text around the numbers is fixed, and the settings shown
are validated numbers or fixed choices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from softmax.config import OWN, format_value
from softmax.explain import Example, Layer, balances, check_budget, example, layers, notes_lines, relu_gate
from softmax.export import export_script
from softmax.gradcheck import BELOW, CHECKED, KINK, SKIPPED, STATUS_TEXT, GradCheck, check_snapshot
from softmax.snapshot import Snapshot
from ui.charts import clicked_point, draw
from ui.owndata import current
from ui.plotly_live import browser_theme
from ui.sandbox import what_if
from ui.tracing import take_apart
from viz.figures import decision_figure
from viz.gradients import input_names, row_names
from viz.trajectory import trajectory_figure

CHART_KEY = "explain_decision"
TRAJECTORY_KEY = "explain_trajectory"
SMALL_TABLE = 12  # rows: more than this go into a scrolling table
WIDE_TABLE = 5  # classes: past this many the example's table takes the whole width
SCROLL_HEIGHT = 320  # pixels of a scrolling table
PICK_COLOR = "#FF00FF"  # the picked example's ring: magenta reads on every class colour, light or dark
# A gradient-check entry's status in a table cell (the paragraph above the table says each in full).
STATUS_SHORT = {CHECKED: "checked", BELOW: "both ≈ 0: below resolution", KINK: "at a kink: not judged",
                SKIPPED: "not in the sample"}
# Markdown's inline syntax, escaped in table cells: emphasis, code, links and images ([ ]), HTML, math ($),
# strike, pipes, shortcodes and colours (:name:, :red[...]), a heading's #. ("1.5" or "-2" cannot start a
# list without a space after them, so numbers stay as they are.)
MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>#|~$:"})


# -- formatting (no arithmetic: every value is handed in) -------------------------------------
def g4(v: float) -> str:
    """4 significant digits: what a table shows unless more digits are its point (-0 shown as 0)."""
    return f"{float(v) or 0.0:.4g}"


def g10(v: float) -> str:
    """10 significant digits: for tables whose point is that two columns agree."""
    return f"{float(v) or 0.0:.10g}"


def plain(text: str) -> str:
    """Text as itself inside Markdown (a table cell): every Markdown character escaped."""
    return str(text).translate(MD_SPECIAL)


def code(text: str) -> str:
    """A line of code shown verbatim in a monospace cell: an inline code span (nothing inside it is
    Markdown), its indentation kept as no-break spaces (a code span would collapse it)."""
    body = str(text)
    lead = len(body) - len(body.lstrip(" "))
    body = "\u00a0" * lead + body[lead:]
    fence = "``" if "`" in body else "`"
    return f"{fence}{body}{fence}" if body.strip() else ""


def table(values: np.ndarray, rows: Sequence[str], cols: Sequence[str], fmt=g4, name: str = "",
          title: str = "value") -> None:
    """A labelled matrix (len(rows), len(cols)): a static table when small; a large one as a scrolling
    list of its entries, each labelled by its index (``name[r,c]``)."""
    values = np.atleast_2d(values)
    if len(rows) <= SMALL_TABLE and len(cols) <= SMALL_TABLE:
        data = {plain(c): [fmt(v) for v in values[:, j]] for j, c in enumerate(cols)}
        st.table(pd.DataFrame(data, index=[plain(r) for r in rows]))
    else:
        entries(name, {title: values}, fmt)


def entries(name: str, columns: dict[str, np.ndarray], fmt=g10) -> None:
    """Matrices of one shape as a scrolling list of entries: ``name[r,c]`` then one column per matrix."""
    first = np.atleast_2d(next(iter(columns.values())))
    labels = [f"{name}[{r},{c}]" for r, c in np.ndindex(first.shape)]
    data = {"entry": labels, **{title: [fmt(v) for v in np.atleast_2d(a).ravel()] for title, a in columns.items()}}
    st.dataframe(pd.DataFrame(data), hide_index=True, height=SCROLL_HEIGHT, width="stretch")


def side_by_side(left: tuple[str, np.ndarray], right: tuple[str, np.ndarray], rows: Sequence[str],
                 cols: Sequence[str], name: str = "") -> None:
    """Two matrices next to each other with 10 significant digits, so that equal digits line up
    (a large pair as one list of entries with the two values side by side)."""
    if len(rows) > SMALL_TABLE or len(cols) > SMALL_TABLE:
        entries(name, {left[0]: left[1], right[0]: right[1]})
        return
    for column, (title, values) in zip(st.columns(2), (left, right), strict=True):
        with column:
            st.markdown(f"**{title}**")
            table(values, rows, cols, fmt=g10)


def classes(K: int) -> list[str]:
    return [f"class {k}" for k in range(K)]


def index_rows(name: str, names: Sequence[str]) -> list[str]:
    return [f"{name}[{r},·]" for r in names]


# -- the example and its dscores row ----------------------------------------------------------
def example_summary(e: Example, names: Sequence[str] | None = None) -> None:
    """One line: the example, its class, its loss and its dscores row (the first thing on the tab).
    ``names``: what each input is called, when input features are on (x = (x₁ 0.5, x₂ 0.1, x₁² 0.25))."""
    x = ", ".join(g4(v) if names is None else f"{names[d]} {g4(v)}" for d, v in enumerate(e.x))
    st.markdown(f"**Example {e.index}**: x = ({x}), true class **{e.label}**, loss L{_sub(e.index)} = "
                f"{g4(e.loss)}; its dscores row: **({', '.join(g4(v) for v in e.dscores)})**")


def example_table(e: Example) -> None:
    """Example i's scores, its probabilities (or margins) and its dscores row, class by class (the rest of
    the breakdown is in the "why dscores" section)."""
    if e.probs is not None:
        rows, middle = ["scores s", "probs p", f"dscores = (p − onehot) / {e.N}"], e.probs
    else:
        rows, middle = ["scores s", "margins s − s_y + 1", f"dscores = (violated − count · onehot) / {e.N}"], e.margins
    table(np.vstack([e.scores, middle, e.dscores]), rows, classes(len(e.scores)))


def _sub(i: int) -> str:
    """An index as Unicode subscript digits (L₁₅₀): no Markdown underscore to misread."""
    return str(i).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def why_dscores(snap: Snapshot, e: Example) -> None:
    y = e.label
    if e.probs is not None:
        st.subheader("Why dscores = (p − onehot(y)) / N")
        st.markdown(r"The loss of one example is $L_i = -\log p_{i,y_i}$, with $p_i = \mathrm{softmax}(s_i)$. "
                    "Written in the scores it has two terms:")
        st.latex(r"L_i = -s_{i,y_i} + \log \sum_j e^{s_{ij}}")
        st.markdown(r"Differentiate with respect to one score $s_{ik}$: the first term gives $-1$, but only when $k$ "
                    r"is the true class; the second gives $e^{s_{ik}} / \sum_j e^{s_{ij}}$, which is $p_{ik}$. So")
        st.latex(r"\frac{\partial L_i}{\partial s_{ik}} = p_{ik} - [k = y_i]")
        st.markdown(f"— **what it predicts minus what it should** (1 at the true class, 0 elsewhere). The data loss "
                    f"is the mean of the N = {e.N} examples' losses, so each row of the gradient is divided by N:")
        st.latex(r"\mathrm{dscores}_i = \frac{p_i - \mathrm{onehot}(y_i)}{N}")
        st.markdown(
            f"Example {e.index}: at its true class {y}, p = {g4(e.probs[y])}, so p − 1 = {g4(e.residual[y])} "
            f"(negative: the update raises that score); at every other class dscores is +p (positive: those scores "
            f"go down). Divided by {e.N}: **dscores = ({', '.join(g4(v) for v in e.dscores)})**. The closer p at the "
            f"true class is to 1, the smaller the row: a well-classified example hardly pulls.")
        table(np.vstack([e.probs, e.onehot, e.residual, e.dscores]),
              ["p (predicts)", "onehot(y) (should)", "p − onehot", f"÷ N = {e.N}: dscores"], classes(len(e.scores)))
        return
    st.subheader("Where the SVM's dscores comes from")
    st.markdown("The multiclass SVM's loss of one example adds a hinge for each wrong class $j$: zero while the "
                "true class wins by at least 1, the shortfall otherwise.")
    st.latex(r"L_i = \sum_{j \ne y_i} \max(0,\; m_{ij}), \qquad m_{ij} = s_{ij} - s_{i,y_i} + 1")
    st.markdown(r"A violated margin ($m_{ij} > 0$) adds $+1$ to the derivative by $s_{ij}$ and $-1$ to the "
                r"derivative by the true class's score $s_{i,y_i}$; a satisfied one adds nothing. So")
    st.latex(r"\frac{\partial L_i}{\partial s_{ij}} = [m_{ij} > 0]\ \ (j \ne y_i), \qquad "
             r"\frac{\partial L_i}{\partial s_{i,y_i}} = -\sum_{j \ne y_i} [m_{ij} > 0]")
    st.markdown(
        f"and the mean over N = {e.N} examples divides by N. Example {e.index}: {e.violated} violated margin"
        f"{'' if e.violated == 1 else 's'}, so its row is +1 at each violated class and −{e.violated} at the true "
        f"class {y}, divided by {e.N}. Beside it, what the softmax loss sends back from the same scores: a "
        f"probability minus the one-hot, never exactly 0. The SVM's row is a **count of violated margins**: once "
        f"every margin is satisfied it is exactly 0, and the example stops pulling.")
    table(np.vstack([e.margins, e.active, e.onehot, e.residual, e.dscores, e.softmax_residual]),
          ["margins m", "violated (m > 0)", "onehot(y)", "SVM: violated − count · onehot", f"÷ N = {e.N}: dscores",
           "softmax, same scores: p − onehot"], classes(len(e.scores)))


# -- the backward pass --------------------------------------------------------------------------
def why_transpose(snap: Snapshot, e: Example, layer: Layer, net: bool) -> None:
    """dW = inp.T @ up as a sum over examples: the index form, the shapes, example i's term and the sum."""
    A, N, B = layer.shape
    W, inp, up = layer.weight, layer.inp, layer.up
    inp_text = "X" if inp == "X" else "hidden"
    a_letter, b_letter = ("D" if inp == "X" else "H"), ("K" if up == "dscores" else "H")
    if not net:
        st.subheader("Why dW = X.T @ dscores")
        st.markdown(r"Each score is $s_{ik} = \sum_d X[i,d]\,W[d,k] + b_k$, so $\partial s_{ik} / \partial W[d,k] "
                    r"= X[i,d]$. $W[d,k]$ takes part in the class-$k$ score of **every** example, so the chain rule "
                    "adds one term per example:")
    elif W == "W2":
        st.subheader("Layer 2: dW2 = hidden.T @ dscores — the same why X.T, with the hidden layer as the input")
        st.markdown(r"The scores are $s_{ik} = \sum_j \mathrm{hidden}[i,j]\,W2[j,k] + b2_k$: the net's last layer "
                    "is a linear classifier whose inputs are the hidden units. So the same reasoning gives one term "
                    "per example:")
    else:
        st.subheader("Layer 1: dW1 = X.T @ dhidden — why X.T again, with dhidden arriving")
        st.markdown(r"The first layer computes X @ W1 + b1 before the ReLU; the gradient arriving there is dhidden "
                    r"(after the gate). $W1[d,j]$ takes part in unit $j$ of **every** example, so:")
    st.latex(rf"d{W}[{'d' if inp == 'X' else 'j'},{'k' if up == 'dscores' else 'j'}] = \sum_i "
             rf"\mathrm{{{inp_text}}}[i,{'d' if inp == 'X' else 'j'}]\;\mathrm{{{up}}}[i,"
             rf"{'k' if up == 'dscores' else 'j'}]")
    st.markdown(
        f"A sum over the examples i of {inp_text}[i, ·] times {up}[i, ·] is a row of {inp_text}.T times a column "
        f"of {up}: **the transpose lines the examples up**. Shapes: ({a_letter}×N)·(N×{b_letter}) = "
        f"{a_letter}×{b_letter}, here **({A}×{N})·({N}×{B}) = {A}×{B}**, the shape of {W}.")
    rows, cols = _labels(snap, W, A, B)
    if inp == "hidden":
        st.markdown(f"Example {e.index}'s term is outer(hidden{_sub(e.index)}, dscores{_sub(e.index)}). "
                    f"{int(np.count_nonzero(e.on))} of {len(e.on)} hidden units are on for it; the rows of the "
                    f"others are 0 (a unit that passed nothing forward gets no gradient from this example).")
    else:
        st.markdown(f"Example {e.index}'s term is outer(x{_sub(e.index)}, {up}{_sub(e.index)}): row d is x[d] "
                    f"times its {up} row.")
    table(layer.share_weight, rows, cols, name=W, title=f"example {e.index}'s term")
    st.markdown(f"All {N} terms added, beside the model's own {inp_text}.T @ {up} (its {W} before reg·{W}):")
    side_by_side((f"Σᵢ of the {N} terms", layer.sum_weight), (f"the model's {inp_text}.T @ {up}", layer.data_weight),
                 rows, cols, name=W)
    st.markdown(f"They agree to {layer.largest_difference:.1e}: the only difference is the order in which the "
                f"floats are added.")


def _labels(snap: Snapshot, W: str, A: int, B: int) -> tuple[list[str], list[str]]:
    """Row and column labels of a weight matrix (A, B): W[d, ·] (W[x₁², ·] with input features) by class, or
    by hidden unit."""
    rows = index_rows(W, row_names(snap, W) if W in snap.params else [str(r) for r in range(A)])
    cols = classes(B) if W in ("W", "W2") else [f"unit {j}" for j in range(B)]
    return rows, cols


def why_sum(snap: Snapshot, e: Example, layer: Layer, net: bool) -> None:
    b, up = layer.bias, layer.up
    B = layer.shape[2]
    cols = classes(B) if b in ("b", "b2") else [f"unit {j}" for j in range(B)]
    st.subheader(f"Why d{b} = sum({up}) (a sum over the examples)")
    owner = "the score of class k" if up == "dscores" else "unit j"
    st.markdown(f"{b} is added to {owner} of every example: its derivative there is 1 for every i. So all "
                f"{layer.shape[1]} rows of {up} flow into the same {b}, and they add up. "
                f"(keepdims=True only keeps the result a 1×{B} row, the shape of the notes' {b}.) "
                f"Example {e.index}'s term is its own {up} row; the sum of all of them, beside the model's d{b}:")
    side_by_side((f"Σᵢ {up}ᵢ", layer.sum_bias[None, :]), (f"the model's d{b}", layer.data_bias[None, :]),
                 [f"d{b}"], cols, name=f"d{b}")
    st.markdown(f"They agree to {layer.bias_difference:.1e}: the order of the additions again.")


def why_dhidden(snap: Snapshot, e: Example) -> None:
    gate = relu_gate(snap, e.index)
    st.subheader("Into the hidden layer: dhidden = dscores @ W2.T, then the ReLU gate")
    st.markdown(r"$\mathrm{hidden}[i,j]$ feeds every score of example $i$, through $W2[j,k]$; so its gradient "
                r"collects every class's dscores, weighted by W2: $\mathrm{dhidden}[i,j] = \sum_k "
                r"\mathrm{dscores}[i,k]\,W2[j,k]$, which is dscores @ W2.T: (N×K)·(K×H) = N×H, here "
                f"**({snap.N}×{snap.K})·({snap.K}×{gate.H}) = {snap.N}×{gate.H}**.")
    st.markdown(
        f"The ReLU is hidden = max(0, X @ W1 + b1): its slope is 1 where a unit is on and 0 where it is off. So "
        f"the gate **passes the gradient of a unit that was on and blocks it where it was off**: "
        f"dhidden[hidden <= 0] = 0. Example {e.index} has {gate.on_count} of {gate.H} units on; the gate blocks "
        f"gradient of total size {g4(gate.blocked)} for it. Over all {snap.N} examples, "
        f"{gate.on_fraction:.0%} of the (example, unit) pairs are on.")
    frame = pd.DataFrame({"unit j": [f"unit {j}" for j in range(gate.H)],
                          f"hidden[{e.index},j]": [g4(v) for v in e.hidden],
                          "dscores @ W2.T": [g4(v) for v in gate.before],
                          "ReLU": ["on: passes" if on else "off: blocks" for on in gate.on],
                          f"dhidden[{e.index},j] after the gate": [g4(v) for v in gate.after]})
    st.dataframe(frame, hide_index=True, height=SCROLL_HEIGHT, width="stretch")


def why_reg(snap: Snapshot, lays: list[Layer]) -> None:
    names = [layer.weight for layer in lays]
    st.subheader("Why + reg·" + " and + reg·".join(names))
    st.markdown(
        f"The loss being minimized is the data loss plus ½·reg·Σ{names[0]}²"
        + ("" if len(names) == 1 else f" + ½·reg·Σ{names[1]}²")
        + ", a penalty that prefers small weights. The gradient of a sum is the sum of the gradients, so each "
        "weight's gradient is its data part plus the penalty's part; the derivative of ½·reg·w² is reg·w (the ½ "
        f"cancels the 2 of the square). The biases are not in the penalty: they get no reg term. Here reg = "
        f"{format_value(snap.reg)}.")
    for layer, balance in zip(lays, balances(snap), strict=True):
        W = layer.weight
        A, _, B = layer.shape
        rows, cols = _labels(snap, W, A, B)
        side_by_side((f"reg · {W}", layer.reg_weight), (f"d{W} = data part + reg · {W} (the model's)",
                                                        layer.grad_weight), rows, cols, name=W)
        st.markdown(f"Sizes (Frobenius norms): data part {g4(balance.data)}, reg · {W} {g4(balance.reg)}, "
                    f"d{W} {g4(balance.total)}.")
        if balance.cancel:
            st.success(f"Here the data part and reg · {W} cancel: d{W} is {g4(balance.total)}, tiny beside either "
                       f"part. The data's pull toward fitting the points and the penalty's pull toward 0 balance: "
                       f"that is the optimum of this loss, and the steps no longer move {W}.")


# -- the gradient check -------------------------------------------------------------------------
def entry_labels(check: GradCheck, snap: Snapshot | None = None) -> dict[str, list[str]]:
    """Each checked entry's name: W[0,1], or by input feature where features are on (W[x₁²,1])."""
    def name_of(name: str, ix: tuple[int, ...]) -> str:
        rows = row_names(snap, name) if snap is not None and len(ix) == 2 and name in snap.params else None
        return f"{name}[{','.join([rows[ix[0]], *map(str, ix[1:])] if rows else map(str, ix))}]"

    return {name: [name_of(name, ix) for ix in np.ndindex(a.shape)] for name, a in check.analytic.items()}


def gradient_check(snap: Snapshot) -> None:
    st.subheader("Check it numerically")
    st.markdown("The gradient check compares **the gradient this page shows** with centered differences "
                "(f(w + h) − f(w − h)) / 2h, h = 1e-5, entry by entry, for every parameter.")
    key = "gradcheck"
    if st.button("Run the gradient check"):
        with st.spinner("Checking every entry (a sample of a large model's) with centered differences…"):
            st.session_state[key] = (snap.iteration, check_snapshot(snap, budget=check_budget(snap)))
    if key not in st.session_state:
        return
    at, check = st.session_state[key]
    when = f"At iteration {at}" + ("" if at == snap.iteration else f" (the run is now at {snap.iteration}: "
                                                                   "run it again to check the current gradient)")
    check_report(snap, check, when)


def check_report(snap: Snapshot, check: GradCheck, when: str, details: bool = True) -> None:
    """A gradient check's verdict, its counts, what its resolution means (``details``), and every entry."""
    total = sum(a.size for a in check.analytic.values())
    st.markdown(f"{when}: largest relative error **{check.max_rel_error:.2e}** — {check.verdict}.")
    counts = [f"{check.count(CHECKED)} checked", f"{check.count(BELOW)} {STATUS_TEXT[BELOW]}",
              f"{check.count(KINK)} at a kink"]
    if check.count(SKIPPED):
        counts.append(f"{check.count(SKIPPED)} not in the sample (a model this large is checked on a random sample "
                      "of its entries, every parameter included)")
    st.markdown(f"Of {total} entries: {'; '.join(counts)}. The check's resolution here: "
                f"{check.smallest_resolution:.1e} to {check.largest_resolution:.1e}.")
    if details:
        check_details(snap)
    labels = entry_labels(check, snap)
    rows = []
    for name in check.analytic:
        status = check.status[name].ravel()
        for label, a, n, r, s in zip(labels[name], check.analytic[name].ravel(), check.numeric[name].ravel(),
                                     check.rel_error[name].ravel(), status, strict=True):
            rows.append((label, g10(a), "—" if s == SKIPPED else g10(n), "—" if s == SKIPPED else f"{r:.2e}",
                         STATUS_SHORT[int(s)]))
    frame = pd.DataFrame(rows, columns=["entry", "analytic", "numerical", "relative error", "status"])
    if len(rows) <= SMALL_TABLE:
        st.table(frame.map(plain).set_index("entry"))
    else:
        st.dataframe(frame, hide_index=True, height=SCROLL_HEIGHT)
    st.markdown("CS231n's reading of the relative error: above 1e-2 the gradient is probably wrong; 1e-2 to 1e-4 "
                "uncomfortable; 1e-4 to 1e-7 fine only for kinked losses; 1e-7 or less is good.")


def check_details(snap: Snapshot) -> None:
    """What a check's resolution means, and (for a kinked loss) why kinks are listed, not judged."""
    st.markdown("**What the resolution means.** A centered difference carries the loss's rounding error divided by "
                "h, so it cannot tell a derivative smaller than its resolution from 0. Where the analytic and the "
                "numerical value both lie within it of 0, the check cannot judge that entry and says so, instead of "
                "calling a correct gradient wrong.")
    if snap.config.loss == "svm" or snap.config.model == "two-layer":
        st.markdown("**Why kinks matter.** The hinge max(0, m) and the ReLU max(0, x) have a corner at 0. Where a "
                    "margin or a unit switches on or off between w − h and w + h, the centered difference averages "
                    "the slopes on either side of the corner: it is not the derivative there (CS231n: kinks in the "
                    "objective). Those entries are listed, not judged.")


# -- the notes' loop ----------------------------------------------------------------------------
def notes_loop(snap: Snapshot, e: Example) -> None:
    st.subheader("The notes' loop, line by line")
    cfg = snap.config
    intro = (f"The CS231n notes' {'2-layer net' if cfg.model == 'two-layer' else 'linear classifier'} loop, every "
             f"line verbatim, beside what it computes now (iteration {snap.iteration}; example {e.index}'s row where "
             "a line makes a whole array). Lines marked ✎ are edits for this run")
    edits = [what for what, on in (("the SVM loss", cfg.loss == "svm"),
                                   (f"the {cfg.optimizer} optimizer", cfg.optimizer != "sgd")) if on]
    st.markdown(intro + (f" ({' and '.join(edits)})." if edits else " (none: this is the notes' own run)."))
    if cfg.model == "two-layer":
        st.markdown("The notes call the first layer W and b: the W1 and b1 of the tables above.")
    if cfg.batch_size:
        st.markdown(f"This run updates on minibatches of {cfg.batch_size} points: the page (and this table) shows "
                    "the whole training set's gradient, and the next W is the trainer's real step on a minibatch "
                    "(the downloaded script has the minibatch lines).")
    lines = notes_lines(snap, e.index)
    st.table(pd.DataFrame({"": ["✎" if line.edited else "" for line in lines],
                           "line": [code(line.code) for line in lines],
                           "what it computes now": [plain(line.value) for line in lines]}).set_index(""))


# -- the tab --------------------------------------------------------------------------------------
def highlighted(snap: Snapshot, i: int) -> dict:
    """The decision chart with example i ringed, and its points picked by their centres.

    Plotly's SVG scatter treats every marker under the cursor as equally close and takes the
    last one drawn (a neighbour drawn over the point clicked: clicking point 150 picked 153);
    WebGL points are picked by the nearest centre. The ring is not pickable (hoverinfo skip).
    """
    fig = decision_figure(snap, theme=browser_theme(CHART_KEY))
    data = [({**t, "type": "scattergl"} if t.get("type") == "scatter" and "customdata" in t else t)
            for t in fig["data"]]
    x, y = snap.points[i]
    ring = {"type": "scatter", "mode": "markers", "x": [float(x)], "y": [float(y)], "name": f"example {i}",
            "hoverinfo": "skip", "showlegend": True,
            "marker": {"symbol": "circle-open", "size": 22, "color": PICK_COLOR, "line": {"width": 4}}}
    layout = {**fig["layout"], "height": 400, "margin": {"l": 50, "r": 10, "t": 40, "b": 90},
              "title": {"text": "Click a point to follow it", "font": {"size": 15}}}
    return {**fig, "data": [*data, ring], "layout": layout}


def _pick(N: int, K: int) -> int:
    """The example to follow: a click not yet seen (applied before the chart is drawn, so that the
    ring moves with it), else the number box; kept within 0..N-1 when N shrinks."""
    click = st.session_state.get(CHART_KEY, {})
    picked = clicked_point(click.get("click") if hasattr(click, "get") else None, CHART_KEY)
    if picked is not None and 0 <= picked < N:
        st.session_state.example = picked
    current = st.session_state.get("example")
    if current is None:  # first visit: the outermost point of class 0, far from the origin on every dataset
        st.session_state.example = current = min(N // K - 1, N - 1)
    if not 0 <= current < N:
        st.session_state.example = min(max(int(current), 0), N - 1)
    return int(st.session_state.example)


EMPTY = ("Add points: this tab follows one training example through the gradient, and there are none yet. "
         "In the Watch tab, click on the decision regions to place points, or load a CSV (Your own points).")


def follow_example(snap: Snapshot, index: int, trajectory: Callable[[int], dict]) -> None:
    """The picked example over the whole run (at the run's checkpoints and now), the iteration shown marked."""
    try:
        path = trajectory(index)
    except IndexError:  # the run's points changed since the iteration shown: no such example now
        return
    if len(path.get("iteration", ())) < 2:
        return
    draw(trajectory_figure(path, index, snap.iteration, theme=browser_theme(TRAJECTORY_KEY)), TRAJECTORY_KEY)
    st.caption(f"Example {index} at the run's checkpoints and its newest iteration, from the same weights the run "
               "had there; the dotted line is the iteration shown.")


def explainer(snap: Snapshot, trajectory: Callable[[int], dict] | None = None) -> None:
    """The tab for ``snap``; ``trajectory(i)``: example i over the run (Trainer.trajectory), drawn when given."""
    N = snap.N
    if N == 0:  # an empty plane of a user's own: no example to follow, no numbers that mean anything
        st.info(EMPTY, icon=":material/add_location_alt:")
        return
    e = example(snap, _pick(N, snap.K))
    net = snap.config.model == "two-layer"
    # the example and its dscores row first (a projector's first screen), the chart to pick from beside them;
    # with many classes the table takes the whole width
    example_summary(e, input_names(snap))
    wide = snap.K > WIDE_TABLE
    if wide:
        example_table(e)
    left, right = st.columns([3, 2])
    with left if wide else right:
        st.number_input("Example (or click a point)", min_value=0, max_value=N - 1, key="example", step=1)
        if wide:
            st.markdown(f"The ring in the chart marks example {e.index}; click any point to follow it instead.")
    with right:
        if draw(highlighted(snap, e.index), CHART_KEY) is not None:  # a click the pre-read did not see: follow it
            st.rerun(scope="fragment")
    if not wide:
        with left:
            example_table(e)
    if trajectory is not None:
        follow_example(snap, e.index, trajectory)
    why_dscores(snap, e)
    lays = layers(snap, e.index)
    if net:
        st.markdown("The net's backward pass goes layer by layer, from the scores back to the input, as in the "
                    "notes' loop: W2 and b2 first, then into the hidden layer, through the ReLU, then W1 and b1.")
        why_transpose(snap, e, lays[0], net)
        why_sum(snap, e, lays[0], net)
        why_dhidden(snap, e)
        why_transpose(snap, e, lays[1], net)
        why_sum(snap, e, lays[1], net)
    else:
        why_transpose(snap, e, lays[0], net)
        why_sum(snap, e, lays[0], net)
    why_reg(snap, lays)
    take_apart(snap)
    gradient_check(snap)
    what_if(snap)
    notes_loop(snap, e)
    own = snap.config.dataset == OWN
    script = export_script(snap.config, points=current(snap) if own else None, transform=snap.transform)
    st.download_button("Download this run as a Python script", script, file_name="softmax_run.py",
                       mime="text/x-python", help="A standalone numpy script: the notes' loop with this run's "
                       "settings" + (" and your points written into it" if own else "")
                       + ", printing what python -m softmax train prints.")
    if snap.log:
        edits = any(c.edits for c in snap.log)
        st.markdown(f"This run's {'points or settings' if edits else 'settings'} changed during the run (at "
                    "iteration " + ", ".join(str(c.iteration) for c in snap.log)
                    + f"): the script runs today's {'points and settings' if edits else 'settings'} from "
                    "iteration 0.")
