"""Fixtures and hooks shared by the test modules.

The suite runs in random order (pytest-randomly; the header of every run prints
``Using --randomly-seed=N``: pass the same option to replay an order). Process-wide state that a
test may change -- the trainers' class-level limits and registry, the page's session registry,
the plotly.js route flag -- is put back after every test by ``process_state`` below, so no test
depends on what ran before it.

Property tests run under hypothesis's derandomized "ci" profile (the same examples on every run;
``HYPOTHESIS_PROFILE=explore`` draws new ones, for looking for bugs rather than for CI).
"""

import asyncio
import os
import sys

import pytest
import streamlit as st
from hypothesis import settings

import softmax.runner
from softmax.runner import Trainer

settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("explore", derandomize=False, print_blob=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

@pytest.fixture(scope="module")
def loop():
    """An asyncio event loop for a module's websocket clients (test_stream, test_crafted_widgets)."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


# Modules whose tests run in file order whatever the random seed (see pytest_collection_modifyitems).
KEEP_FILE_ORDER = {"test_replicas.py"}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Put the tests of KEEP_FILE_ORDER modules back in file order, in the slots pytest-randomly gave them.

    tests/test_replicas.py shares one two-replica cluster (minutes to build) among its tests. Each of
    them sets up what it uses and puts back what it changes (a stopped replica is restarted, a client
    pushed past a balancer limit waits until the balancer forgets it), but the module has only ever been
    run in file order and it needs a container engine to run at all: until it has been run shuffled, it
    keeps the order it was verified in. Every other module is shuffled.
    """
    slots = [i for i, item in enumerate(items) if item.path.name in KEEP_FILE_ORDER]
    ordered = sorted((items[i] for i in slots), key=lambda item: (str(item.path), item.location[1], item.name))
    for i, item in zip(slots, ordered, strict=True):
        items[i] = item


def _module_state() -> dict:
    """The process-wide objects tests may change, by (owner, attribute)."""
    owners = [Trainer, softmax.runner]
    for name in ("ui.sessions", "ui.plotly_live", "ui.page"):
        if name in sys.modules:  # imported by the page tests only
            owners.append(sys.modules[name])
    return {(owner, name): value for owner in owners for name, value in list(vars(owner).items())}


@pytest.fixture(autouse=True)
def process_state():
    """Restore what a test may change for the whole process.

    - ``Trainer.max_running`` and ``Trainer.train_share``: ui/page.py sets them from the SOFTMAX_*
      variables on every run of the page (a test with SOFTMAX_MAX_RUNNING=1 would leave a limit of 1);
    - the training share's accounting: the registry of running trainers (``Trainer._running``, which
      ``Trainer._rest`` divides the share by) -- a trainer a test leaves running is stopped;
    - any other attribute of Trainer, softmax.runner, ui.sessions (its process registry of pages, with
      each address's click bucket), ui.plotly_live (the route flag) or ui.page that a test rebinds.
    """
    before = _module_state()
    running = set(Trainer._running)
    sessions = sys.modules.get("ui.sessions")
    registry = sessions._registry if sessions is not None else None
    yield
    for t in set(Trainer._running) - running:
        t.stop()
    for (owner, name), value in before.items():
        if vars(owner).get(name, _MISSING) is not value:
            setattr(owner, name, value)
    sessions = sys.modules.get("ui.sessions")
    if sessions is not None:
        sessions._registry = registry  # None when this test made it: the next page test makes its own
    Trainer._running.intersection_update(running)
    assert Trainer.max_running == before[(Trainer, "max_running")]


_MISSING = object()


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
