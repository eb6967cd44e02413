"""The page: controls -> Config, one trainer per browser session, a fragment that draws snapshots.

Run with ``streamlit run app.py`` (which serves this script through its ``st.App``). All numbers
come from the ``softmax`` package; this file only lays out widgets and charts.

Nothing a client sends is trusted: every widget value is checked where it is read (ui/inputs.py),
text that came from a user is shown as plain text (ui/text.py), and each session's script runs are
paced at the rate the server gave it (ui/sessions.py).
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from softmax.config import OWN as OWN_DATA
from softmax.config import SETTINGS, Config, format_value, in_group, setting_info, slider_values
from softmax.limits import LimitError, ServerLimits
from softmax.presets import PRESETS, page_setup
from softmax.runner import TooManyTrainers, Trainer
from softmax.snapshot import Snapshot
from ui import compare, inputs, owndata, server, sessions, stream, timeline
from ui.charts import charts, stream_state, visible_charts
from ui.explainer import explainer
from ui.text import plain

OWN = "own"  # the exercise chooser's "your own settings"
# Whole-page runs (clicks, widget changes) a session may ask for: a burst, then this many a second.
CLICK_BURST, CLICKS_PER_SECOND = 8, 4.0


def server_limits() -> ServerLimits:
    """This server's limits. app.py refuses to start on a bad SOFTMAX_* variable; should this page
    run without it (AppTest, ``streamlit run ui/page.py``), it says so in one line and stops."""
    try:
        return ServerLimits.from_env()
    except LimitError as exc:
        st.error(f"This server is misconfigured: {plain(str(exc))}")
        st.stop()


LIMITS = server_limits()
Trainer.max_running = LIMITS.max_running
Trainer.train_share = LIMITS.train_share
Trainer.max_points = LIMITS.max_points
REGISTRY = sessions.registry(LIMITS)


class _Lease:
    """A page connection's hold on its session's run, kept in a session-scoped cache.

    Streamlit releases it the moment the page's websocket closes (on its event loop: the release
    only signals, ui/sessions.py). The run itself lives in session_state, which Streamlit keeps
    for a reconnect: so a closed laptop pauses the run (no CPU for a page nobody sees) and a
    network blip resumes it where it was.
    """

    def __init__(self, seat: sessions.Seat) -> None:
        self.seat, self.token = seat, sessions.new_token()
        self.stream_token = stream.HUB.issue(seat)  # this connection's way into its run's live stream
        REGISTRY.connect(seat, self.token)

    def release(self) -> None:
        stream.HUB.revoke(self.stream_token)
        REGISTRY.release(self.seat, self.token)


@st.cache_resource(scope="session", on_release=_Lease.release)
def _lease(_seat: sessions.Seat) -> _Lease:
    return _Lease(_seat)


def session_seat(config: Config) -> tuple[sessions.Seat, str]:
    """This browser session's run; a run set aside while the page was away starts again from its settings."""
    seat = st.session_state.get("seat")
    if not isinstance(seat, sessions.Seat):
        seat = st.session_state.seat = sessions.new_seat(config, LIMITS, owndata.run_data(config))
        timeline.replay_link(seat.trainer, config)  # a link's mid-run changes
    seat.address = sessions.client_address()  # (a reconnect may come from another network)
    lease = _lease(seat)
    if seat.trainer is None:
        seat.trainer = Trainer(config, max_seconds=LIMITS.max_run_seconds, data=owndata.run_data(config))
    if seat.set_aside:
        seat.set_aside = False
        st.session_state.busy_info = ("While this page was away the server needed the room: the run starts again "
                                      "from iteration 0 with the same settings.")
    return seat, lease.stream_token


def _load(config: Config) -> None:
    """Put a Config into the controls (before they are drawn)."""
    for name in SETTINGS:
        st.session_state[f"cfg_{name}"] = inputs.widget_value(name, getattr(config, name))


