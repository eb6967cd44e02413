"""The "Explain the gradient" tab: why dW = X.T @ dscores, db = sum(dscores), and + reg*W.

Every number comes from the snapshot (the model's own intermediates) through
``softmax.explain`` and ``softmax.gradcheck``; this module only lays them out.
"""

from __future__ import annotations

import streamlit as st

from softmax.config import format_value
from softmax.explain import example, gradient_sums, seed_lines
from softmax.export import export_script
from softmax.gradcheck import check_snapshot
from softmax.snapshot import Snapshot
from ui.charts import draw
from viz.figures import decision_figure


def _vec(a, digits: int = 4) -> str:
    return "[" + ",\\ ".join(f"{v:.{digits}f}" for v in a) + "]"


def _table(a, rows: list[str], cols: list[str], fmt: str = "{:+.6e}") -> None:
    st.table({"": rows, **{c: [fmt.format(v) for v in a[:, j]] for j, c in enumerate(cols)}}, hide_index=True)


def chain(snap: Snapshot, i: int) -> None:
    """The forward and backward pass as equations, with this run's values for example i."""
    e = example(snap, i)
    N, K = snap.parts["probs"].shape
    st.markdown(f"With example **i = {i}** (class {e.label}) and this iteration's numbers:")
    st.latex(rf"s_i = x_i W + b = {_vec(e.scores)}")
    st.latex(rf"p_i = \mathrm{{softmax}}(s_i) = \frac{{e^{{s_i}}}}{{\sum_k e^{{s_{{ik}}}}}} = {_vec(e.probs)}")
    st.latex(rf"L = -\frac{{1}}{{N}}\sum_i \log p_{{i,y_i}} + \tfrac{{1}}{{2}}\,\lambda \sum W^2 "
             rf"= {snap.data_loss:.6f} + {snap.reg_loss:.6f} = {snap.loss:.6f}")
    st.caption("Fact: the derivative of −log softmax(s)_y with respect to s_k is p_k − [k = y].")
    st.latex(rf"\mathrm{{dscores}}_i = \frac{{\partial L}}{{\partial s_i}} = \frac{{p_i - \mathrm{{onehot}}(y_i)}}{{N}}"
             rf" = \frac{{{_vec(e.residual)}}}{{{N}}} = {_vec(e.dscores, 6)}")
    st.caption("Fact: s_ik = x_i · W[:, k] + b_k, so ∂s_ik/∂W[:, k] = x_i and ∂s_ik/∂b_k = 1. "
               "Summing over the examples (the chain rule) gives the matrix products below.")
    st.latex(r"dW = X^\top \mathrm{dscores} + \lambda W \qquad db = \sum_i \mathrm{dscores}_i")
    st.caption("Fact: the derivative of ½·λ·w² is λ·w — that is the reg*W added to dW (b is not regularized).")


def example_rows(snap: Snapshot, i: int) -> None:
    """Example i's scores, probabilities and dscores row, and why 1 is subtracted."""
    e = example(snap, i)
    classes = [f"class {k}" for k in range(len(e.scores))]
    st.markdown(f"**Example {i}**: x = ({e.x[0]:.4f}, {e.x[1]:.4f}), true class **{e.label}**, "
                f"its loss −log p = {e.loss:.4f}")
    st.table({"": ["scores s", "probs p", "onehot(y)", "dscores = (p − onehot)/N"],
              **{c: [f"{e.scores[k]:.4f}", f"{e.probs[k]:.4f}", f"{e.onehot[k]:.0f}", f"{e.dscores[k]:+.6f}"]
                 for k, c in enumerate(classes)}}, hide_index=True)
    st.markdown(f"1 is subtracted at the true class {e.label}: the loss wants p = 1 there, so dscores is "
                f"p − 1 < 0 and the update raises that score; every other class gets +p, which lowers it. "
                f"The closer p is to the right answer, the smaller the row.")


