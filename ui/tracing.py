"""The Explain tab's "Take one number apart": pick any entry of any parameter, see the sum its gradient is
(its largest terms, from ``softmax.provenance.terms``) and what a nudge of the weight does to the loss
(``softmax.provenance.nudge``). Parameter-agnostic: the entries and the names of the two factors of each
sum come from the model (``model.sources``); this module only lays the numbers out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from softmax.provenance import Nudge, Terms, nudge, terms
from softmax.snapshot import Snapshot
from ui import inputs
from ui.charts import draw
from ui.highlight import KEY, label, parse
from ui.plotly_live import browser_theme
from viz.terms import terms_figure

H_KEY = "nudge_h"  # the nudge size's widget key
H_VALUES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
LARGEST = 8  # terms listed
CHART_KEY = "trace_points"


def entries(snap: Snapshot) -> list[str]:
    """Every entry of every parameter, labelled ``name[i,j]``, weights first (their sums have two factors)."""
    names = sorted(snap.params, key=lambda n: snap.model.sources[n][0] is None)
    return [label(name, ix) for name in names for ix in np.ndindex(snap.params[name].shape)]


def _g(v: float) -> str:
    return f"{float(v) or 0.0:.6g}"


def _default(snap: Snapshot, options: list[str]) -> str:
    """The first pick: the entry of the first weight at row 0, class 1 (the notes' dW[0,1]) when it exists."""
    first = next(iter(sorted(snap.params, key=lambda n: snap.model.sources[n][0] is None)))
    wanted = label(first, (0, 1)) if snap.params[first].ndim == 2 and snap.params[first].shape[1] > 1 else options[0]
    return wanted if wanted in options else options[0]


def take_apart(snap: Snapshot) -> None:
    """The section: one entry picker, its gradient as a sum of terms, and a nudge of the weight."""
    st.subheader("Take one number apart")
    st.markdown("Pick any entry of any parameter: where its gradient comes from, term by term, and what moving "
                "the weight itself does to the loss.")
    options = entries(snap)
    if inputs.choice(st.session_state.get(KEY), options, None) is None:
        st.session_state[KEY] = _default(snap, options)
    left, right = st.columns(2)
    entry = left.selectbox("Entry", options, key=KEY,
                           help="A weight or bias entry, by parameter name and index (row, column).")
    h = right.select_slider("Nudge size h", H_VALUES, value=1e-3, key=H_KEY, format_func=lambda v: f"{v:g}",
                            help="How far the weight is moved, up and down, to measure the loss's slope.")
    entry = inputs.choice(entry, options, options[0])
    h = h if h in H_VALUES else 1e-3
    name, index = parse(entry)
    trace(snap, terms(snap, name, index))
    show_nudge(nudge(snap, name, index, h))


def trace(snap: Snapshot, t: Terms) -> None:
    """d{name}[index] as the sum of its N terms, the largest of them listed, and the rest's sum."""
    g = f"d{label(t.name, t.index)}"
    out = f"{t.output_name}[i,{t.output_column}]"
    N = len(t.terms)
    if t.input_name is None:
        st.markdown(f"**{g} = Σᵢ {out}**: a bias is added to every example, so its gradient sums column "
                    f"{t.output_column} of {t.output_name} over the {N} examples (no reg term: biases are not "
                    "penalized).")
        st.markdown(f"{g} = **{_g(t.data_sum)}**")
    else:
        inp = f"{t.input_name}[i,{t.input_column}]"
        st.markdown(f"**{g} = Σᵢ {inp} · {out} + reg · {label(t.name, t.index)}**: column {t.input_column} of "
                    f"{t.input_name} times column {t.output_column} of {t.output_name}, example by example, added "
                    f"up over the {N} examples; then the penalty's part.")
        st.markdown(f"{g} = **{_g(t.data_sum)}** (the sum) + **{_g(t.reg_part)}** (reg · "
                    f"{label(t.name, t.index)}) = **{_g(t.total)}**")
    if t.blocked is not None:
        st.markdown(f"The ReLU of unit {t.output_column} was off for {int(np.count_nonzero(t.blocked))} of the "
                    f"{N} examples: their {t.output_name} is 0, so their terms are 0 (blocked by the gate).")
    n = min(LARGEST, N)
    rows = t.largest(n)
    table_side, chart_side = st.columns([3, 2])
    frame = {"example i": [int(i) for i in rows], "class yᵢ": [int(snap.y[i]) for i in rows]}
    if t.inputs is not None:
        frame[f"{t.input_name}[i,{t.input_column}]"] = [_g(t.inputs[i]) for i in rows]
    frame[out] = [_g(t.outputs[i]) for i in rows]
    frame["term"] = [_g(t.terms[i]) for i in rows]
    if t.blocked is not None:
        frame["ReLU"] = ["off: blocked" if t.blocked[i] else "on" for i in rows]
    with table_side:
        st.markdown(f"Its {n} largest terms (by size), which pull hardest (ringed in the chart):")
        st.table(pd.DataFrame(frame).set_index("example i"))
        if N > n:
            st.markdown(f"The other {N - n} terms add up to {_g(t.rest(n))}.")
    with chart_side:
        draw(terms_figure(snap, t, n, theme=browser_theme(CHART_KEY)), CHART_KEY)


def show_nudge(nd: Nudge) -> None:
    """The loss at w, w + h and w − h; the change beside h · gradient; the centered difference beside the gradient."""
    w = label(nd.name, nd.index)
    st.markdown(f"**Nudge {w} by h = {nd.h:g}.** The gradient says the loss moves by about h · d{w} when {w} "
                "moves by h. Here, measured on the whole training set:")
    st.table(pd.DataFrame({
        "": ["loss at w", "loss at w + h", "loss at w − h", "loss change (w + h)", f"h · d{w} (predicted)",
             "(L(w + h) − L(w − h)) / 2h (numerical)", f"d{w} (analytic)"],
        "value": [f"{v:.10g}" for v in (nd.loss, nd.loss_plus, nd.loss_minus, nd.change, nd.predicted, nd.numerical,
                                        nd.gradient)]}).set_index(""))
    st.markdown("The smaller h, the closer the change comes to h · gradient (until the float's rounding takes "
                "over, below h ≈ 1e-6): that is what a derivative is, and what the gradient check measures.")
