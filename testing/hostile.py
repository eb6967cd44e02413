"""What the hostile-client tests and benches share: a protocol client that does what a browser never
would, and a server launcher that can serve another checkout (for before/after benches).

``Tab`` is a ``testing.wsclient.Session`` that also
- connects from a chosen loopback source address (127.0.0.2, ...), so that one test can play
  several client addresses against one server on 127.0.0.1;
- remembers every widget the page drew (id, element type, label) and every exception element;
- sends arbitrary widget values (``send_widgets``), as a crafted client can;
- asks for its chart fragment back to back without waiting for the timer (``greedy``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from testing.support import ROOT, streamlit_server
from testing.wsclient import XSRF_PLACEHOLDER, ProtocolError, Session

WIDGETS = ("selectbox", "slider", "number_input", "button", "button_group", "download_button", "bidi_component")


@dataclass
class Widget:
    id: str
    kind: str
    label: str

    @property
    def key(self) -> str:
        """The user key Streamlit puts at the end of a keyed widget's id ('' for unkeyed ones)."""
        return self.id.rsplit("-", 1)[-1] if self.id.startswith("$$ID-") else ""


@dataclass
class Seen:
    widgets: dict[str, Widget] = field(default_factory=dict)  # id -> widget
    exceptions: list[str] = field(default_factory=list)  # type and message of every exception element
    markdown: list[str] = field(default_factory=list)  # bodies of markdown elements (alerts included), latest run


class Tab(Session):
    """A browser tab that can misbehave; ``source`` is the loopback address it connects from."""

    def __init__(self, base_url: str, query: str = "", *, pace: str = "after-finish", source: str | None = None):
        super().__init__(base_url, query, pace=pace)
        self.source = source
        self.seen = Seen()

    async def connect(self, session_id: str | None = None, timeout: float = 30.0) -> None:
        protocols = ["streamlit"] + ([XSRF_PLACEHOLDER, session_id] if session_id else [])
        extra = {"local_addr": (self.source, 0)} if self.source else {}
        self._ws = await connect(self.url, subprotocols=protocols, compression=None, max_size=None,
                                 ping_interval=None, open_timeout=timeout, close_timeout=2, **extra)
        self.closed_reason = None
        self._idle.set()
        self._reader = asyncio.create_task(self._read(self._ws))

    def _handle(self, msg: ForwardMsg) -> None:
        if msg.WhichOneof("type") == "new_session" and not msg.metadata.run.fragment_ids:
            self.seen.markdown.clear()
        super()._handle(msg)

    def _delta(self, msg: ForwardMsg) -> None:
        super()._delta(msg)
        if msg.delta.WhichOneof("type") == "add_block" and msg.delta.add_block.WhichOneof("type") == "tab_container":
            tabs = msg.delta.add_block.tab_container
            if tabs.id:
                self.seen.widgets[tabs.id] = Widget(tabs.id, "tabs", "")
            return
        if msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        kind = element.WhichOneof("type")
        if kind in WIDGETS:
            proto = getattr(element, kind)
            self.seen.widgets[proto.id] = Widget(proto.id, kind, getattr(proto, "label", ""))
            if kind == "bidi_component":  # its events go to a second widget (components/v2/bidi_component)
                events = f"$$STREAMLIT_INTERNAL_KEY_{proto.id}__events"
                self.seen.widgets[events] = Widget(events, "bidi_events", "")
        elif kind == "exception":
            self.seen.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "markdown":
            self.seen.markdown.append(element.markdown.body)
        elif kind == "alert":
            self.seen.markdown.append(element.alert.body)

    def widget(self, key: str) -> Widget:
        """The widget drawn with user key ``key``."""
        for w in self.seen.widgets.values():
            if w.key == key:
                return w
        raise ProtocolError(f"no widget with key {key!r} (have {sorted(w.key for w in self.seen.widgets.values())})")

    async def send_widgets(self, states: list[WidgetState], fragment_id: str = "", timeout: float = 60.0) -> None:
        """A rerun carrying these widget states (as a crafted client would send them); waits for it."""
        await self.wait_idle(timeout)
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = self.query
        rerun.page_script_hash = self.page_script_hash
        rerun.widget_states.SetInParent()
        for state in states:
            rerun.widget_states.widgets.add().CopyFrom(state)
        if fragment_id:
            rerun.fragment_id = fragment_id
        if self._ws is None:
            raise ProtocolError("not connected")
        self._idle.clear()
        self._sent_at = time.monotonic()
        await self._ws.send(msg.SerializeToString())
        await self.wait_idle(timeout)

    async def greedy(self, seconds: float) -> int:
        """Ask for the chart fragment again the moment the last run finished, ignoring the interval the
        server asked for; a tab with no chart fragment (not training) reruns the whole page instead.
        Returns the requests sent."""
        sent, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline and self.connected:
            fragment_id = next(iter(self.auto_reruns), "")
            try:
                await self.rerun(fragment_id=fragment_id, auto=bool(fragment_id))
                sent += 1
            except ConnectionClosed:
                break
            with contextlib.suppress(TimeoutError, ProtocolError):
                await self.wait_idle(max(0.05, deadline - time.monotonic()))
        return sent


class HealthProbe(threading.Thread):
    """GET /_stcore/health every ``every`` seconds; records (start time, latency)."""

    def __init__(self, base: str, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.url, self.every, self.samples = f"{base}/_stcore/health", every, []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=60) as r:
                    r.read()
            except OSError:
                pass
            self.samples.append((t0, time.monotonic() - t0))
            self.stop.wait(max(0.0, self.every - (time.monotonic() - t0)))


def serve(root: Path = ROOT, app: str = "app.py", env: dict | None = None, args: list[str] | None = None,
          timeout: float = 60.0, port: int | None = None):
    """``streamlit run app`` in ``root`` (another checkout, for a "before" bench) on a loopback port
    (a free one unless given), BLAS on one thread; yields (base_url, Popen). Stopped by its pid on exit."""
    return streamlit_server(app, {"OPENBLAS_NUM_THREADS": "1", **(env or {})}, args, root=root, port=port,
                            timeout=timeout)
