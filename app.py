"""Entry point: ``streamlit run app.py`` serves the page (ui/page.py) through an ``st.App`` that adds
the server's own guards (ui/server.py: security headers, private metrics, page caps, message pacing).

The limits are read here, once, before the server starts: a malformed or out-of-range SOFTMAX_*
variable stops it with one line naming the variable and its accepted range (exit status 2), so an
operator's typo never runs a classroom with no limits.
"""

import sys

import streamlit as st

from softmax.limits import LimitError, ServerLimits
from ui import server
from ui.plotly_live import plotly_js_route
from ui.stream import stream_route

try:
    LIMITS = ServerLimits.from_env()
except LimitError as exc:
    print(f"softmax: not starting: {exc}", file=sys.stderr)
    raise SystemExit(2) from None

# numpy's large temporaries (a frame's arrays) reuse freed heap instead of being mapped and faulted in anew
server.keep_freed_memory()

# plotly.js comes from the installed plotly package through a route of our own: nothing is written to disk
# and, with SOFTMAX_STREAM=1, the charts' live stream (ui/stream.py, docs/stream.md)
routes = [plotly_js_route(), *([stream_route(LIMITS)] if LIMITS.stream else [])]
app = st.App("ui/page.py", routes=routes, middleware=server.middleware(LIMITS), lifespan=server.lifespan)
