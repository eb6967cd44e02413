"""The page: controls -> Config, one trainer per browser session, a fragment that draws snapshots.

Run with ``streamlit run app.py``. All numbers come from the ``softmax`` package;
this file only lays out widgets and charts.
"""

from __future__ import annotations

import sys
from urllib.parse import urlencode

import streamlit as st

from softmax.config import SETTINGS, Config, format_value, setting_info, slider_values
from softmax.data import DATASETS
from softmax.explain import example, gradient_sums, seed_lines
from softmax.export import export_script
from softmax.figures import all_figures, decision_figure
from softmax.gradcheck import check_softmax_gradient
from softmax.limits import ServerLimits
from softmax.presets import PRESETS, page_setup
from softmax.trainer import Snapshot, TooManyTrainers, Trainer
from ui.plotly_live import plotly_live

try:
    LIMITS = ServerLimits.from_env()
except ValueError as exc:  # an operator's typo must not take the page down
    print(f"softmax app: {exc}; using the default limits", file=sys.stderr)
    LIMITS = ServerLimits()
Trainer.max_running = LIMITS.max_running
OWN = "own"  # the exercise chooser's "your own settings"


class _Lease:
    """A session's hold on its trainer, kept in a session-scoped cache.

    Streamlit releases it the moment the page's websocket closes. The trainer
    itself lives in session_state, which Streamlit keeps for a reconnect: so a
    closed laptop pauses the run (no CPU for a page nobody sees) and a network
    blip resumes it where it was.
    """

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        try:
            trainer.resume()
        except TooManyTrainers:
            pass  # the student presses Start again; the page explains if the server is still full

    def release(self) -> None:
        self.trainer.suspend()


@st.cache_resource(scope="session", on_release=_Lease.release)
def _lease(_trainer: Trainer) -> _Lease:
    return _Lease(_trainer)


def session_trainer() -> Trainer:
    """This browser session's run."""
    if "trainer" not in st.session_state:
        st.session_state.trainer = Trainer(st.session_state.config, max_seconds=LIMITS.max_run_seconds)
    _lease(st.session_state.trainer)
    return st.session_state.trainer


def _load(config: Config) -> None:
    """Put a Config into the controls (before they are drawn)."""
    for name in SETTINGS:
        st.session_state[f"cfg_{name}"] = getattr(config, name)


def url_settings() -> None:
    """On a session's first run, read the settings from the query string (never fails)."""
    if "config" in st.session_state:
        return
    setup = page_setup(st.query_params.to_dict())
    st.session_state.config = setup.config
    st.session_state.notices = setup.notices
    st.session_state.exercise = setup.sentence
    st.session_state.hidden = setup.hidden
    st.session_state.preset = next((k for k, p in PRESETS.items() if p.sentence == setup.sentence), OWN)
    _load(setup.config)


def _control(name: str) -> None:
    """One widget for one setting, labelled and explained by the setting's own metadata,
    its range narrowed to what this server allows. Ranges and options stay fixed for the
    session: a widget whose range changes is a new widget and loses its value."""
    if name in st.session_state.hidden:
        return
    info, key = dict(setting_info(name)), f"cfg_{name}"
    if (cap := LIMITS.upper(name)) is not None:
        info["hi"] = type(info["default"])(min(info["hi"], cap))
    common = {"label": info["label"], "help": info["help"], "key": key}
    if info["choices"]:
        st.selectbox(options=list(info["choices"]), format_func=lambda n: DATASETS[n].title, **common)
    elif info["log"]:
        # the link's value stays an option even when it is off the 1-2-5 grid
        options = [v for v in slider_values(name, getattr(st.session_state.config, name)) if v <= info["hi"]]
        st.select_slider(options=options, format_func=format_value, **common)
    elif name in ("seed", "iterations"):
        st.number_input(min_value=info["lo"], max_value=info["hi"], step=1 if name == "seed" else 100, **common)
    else:
        st.slider(min_value=info["lo"], max_value=info["hi"], step=1 if info["type"] == "int" else 0.05, **common)


def _new_data() -> None:
    st.session_state.cfg_seed = (st.session_state.cfg_seed + 1) % (setting_info("seed")["hi"] + 1)


def _choose_preset() -> None:
    name = st.session_state.preset
    if name in PRESETS:
        _load(PRESETS[name].config)
    st.session_state.exercise = PRESETS[name].sentence if name in PRESETS else None


def url_query(config: Config) -> dict[str, str]:
    """Every setting, and the hidden controls, as the query string of a link to this setup."""
    query = config.to_query()
    if st.session_state.hidden:
        query["hide"] = ",".join(st.session_state.hidden)
    return query


