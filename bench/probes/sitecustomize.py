"""Loaded by Python at start-up when this folder is on PYTHONPATH (bench/mass_disconnect.py puts it
there for the server it starts): times every ``Runtime.disconnect_session`` call -- the work
Streamlit does on its event loop when a page's websocket closes, the session-release hooks
included -- and appends ``<wall seconds> <CPU seconds of the event loop's thread>`` per call to the
file named by SOFTMAX_PROBE_FILE. Wall time is what every other connection waits; the CPU time is
the work itself, the rest is waiting (for a join, a lock, or the GIL held by training threads).

It works the same for any checkout (it patches Streamlit, not the page), so a "before" and an
"after" tree are measured alike.
"""

import os
import time

_path = os.environ.get("SOFTMAX_PROBE_FILE")
if _path:
    try:
        from streamlit.runtime.runtime import Runtime
    except Exception:  # not a Streamlit process
        Runtime = None
    if Runtime is not None:
        _real = Runtime.disconnect_session

        def _timed(self, *args, **kwargs):
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return _real(self, *args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
                with open(_path, "a") as f:
                    f.write(f"{wall:.6f} {cpu:.6f}\n")

        Runtime.disconnect_session = _timed