def url_settings() -> None:
    """On a session's first run, read the settings from the query string (never fails)."""
    if "config" in st.session_state:
        return
    setup = page_setup(st.query_params.to_dict())
    query = st.query_params.to_dict()
    config, log_notices = timeline.link_settings(query, setup.config)  # the run's log
    st.session_state.config = config
    notices = [*setup.notices, *owndata.from_link(query, setup.config), *log_notices]
    st.session_state.notices = [f"Link setting replaced: {n}" for n in notices]
    st.session_state.exercise = setup.sentence
    st.session_state.hidden = setup.hidden
    st.session_state.preset = next((k for k, p in PRESETS.items() if p.sentence == setup.sentence), OWN)
    _load(config)


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
    if info["options"]:
        st.multiselect(options=list(info["options"]), format_func=info["options"].get, **common)
    elif info["choices"]:
        st.selectbox(options=list(info["choices"]), format_func=info["choices"].get, **common)
    elif info["log"]:
        # the link's value stays an option even when it is off the 1-2-5 grid
        options = [v for v in slider_values(name, getattr(st.session_state.config, name)) if v <= info["hi"]]
        st.select_slider(options=options, format_func=format_value, **common)
    elif name in ("seed", "iterations", "batch_size"):
        st.number_input(min_value=0 if info["zero_ok"] else info["lo"], max_value=info["hi"],
                        step=100 if name == "iterations" else 1, **common)
    else:
        number = int if info["type"] == "int" else float
        st.slider(min_value=number(info["lo"]), max_value=number(info["hi"]),
                  step=1 if info["type"] == "int" else 0.05, **common)


def _new_data() -> None:
    seed = inputs.last_good().seed
    st.session_state.cfg_seed = (seed + 1) % (setting_info("seed")["hi"] + 1)


def _edit_these() -> None:
    seat = st.session_state.get("seat")
    if isinstance(seat, sessions.Seat) and seat.trainer is not None:
        owndata.edit_these(seat.trainer)


def _choose_preset() -> None:
    name = inputs.choice(st.session_state.get("preset"), (OWN, *PRESETS), OWN)
    if name in PRESETS:
        _load(PRESETS[name].config)
    st.session_state.exercise = PRESETS[name].sentence if name in PRESETS else None


def url_query(config: Config) -> dict[str, str]:
    """The query string of a link to this setup: ``preset=NAME`` while an exercise's settings are unchanged
    (so a reload or a shared link keeps its question), else every setting; and the hidden controls."""
    preset = st.session_state.get("preset")
    query = {"preset": preset} if preset in PRESETS and PRESETS[preset].config == config else config.to_query()
    query.update(owndata.link_query(config))  # a small dataset of the user's own travels in the link
    if st.session_state.hidden:
        query["hide"] = ",".join(st.session_state.hidden)
    if "points" in query:
        # Your own points travel as they are now (points=). Edits made mid-run would have to be replayed on
        # the points the run started from, which the session no longer holds: such a link starts a run on
        # today's points instead (the share box says so); setting changes alone still travel in the log.
        seat = st.session_state.get("seat")
        log = timeline.pending_log(getattr(seat, "trainer", None), config)
        if any(change.edits for change in log):
            return query
    return timeline.link_query(query, config, preset)


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
        st.caption("Anyone who opens it gets the same data, initial weights and settings, and the settings you "
                   "changed mid-run at the same iterations. Teachers: add "
                   "&hide=dataset,classes (any setting names) to hide controls, or use ?preset=NAME.")
        if note := owndata.link_note(config):
            st.warning(note)
        elif "points" in query and timeline.LOG_KEY not in query and st.session_state.get("seat") is not None \
                and any(c.edits for c in timeline.pending_log(st.session_state.seat.trainer, config)):
            st.caption("It carries your points as they are now: it starts a run on them at iteration 0 (the "
                       "iterations at which you placed them stay here).")


def _note(prefix: str, notices: list[str]) -> None:
    """Notices for the next drawing of the page (shown as plain text: they quote what a user sent)."""
    st.session_state.notices = st.session_state.get("notices", []) + [f"{prefix}: {n}" for n in notices]


