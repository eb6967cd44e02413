"""The page: controls -> Config, one trainer per browser session, a fragment that draws snapshots.

Run with ``streamlit run app.py``. All numbers come from the ``softmax`` package;
this file only lays out widgets and charts.
"""

from __future__ import annotations

import os

import streamlit as st

from softmax.config import SETTINGS, Config, format_value, setting_info, slider_values
from softmax.data import DATASETS
from softmax.figures import all_figures
from softmax.trainer import Snapshot, TooManyTrainers, Trainer

Trainer.max_running = int(os.environ.get("SOFTMAX_MAX_RUNNING", "64"))
MAX_RUN_SECONDS = float(os.environ.get("SOFTMAX_MAX_RUN_SECONDS", "600"))
REFRESH_RATES = [1, 2, 3, 5, 8, 10]  # chart refreshes per second


@st.cache_resource(scope="session", on_release=lambda trainer: trainer.stop())
def session_trainer() -> Trainer:
    """This browser session's run; stopped when the session ends."""
    return Trainer(st.session_state.get("config", Config()), max_seconds=MAX_RUN_SECONDS)


def url_settings() -> None:
    """On a session's first run, read the settings from the query string (never fails)."""
    if "config" in st.session_state:
        return
    config, notices = Config.from_query(st.query_params.to_dict())
    st.session_state.config = config
    st.session_state.notices = notices
    for name in SETTINGS:
        st.session_state[f"cfg_{name}"] = getattr(config, name)


def _control(name: str):
    """One widget for one setting, labelled and explained by the setting's own metadata."""
    info, key = setting_info(name), f"cfg_{name}"
    common = {"label": info["label"], "help": info["help"], "key": key}
    if info["choices"]:
        return st.selectbox(options=list(info["choices"]), format_func=lambda n: DATASETS[n].title, **common)
    if info["log"]:
        return st.select_slider(options=slider_values(name, st.session_state.get(key)), format_func=format_value,
                                **common)
    if name == "seed":
        return st.number_input(min_value=info["lo"], max_value=info["hi"], step=1, **common)
    if name == "iterations":
        return st.number_input(min_value=info["lo"], max_value=info["hi"], step=100, **common)
    step = 1 if info["type"] == "int" else 0.05
    return st.slider(min_value=info["lo"], max_value=info["hi"], step=step, **common)


def _new_data() -> None:
    st.session_state.cfg_seed = (st.session_state.cfg_seed + 1) % (setting_info("seed")["hi"] + 1)


def sidebar() -> tuple[Config, float]:
    """The settings panel; returns the Config it shows and the refresh rate (Hz)."""
    with st.sidebar:
        st.header("Data")
        for name in ("dataset", "points_per_class", "classes", "noise", "seed"):
            _control(name)
        st.button("New data", on_click=_new_data, help="Draw a new dataset and new initial weights (next seed).",
                  width="stretch")
        st.header("Training")
        for name in ("step_size", "reg", "iterations", "speed"):
            _control(name)
        refresh = st.select_slider("Chart refreshes per second", REFRESH_RATES, value=5, key="refresh",
                                   help="How often the charts redraw while training runs.")
    config = Config(**{name: st.session_state[f"cfg_{name}"] for name in SETTINGS})
    return config, refresh


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


def draw(fig: dict, key: str) -> None:
    st.plotly_chart(fig, key=key, config={"displayModeBar": False})


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


def main() -> None:
    st.set_page_config(page_title="Softmax gradient, live", layout="wide")
    url_settings()
    config, refresh = sidebar()
    trainer = session_trainer()
    if config != trainer.config:
        trainer.update(config)
    st.query_params.from_dict(config.to_query())

    st.title("Watch the softmax gradient")
    st.caption("The CS231n case study: a linear softmax classifier trained by full-batch gradient descent. "
               "Press Start, then stop at any iteration and look at where each number comes from.")
    for notice in st.session_state.pop("notices", []):
        st.warning(f"Link setting replaced: {notice}")
    if busy := st.session_state.pop("busy", None):
        st.warning(f"Cannot start right now: {busy}.")
    buttons(trainer)

    running = trainer.running

    @st.fragment(run_every=1.0 / refresh if running else None)
    def live() -> None:
        snap = trainer.snapshot
        status(snap)
        charts(snap)
        if running and not snap.running:
            st.rerun()  # training ended by itself: redraw the page once, and stop polling

    live()


main()
