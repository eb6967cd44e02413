"""Fixtures shared by the test modules."""

import pytest
import streamlit as st

from softmax.runner import Trainer


@pytest.fixture
def stop_trainers():
    """After a page test: stop every trainer it left, in-process.

    AppTest runs every test in one process and AppTests share one session id:
    drop the session-scoped leases (their release hook pauses the trainers) and
    stop whatever still runs, so no test sees another's run.
    """
    yield
    st.cache_resource.clear()
    for t in list(Trainer._running):
        t.stop()
    assert Trainer.running_count() == 0