def contributions_vs_gradient(snap: Snapshot, i: int) -> None:
    """outer(x_i, dscores_i), then all N of them summed beside dW, db and reg*W."""
    e = example(snap, i)
    D, K = snap.params["W"].shape
    classes = [f"class {k}" for k in range(K)]
    st.markdown(f"Its contribution to dW is **outer(x_{i}, dscores_{i})**: row d is x[d] times dscores.")
    rows = [f"W[{d}, ·]" for d in range(D)]
    _table(e.contribution, rows, classes)
    sums = gradient_sums(snap)
    st.markdown(f"**All {len(snap.y)} contributions summed, beside the model's X.T @ dscores** — the same numbers:")
    _side_by_side(("Σᵢ outer(xᵢ, dscoresᵢ)", sums.sum_contributions),
                  ("X.T @ dscores (the model's dW data part)", sums.dW_data), rows, classes)
    _side_by_side(("Σᵢ dscoresᵢ", sums.sum_dscores[None, :]), ("the model's db", sums.db[None, :]), ["db"], classes)
    st.markdown(f"And the regularization part, reg·W with reg = {format_value(snap.reg)}; dW = X.T @ dscores + reg·W:")
    _side_by_side(("reg · W", sums.reg_times_W), ("dW (the model's gradient)", sums.dW), rows, classes)


def _side_by_side(left: tuple, right: tuple, rows: list[str], cols: list[str]) -> None:
    """Two (caption, matrix) tables next to each other, formatted alike so equal digits line up."""
    for column, (caption, values) in zip(st.columns(2), (left, right), strict=True):
        with column:
            st.caption(caption)
            _table(values, rows, cols)


def gradient_check(snap: Snapshot) -> None:
    key = "gradcheck"
    if st.button("Run the gradient check", help="Compare every entry of dW and db with centered differences "
                 "(f(w+h) − f(w−h)) / 2h, h = 1e-5."):
        st.session_state[key] = (snap.iteration, check_snapshot(snap))
    if key not in st.session_state:
        return
    at, check = st.session_state[key]
    D, K = snap.params["W"].shape
    names = [f"W[{d}, {k}]" for d in range(D) for k in range(K)] + [f"b[{k}]" for k in range(K)]
    flat = {part: [*getattr(check, part)["W"].ravel(), *getattr(check, part)["b"].ravel()]
            for part in ("analytic", "numeric", "rel_error")}
    st.markdown(f"At iteration {at}: largest relative error **{check.max_rel_error:.2e}** — {check.verdict}.")
    st.table({"entry": names, "analytic": [f"{v:+.10e}" for v in flat["analytic"]],
              "numerical": [f"{v:+.10e}" for v in flat["numeric"]],
              "relative error": [f"{v:.2e}" for v in flat["rel_error"]]}, hide_index=True)
    st.caption("CS231n's reading: above 1e-2 the gradient is probably wrong; 1e-2 to 1e-4 uncomfortable; "
               "1e-4 to 1e-7 fine only for kinked losses; 1e-7 or less is good for softmax.")


def seed_code(snap: Snapshot, i: int) -> None:
    st.markdown(f"Each line of the CS231n loop and what it computes now (row {i} where it is a matrix):")
    lines = seed_lines(snap, i)
    st.table({"line": [code for code, _ in lines], "value now": [value for _, value in lines]}, hide_index=True)


def explainer(snap: Snapshot) -> None:
    N = len(snap.y)
    st.subheader("Why dW = X.T @ dscores, db = sum(dscores), and + reg·W")
    left, right = st.columns([3, 2])
    with right:
        picked = draw(decision_figure(snap), "explain_decision")
        st.caption("Click a point to follow it through the gradient.")
    if picked is not None:
        st.session_state.example = min(int(picked), N - 1)
    with left:
        i = st.number_input("Example", min_value=0, max_value=N - 1, key="example", step=1,
                            help="Which training example to follow through the gradient (or click a point).")
        example_rows(snap, i)
    st.markdown("#### The chain, with this run's numbers")
    chain(snap, i)
    st.subheader("One example's share of the gradient, and the sum of all of them")
    contributions_vs_gradient(snap, i)
    st.subheader("Check it numerically")
    gradient_check(snap)
    st.subheader("The CS231n loop, line by line")
    seed_code(snap, i)
    st.download_button("Download this run as a Python script", export_script(snap.config), file_name="softmax_run.py",
                       mime="text/x-python", help="A standalone numpy script: the same data, initial weights and "
                       "iterations, printing the loss like the CS231n notes.")