def sidebar() -> Config:
    """The settings panel; returns the Config it shows, within this server's limits."""
    inputs.check_choice(st.session_state, "preset", (OWN, *PRESETS), OWN)
    # Before the controls are drawn: a value no control could have sent is replaced and put back.
    checked, replaced = inputs.settings(st.session_state, LIMITS)
    _note("Control value replaced", replaced)
    shown, clamped = LIMITS.apply(checked)
    if clamped:
        _load(shown)
        _note("Link setting replaced", clamped)
    with st.sidebar:
        # the title lives here, not above the board: at 1280x720 the first screen then shows the buttons,
        # the status line and the first row of charts whole
        st.title("Watch the softmax gradient")
        st.caption("The CS231n case study: a softmax classifier (linear, or the notes' 2-layer net) trained by "
                   "gradient descent. Press Start, then stop at any iteration and look at where each number comes "
                   "from.")
        if "presets" not in st.session_state.hidden:
            st.selectbox("Exercise", [OWN, *PRESETS], key="preset", on_change=_choose_preset,
                         format_func=lambda n: PRESETS[n].title if n in PRESETS else "Your own settings",
                         help="A prepared setup with a question for you; it sets the controls below.")
        if st.session_state.exercise:
            # beside the chooser rather than above the board: at 1280x720 a banner there pushed the first
            # row of charts off the screen once "Go to iteration" appeared
            st.info(st.session_state.exercise, icon=":material/school:")
        st.header("Data")
        for name in in_group("data"):
            if setting_info(name)["applies"](checked):
                _control(name)
        if "seed" not in st.session_state.hidden:
            st.button("New data", on_click=_new_data, help="Draw a new dataset and new initial weights (next seed).",
                      width="stretch")
        if "dataset" not in st.session_state.hidden and checked.dataset != OWN_DATA:
            st.button("Edit these points", on_click=_edit_these, width="stretch",
                      help="Make these points your own: add, remove and clear them by clicking on the decision "
                           "regions, or save them as a CSV (the dataset becomes Your own points).")
        st.header("Model")
        for name in in_group("model"):
            if setting_info(name)["applies"](checked):
                _control(name)
        st.header("Training")
        for name in (*in_group("training"), *in_group("run")):
            _control(name)
        # a widget drawn before another changed (points before classes) may still exceed a limit
        config, _ = LIMITS.apply(inputs.settings(st.session_state, LIMITS, fix=False)[0])
        inputs.remember(config)
        if "share" not in st.session_state.hidden:
            share_link(config)
    return config


# The buttons' callbacks and the live fragment hold the seat, never the trainer itself: Streamlit
# keeps both for as long as it keeps the session, and a run set aside while its page is away
# (ui/sessions.py) must really let go of its arrays.
def _finished_note(seat: sessions.Seat) -> bool:
    """When the run cannot take another step, say why and what to do (a button never does nothing silently)."""
    trainer = seat.trainer
    if trainer is None or not trainer.finished:
        return False
    snap = trainer.snapshot
    if snap.diverged:
        st.session_state.busy_info = ("The run diverged, so it cannot go on: press Reset and try a smaller step size.")
    else:
        st.session_state.busy_info = (f"The run has reached its {snap.config.iterations}-iteration limit: raise "
                                      "Iterations (under Training) to go on, or press Reset to start again.")
    return True


def _start(seat: sessions.Seat) -> None:
    if _finished_note(seat):
        return
    try:
        REGISTRY.start(seat)
    except TooManyTrainers as exc:
        st.session_state.busy = str(exc)


def _pause(seat: sessions.Seat) -> None:
    if seat.trainer is not None:
        seat.trainer.pause()


def _step(seat: sessions.Seat) -> None:
    if seat.trainer is not None and not _finished_note(seat):
        seat.trainer.step()


def _reset(seat: sessions.Seat) -> None:
    if seat.trainer is not None:
        owndata.reset(seat.trainer)


def buttons(seat: sessions.Seat) -> None:
    cols = st.columns([1, 1, 1, 1, 1.7])
    cols[0].button("Start", type="primary", on_click=_start, args=(seat,), width="stretch",
                   help="Train in the background; the charts follow live.")
    cols[1].button("Pause", on_click=_pause, args=(seat,), width="stretch", help="Stop training; nothing is lost.")
    cols[2].button("Step", on_click=_step, args=(seat,), width="stretch",
                   help="Take exactly one gradient descent step.")
    cols[3].button("Reset", on_click=_reset, args=(seat,), width="stretch",
                   help="Back to iteration 0: the same data and initial weights (same seed).")
    compare.save_button(seat, cols[4])


def status(snap: Snapshot) -> None:
    if snap.N == 0:  # an empty plane of a user's own: a loss and an accuracy of no points mean nothing
        st.markdown(f"### Iteration {snap.iteration}")
        st.info("Add points: there are no training points yet, so there is no data loss and no gradient from data "
                "(only the regularization's). Click on the decision regions to place a point of the chosen class, "
                "or load a CSV.", icon=":material/add_location_alt:")
        return
    st.markdown(
        f"### Iteration {snap.iteration}\n"
        f"loss **{snap.loss:.6f}** = data {snap.data_loss:.6f} + reg {snap.reg_loss:.6g} · "
        f"accuracy **{snap.accuracy:.1%}**"
    )
    cap = snap.config.iterations
    # why it stopped goes on the progress bar's line, not in a box of its own: at 1280x720 a box here
    # pushed the first row of charts off the screen (the loss chart's title says "Loss blew up" too)
    stopped = ""
    if snap.diverged:
        stopped = (f" · :red[**{snap.stop_reason}**. Step size {format_value(snap.step_size)} is too large: "
                   "Reset, try 10 times smaller.]")
    elif snap.stop_reason and not snap.running:
        stopped = f" · stopped: {snap.stop_reason}"
    st.progress(min(snap.iteration / cap, 1.0), text=f"{snap.iteration} of {cap} iterations{stopped}")