def sync_url(config: Config) -> None:
    """Keep the address bar equal to the setup, so copying it reproduces the run."""
    query = url_query(config)
    for key in list(st.query_params):
        if key not in query and key != "view":  # "view" belongs to the tabs widget
            del st.query_params[key]
    for key, value in query.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def share_link(config: Config) -> None:
    """The page's address with every setting in it; st.code has a copy button."""
    query = url_query(config)
    link = f"{st.context.url or ''}?{urlencode(query)}"
    with st.expander("Copy link to this setup"):
        st.code(link, language=None, wrap_lines=True)
        st.caption("Anyone who opens it gets the same data, initial weights and settings. Teachers: add "
                   "&hide=dataset,classes (any setting names) to hide controls, or use ?preset=NAME.")


def _settings() -> Config:
    return Config(**{name: st.session_state[f"cfg_{name}"] for name in SETTINGS})


def sidebar() -> Config:
    """The settings panel; returns the Config it shows, within this server's limits."""
    shown, notices = LIMITS.apply(_settings())
    if notices:
        _load(shown)
        st.session_state.notices = st.session_state.get("notices", []) + notices
    with st.sidebar:
        if "presets" not in st.session_state.hidden:
            st.selectbox("Exercise", [OWN, *PRESETS], key="preset", on_change=_choose_preset,
                         format_func=lambda n: PRESETS[n].title if n in PRESETS else "Your own settings",
                         help="A prepared setup with a question for you; it sets the controls below.")
        st.header("Data")
        for name in ("dataset", "points_per_class", "classes", "noise", "seed"):
            _control(name)
        if "seed" not in st.session_state.hidden:
            st.button("New data", on_click=_new_data, help="Draw a new dataset and new initial weights (next seed).",
                      width="stretch")
        st.header("Training")
        for name in ("step_size", "reg", "iterations", "speed", "refresh"):
            _control(name)
        # a widget drawn before another changed (points before classes) may still exceed a limit
        config, _ = LIMITS.apply(_settings())
        if "share" not in st.session_state.hidden:
            share_link(config)
    return config


def _start(trainer: Trainer) -> None:
    try:
        trainer.start()
    except TooManyTrainers as exc:
        st.session_state.busy = str(exc)


def buttons(trainer: Trainer) -> None:
    cols = st.columns(4)
    cols[0].button("Start", type="primary", on_click=_start, args=(trainer,), width="stretch",
                   help="Train in the background; the charts follow live.")
    cols[1].button("Pause", on_click=trainer.pause, width="stretch", help="Stop training; nothing is lost.")
    cols[2].button("Step", on_click=trainer.step, width="stretch", help="Take exactly one gradient descent step.")
    cols[3].button("Reset", on_click=trainer.reset, width="stretch",
                   help="Back to iteration 0: the same data and initial weights (same seed).")


def status(snap: Snapshot) -> None:
    st.markdown(
        f"### Iteration {snap.iteration}\n"
        f"loss **{snap.loss:.6f}** = data {snap.data_loss:.6f} + reg {snap.reg_loss:.6g} · "
        f"accuracy **{snap.accuracy:.1%}**"
    )
    cap = snap.config.iterations
    st.progress(min(snap.iteration / cap, 1.0), text=f"{snap.iteration} of {cap} iterations")
    if snap.diverged:
        st.error(f"Training diverged ({snap.stop_reason.removeprefix('diverged: ')}): the step size "
                 f"{format_value(snap.step_size)} is too large. Press Reset and try a step size 10 times smaller.")
    elif snap.stop_reason and not snap.running:
        st.info(f"Stopped: {snap.stop_reason}.")


def draw(fig: dict, key: str) -> int | None:
    """Draw a figure in place (no remount, no flicker); returns the index of a training point
    clicked since the last run, or None."""
    click = plotly_live(fig, key=key, height=fig["layout"].get("height", 440))
    seen = f"_seen_click_{key}"
    if not click or click == st.session_state.get(seen):
        return None
    st.session_state[seen] = click
    custom = click.get("customdata")
    return int(custom[0]) if isinstance(custom, list) and custom else None


def charts(snap: Snapshot) -> None:
    figs = all_figures(snap)
    left, right = st.columns(2)
    with left:
        draw(figs["loss"], "loss")
    with right:
        draw(figs["decision"], "decision")
    left, right = st.columns([1, 2])
    with left:
        draw(figs["gradient_table"], "gradient_table")
    with right:
        draw(figs["gradient_history"], "gradient_history")
    draw(figs["dscores"], "dscores")


def _vec(a, digits: int = 4) -> str:
    return "[" + ",\\ ".join(f"{v:.{digits}f}" for v in a) + "]"


def _table(a, rows: list[str], cols: list[str], fmt: str = "{:+.6e}") -> None:
    st.table({"": rows, **{c: [fmt.format(v) for v in a[:, j]] for j, c in enumerate(cols)}}, hide_index=True)


