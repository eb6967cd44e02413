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
from softmax.limits import ServerLimits
from softmax.presets import PRESETS, page_setup
from softmax.trainer import Snapshot, TooManyTrainers, Trainer
from ui.charts import charts
from ui.explainer import explainer

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
        if running and LIMITS.rate_is_stale(refresh, config.refresh, Trainer.running_count()):
            st.rerun()  # the class grew or shrank: poll at the new fair share of the server

    with explain if explain.open else watch:
        live()


main()
