"""The Explain tab's "What if the code were wrong?" panel: one classic mistake at a time, in a sandbox.

The mistaken gradient and the short runs come from ``softmax.mistakes`` (the notes' own loop, edited,
executed on copies of the shown iteration's weights: the real model code is never touched); the
verdict from ``softmax.gradcheck``, shown by the explainer's own check report. This module lays them
out and says what each mistake does.
"""

from __future__ import annotations

import streamlit as st

from softmax.explain import check_budget
from softmax.gradcheck import check_gradient
from softmax.mistakes import MISTAKES, STABLE, ShapeMistake, mistaken_gradient, mistaken_run
from softmax.notes import LINEAR, NET
from softmax.snapshot import Snapshot
from ui import inputs
from ui.charts import draw
from ui.plotly_live import browser_theme
from viz.mistakes import mistake_run_figure

KEY = "mistake"  # the chooser's widget key
CHART_KEY = "mistake_run"
CORRECT = "none"  # the chooser's "the correct code"
CACHE = "_mistake_cache"  # (fingerprint of the shown iteration, mistake) -> what the sandbox computed
SHORT_RUN = 100  # iterations of the short runs
SANDBOX_BUDGET = 200  # entries the sandbox's check evaluates (a sample of a net's): it runs on every pick

HELP = ("Make one classic mistake in the notes' loop. The mistaken loop runs in a sandbox on copies of this "
        "iteration's weights (the page's own model is never changed): the gradient check judges the gradient it "
        "computes, and a short run beside the correct one shows what the mistake does to the loss.")


def _title(name: str) -> str:
    return "None: the correct code" if name == CORRECT else MISTAKES[name].title


def edited_lines(model: str, mistake: str) -> list[tuple[str, str]]:
    """The lines of this model's loop the mistake changes: (correct line, mistaken line; "" for a line dropped)."""
    if mistake == "no-max-shift":
        return [(STABLE[1], STABLE[0])]  # the real code shifts by the row max; the mistake drops the shift
    lines = {line.strip() for line in (LINEAR if model == "linear" else NET).split("\n")}
    return [(old, new) for old, new in MISTAKES[mistake].edits if old in lines]


def _computed(snap: Snapshot, mistake: str) -> dict:
    """What the sandbox computes for ``mistake`` at this iteration (kept while the page shows the same one)."""
    fingerprint = (snap.config, snap.iteration, snap.loss, mistake)
    cached = st.session_state.get(CACHE)
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == fingerprint:
        return cached[1]
    wrong = None if mistake == CORRECT else mistake
    out: dict = {}
    try:
        grads = mistaken_gradient(snap, wrong)
    except ShapeMistake as exc:
        out["shape"] = str(exc)
    else:
        out["check"] = check_gradient(snap.model, dict(snap.params), snap.X, snap.y, snap.reg, grads,
                                      budget=min(check_budget(snap), SANDBOX_BUDGET))
        out["correct"] = mistaken_run(snap, None, SHORT_RUN)
        out["wrong"] = mistaken_run(snap, wrong, SHORT_RUN) if wrong else out["correct"]
    st.session_state[CACHE] = (fingerprint, out)
    return out


def what_if(snap: Snapshot) -> None:
    """The panel: a mistake chooser, the edited lines, the gradient check of the mistaken gradient, a short run."""
    from ui.explainer import check_report, code  # (the explainer draws this panel: imported when drawn)

    st.subheader("What if the code were wrong?")
    if snap.config.loss != "softmax":
        st.markdown("The classic mistakes are made in the notes' softmax loop: set the loss to Softmax to try them.")
        return
    inputs.check_choice(st.session_state, KEY, (CORRECT, *MISTAKES), CORRECT)
    mistake = st.selectbox("Make a mistake", [CORRECT, *MISTAKES], format_func=_title, key=KEY, help=HELP)
    mistake = inputs.choice(mistake, (CORRECT, *MISTAKES), CORRECT)
    if mistake != CORRECT:
        m = MISTAKES[mistake]
        for old, new in edited_lines(snap.model.name, mistake):
            became = f"{code(new)}." if new else "nothing: it is left out."
            st.markdown(f"The correct line {code(old)} becomes {became}")
        st.markdown(m.why)
    if snap.running:  # a check and two short runs at every refresh would slow the page and the run
        st.markdown("Pause the run to try a mistake on the iteration you are looking at.")
        return
    if snap.config.optimizer != "sgd" or snap.config.batch_size:
        st.caption("The sandbox is the notes' loop: full-batch gradient descent, whatever this run's optimizer.")
    with st.spinner("Running the loop in the sandbox and checking its gradient…"):
        out = _computed(snap, mistake)
    if "shape" in out:
        name, (_, up) = next((n, s) for n, s in snap.model.sources.items() if s[0] == "X")
        cols = "K" if up == "dscores" else "H"
        st.error(f"This code does not even run. numpy refuses the product: {out['shape']}. np.dot(A, B) needs "
                 f"A's columns to match B's rows; X.T (D×N) times {up} (N×{cols}) lines up the N examples and gives "
                 f"the D×{cols} of d{name}. That is what the .T is for.", icon=":material/block:")
        return
    check = out["check"]
    who = "the correct code" if mistake == CORRECT else f"the mistaken code ({MISTAKES[mistake].title})"
    wrong = check.wrong_entries()
    if wrong:
        names = ", ".join(f"{name}[{','.join(map(str, ix))}]" for name, ix in wrong[:12])
        more = f" and {len(wrong) - 12} more" if len(wrong) > 12 else ""
        st.error(f"The check finds the gradient wrong in {len(wrong)} entries: {names}{more}.",
                 icon=":material/error:")
    elif mistake == "sign-flip":
        st.info("The gradient checks good: the mistake is not in the gradient but in the update, which climbs "
                "the loss. A gradient check cannot see it; the loss curve below can.")
    elif mistake == "no-max-shift":
        st.info("The gradient checks good at this iteration: its scores are small enough for exp(). The mistake "
                "only shows once scores grow past ~709 (a large step size, or weights trained long on separable "
                "data): then the loss and the gradient turn to NaN.")
    check_report(snap, check, f"The gradient of {who} at iteration {snap.iteration}", details=False)
    draw(mistake_run_figure(out["correct"], out["wrong"], snap.iteration,
                            "correct code" if mistake == CORRECT else MISTAKES[mistake].title,
                            theme=browser_theme(CHART_KEY)), CHART_KEY)
