"""Widget values checked where the page reads them.

A browser only sends what its widgets allow, but anyone can speak the websocket protocol and send
any value for any widget: a string for a slider, an unknown dataset, NaN, 1e400. Every value the
page reads goes through here first. A bad one is replaced by the last good value (nothing the
student set is lost), the replacement is put back into the widget's state so it cannot come
again on the next run, and the page shows a notice saying what was replaced.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, MutableMapping
from typing import Any

from softmax.config import SETTINGS, Config, format_value, setting_info
from softmax.limits import ServerLimits

GOOD = "_last_good_config"


def _shown(value: Any) -> str:
    text = repr(value)
    return text[:40] + ("..." if len(text) > 40 else "")


def widget_value(name: str, value: Any) -> Any:
    """A setting's value as its control holds it: a list for a setting with several options (the Config
    holds a comma list), the value itself otherwise."""
    if setting_info(name)["options"] is not None:
        return value.split(",") if isinstance(value, str) and value else []
    return value


def setting_value(name: str, value: Any) -> Any:
    """A control's value as the Config holds it (the inverse of ``widget_value``); a list that is not a
    list of options is returned as it is, for ``valid_setting`` to refuse."""
    options = setting_info(name)["options"]
    if options is not None and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(o for o in options if o in value) if set(value) <= set(options) else repr(value)
    return value


def valid_setting(name: str, value: Any, limits: ServerLimits | None = None) -> bool:
    """True if a control could have sent ``value`` for setting ``name``: the right type, in range,
    a known option (the Config's own check) and, for the server-capped settings, a number."""
    if isinstance(value, bool) or value is None:
        return False
    try:
        Config().with_changes(**{name: value})
    except (ValueError, TypeError):
        return False
    return True


def last_good(state: MutableMapping | None = None) -> Config:
    """The last settings the page ran with (the defaults before the first run)."""
    if state is None:
        import streamlit as st

        state = st.session_state
    good = state.get(GOOD)
    return good if isinstance(good, Config) else Config()


def remember(config: Config, state: MutableMapping | None = None) -> None:
    if state is None:
        import streamlit as st

        state = st.session_state
    state[GOOD] = config


def settings(state: MutableMapping, limits: ServerLimits, fix: bool = True) -> tuple[Config, list[str]]:
    """The controls' values as a Config. A value that is not a valid setting is replaced by the
    last good one; with ``fix``, it is also written back into the control's state (only allowed
    before the control is drawn in this run). Returns the config and one notice per replacement."""
    good, values, notices = last_good(state), {}, []
    for name in SETTINGS:
        key = f"cfg_{name}"
        value = setting_value(name, state.get(key, widget_value(name, getattr(good, name))))
        if not valid_setting(name, value, limits):
            value = getattr(good, name)
            notices.append(f"{setting_info(name)['label']}: {_shown(state.get(key))} is not a value this control "
                           f"has; kept {format_value(value) or 'none'}")
            if fix:
                state[key] = widget_value(name, value)
        values[name] = value
    return Config(**values), notices


def choice(value: Any, options: Iterable, default: Any) -> Any:
    """``value`` if it is one of ``options`` (compared safely: a crafted value may be unhashable), else ``default``."""
    return value if isinstance(value, str) and value in tuple(options) else default


def check_choice(state: MutableMapping, key: str, options: Iterable, default: Any) -> None:
    """Put ``default`` into a selectbox's state if it holds anything but one of its options."""
    if key in state and choice(state[key], options, None) is None:
        state[key] = default


def example_index(value: Any, n: int) -> int | None:
    """A training point's index from a widget or a click: a whole number in [0, n) or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 0 <= value < n else None


def check_example(state: MutableMapping, n: int, classes: int) -> None:
    """The explainer's example index: one of the run's n training points (by default the last of the
    first class's share, the outermost point of class 0 on the generated datasets)."""
    if example_index(state.get("example"), n) is None:
        state["example"] = max(min(n // max(classes, 1) - 1, n - 1), 0)