def main() -> None:
    st.set_page_config(page_title="Softmax gradient, live", layout="wide")
    # Whole-page runs: this session's own allowance, and its address's (shared by its pages).
    sessions.pace("page", CLICKS_PER_SECOND, CLICK_BURST)
    REGISTRY.pace_address(sessions.client_address(), sessions.FULL_RUN)
    ignored = server.take_dropped(sessions.session_id())
    if ignored and "seat" in st.session_state:  # (a new session may get a previous one's values: no news)
        _note("Control value ignored", [f"{ignored} value(s) that no control on this page sends"])
    url_settings()
    config = sidebar()
    seat, token = session_seat(config)
    if config != seat.trainer.config:
        owndata.update(seat.trainer, config)
    owndata.restart_if_asked(seat.trainer, config)
    sync_url(config)

    for notice in st.session_state.pop("notices", []):
        st.warning(plain(notice))
    if busy := st.session_state.pop("busy", None):
        st.warning(f"Cannot start right now: {busy}.")
    if note := st.session_state.pop("busy_info", None):
        st.info(note)
    buttons(seat)
    if config.dataset == OWN_DATA:
        owndata.panel(seat.trainer, seat.trainer.snapshot, LIMITS)
    inputs.check_example(st.session_state, seat.trainer.snapshot.N, config.classes)
    running = seat.trainer.running
    watch, explain = st.tabs(["Watch it learn", "Explain the gradient"], key="view", on_change="rerun",
                             bind="query-params")

    # While it trains, the Watch tab's board follows the run's live stream (ui/stream.py) if this server
    # streams and the board has drawn a frame of this connection's stream (a browser); until then, and
    # without a browser (AppTest), the fragment below redraws on a timer.
    url = stream.mounted() if LIMITS.stream else None
    offer = bool(url) and running and not explain.open
    streaming = offer and stream_state() == token
    refresh = REGISTRY.refresh_rate(seat, config.refresh, streaming)

    @st.fragment(run_every=1.0 / refresh if running and not streaming else None)
    def live() -> None:
        # A fragment run faster than this page's share waits for it, whatever the client asks; one
        # that is no chart refresh (the page is not training: a click on a chart) is a click. (A
        # whole-page run, which draws this fragment too, was paced as a click already.)
        if sessions.fragment_run():
            if running and not streaming:
                sessions.pace("refresh", refresh, 2.0)
            else:
                sessions.pace("page", CLICKS_PER_SECOND, CLICK_BURST)
            REGISTRY.pace_address(seat.address)
        if seat.trainer is None:  # set aside while the page was away: redraw the page, which makes a new run
            st.rerun()
        if not explain.open and owndata.take_click(seat.trainer, seat.trainer.snapshot):
            st.rerun()  # the points changed: redraw the page (their count, the link) as well as the charts
        snap = timeline.shown(seat)  # the newest iteration, or the one "Go to iteration" chose
        inputs.check_example(st.session_state, snap.N, snap.K)
        if not streaming:  # (while streaming, the board shows the status line, frame by frame)
            status(snap)
        if running and refresh < config.refresh:
            st.caption(f"Many runs are training on this server: charts refresh {refresh:g} times a second.")
        if explain.open:
            explainer(snap, seat.trainer.trajectory)
        else:
            live_stream = {"url": url, "token": token, "live": offer,
                           "status": stream.status_fields(snap) if streaming else None} if url else None
            saved = compare.saved()
            picked, theme = charts(snap, stream=live_stream, saved=saved)
            if url:
                stream.HUB.show(token, picked, theme, saved, visible_charts(snap))
            compare.saved_row(snap)
        if running and not snap.running:
            st.rerun()  # training ended by itself: redraw the page once, and stop polling
        if offer and (stream_state() == token) != streaming:
            st.rerun()  # the board drew its first frame (or lost its stream): redraw without (or with) the timer
        if running and not streaming and LIMITS.rate_is_stale(refresh, REGISTRY.refresh_rate(seat, config.refresh)):
            st.rerun()  # the class grew or shrank: poll at the new fair share of the server

    with explain if explain.open else watch:
        live()


main()