def chain(snap: Snapshot, i: int) -> None:
    """The forward and backward pass as equations, with this run's values for example i."""
    e = example(snap, i)
    N, K = snap.probs.shape
    st.markdown(f"With example **i = {i}** (class {e.label}) and this iteration's numbers:")
    st.latex(rf"s_i = x_i W + b = {_vec(e.scores)}")
    st.latex(rf"p_i = \mathrm{{softmax}}(s_i) = \frac{{e^{{s_i}}}}{{\sum_k e^{{s_{{ik}}}}}} = {_vec(e.probs)}")
    st.latex(rf"L = -\frac{{1}}{{N}}\sum_i \log p_{{i,y_i}} + \tfrac{{1}}{{2}}\,\lambda \sum W^2 "
             rf"= {snap.data_loss:.6f} + {snap.reg_loss:.6f} = {snap.loss:.6f}")
    st.caption("Fact: the derivative of −log softmax(s)_y with respect to s_k is p_k − [k = y].")
    st.latex(rf"\mathrm{{dscores}}_i = \frac{{\partial L}}{{\partial s_i}} = \frac{{p_i - \mathrm{{onehot}}(y_i)}}{{N}}"
             rf" = \frac{{{_vec(e.probs - e.onehot)}}}{{{N}}} = {_vec(e.dscores, 6)}")
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
    D, K = snap.W.shape
    classes = [f"class {k}" for k in range(K)]
    st.markdown(f"Its contribution to dW is **outer(x_{i}, dscores_{i})**: row d is x[d] times dscores.")
    rows = [f"W[{d}, ·]" for d in range(D)]
    _table(e.contribution, rows, classes)
    sums = gradient_sums(snap)
    st.markdown(f"**All {len(snap.y)} contributions summed, beside the model's X.T @ dscores** — the same numbers:")
    left, right = st.columns(2)
    with left:
        st.caption("Σᵢ outer(xᵢ, dscoresᵢ)")
        _table(sums.sum_contributions, rows, classes)
    with right:
        st.caption("X.T @ dscores (the model's dW data part)")
        _table(sums.dW_data, rows, classes)
    left, right = st.columns(2)
    with left:
        st.caption("Σᵢ dscoresᵢ")
        _table(sums.sum_dscores[None, :], ["db"], classes)
    with right:
        st.caption("the model's db")
        _table(sums.db[None, :], ["db"], classes)
    st.markdown(f"And the regularization part, reg·W with reg = {format_value(snap.reg)}; dW = X.T @ dscores + reg·W:")
    left, right = st.columns(2)
    with left:
        st.caption("reg · W")
        _table(sums.reg_times_W, rows, classes)
    with right:
        st.caption("dW (the model's gradient)")
        _table(sums.dW, rows, classes)


def gradient_check(snap: Snapshot) -> None:
    key = "gradcheck"
    if st.button("Run the gradient check", help="Compare every entry of dW and db with centered differences "
                 "(f(w+h) − f(w−h)) / 2h, h = 1e-5."):
        params = {"W": snap.W, "b": snap.b}
        st.session_state[key] = (snap.iteration, check_softmax_gradient(params, snap.X, snap.y, snap.reg))
    if key not in st.session_state:
        return
    at, check = st.session_state[key]
    D, K = snap.W.shape
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


def main() -> None:
    st.set_page_config(page_title="Softmax gradient, live", layout="wide")
    url_settings()
    config = sidebar()
    trainer = session_trainer()
    if config != trainer.config:
        trainer.update(config)
    sync_url(config)

    st.title("Watch the softmax gradient")
    st.caption("The CS231n case study: a linear softmax classifier trained by full-batch gradient descent. "
               "Press Start, then stop at any iteration and look at where each number comes from.")
    if st.session_state.exercise:
        st.info(st.session_state.exercise, icon=":material/school:")
    for notice in st.session_state.pop("notices", []):
        st.warning(f"Link setting replaced: {notice}")
    if busy := st.session_state.pop("busy", None):
        st.warning(f"Cannot start right now: {busy}.")
    buttons(trainer)
    if "example" not in st.session_state:  # the outermost point of class 0: far from the origin
        st.session_state.example = config.points_per_class - 1
    running = trainer.running
    watch, explain = st.tabs(["Watch it learn", "Explain the gradient"], key="view", on_change="rerun",
                             bind="query-params")

    refresh = LIMITS.refresh_rate(config.refresh, Trainer.running_count())

    @st.fragment(run_every=1.0 / refresh if running else None)
    def live() -> None:
        snap = trainer.snapshot
        status(snap)
        if running and refresh < config.refresh:
            st.caption(f"Many runs are training on this server: charts refresh {refresh:g} times a second.")
        if explain.open:
            explainer(snap)
        else:
            charts(snap)
        if running and not snap.running:
            st.rerun()  # training ended by itself: redraw the page once, and stop polling

    with explain if explain.open else watch:
        live()


main()
