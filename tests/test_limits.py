"""Server limits from the environment: defaults, every variable's range, and a typo that fails closed."""

import os
import subprocess
import sys

import pytest

from softmax.config import Config
from softmax.limits import MAX_ADDRESS_FRACTION, VARIABLES, LimitError, ServerLimits, env_name
from testing.support import ROOT

INT_VARIABLES = [name for name, v in VARIABLES.items() if v.kind is int]


def test_defaults_and_environment():
    assert ServerLimits.from_env({}) == ServerLimits()
    lim = ServerLimits.from_env({"SOFTMAX_MAX_RUNNING": "3", "SOFTMAX_MAX_POINTS": "600",
                                 "SOFTMAX_MAX_RUN_SECONDS": "2.5", "OTHER": "x", "SOFTMAX_MAX_SPEED": " 100 "})
    assert (lim.max_running, lim.max_points, lim.max_run_seconds, lim.max_speed) == (3, 600, 2.5, 100.0)


def test_every_variable_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in [*VARIABLES, "frame_ancestors"]:
        assert f"`{env_name(name)}`" in readme, name


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_each_variable_accepts_its_whole_range(name):
    v = VARIABLES[name]
    for value in (v.lo, v.hi, (v.lo + v.hi) // 2):
        text = str(int(value)) if v.kind is int else repr(float(value))
        assert getattr(ServerLimits.from_env({env_name(name): text}), name) == value


BAD = ["", "abc", "nan", "inf", "-inf", "-4", "1e400", "0x10", "1_000", "10 20", "٣", "1" * 500]


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_each_variable_refuses_malformed_and_out_of_range_values_naming_it_and_its_range(name):
    v = VARIABLES[name]
    below, above = v.lo - 1, v.hi + 1
    bad = [*BAD, repr(below) if v.kind is float else str(int(below)), str(int(above) if v.kind is int else above)]
    if v.kind is int:
        bad += ["1.5", "1e3", "3.0"]  # whole numbers only, written as such
    for raw in bad:
        with pytest.raises(LimitError) as caught:
            ServerLimits.from_env({env_name(name): raw})
        message = str(caught.value)
        assert message.startswith(f"{env_name(name)} must be") and f"from {v.lo:g} to {v.hi:g}" in message
        assert "\n" not in message and len(message) < 300, message  # one line, the value cut short


def test_one_typo_does_not_drop_the_other_limits():
    """The old behaviour this replaces: SOFTMAX_MAX_ITERATIONS=1e3 silently restored all defaults
    (64 runs allowed instead of the operator's 3). Now the whole configuration is refused."""
    with pytest.raises(LimitError, match="SOFTMAX_MAX_ITERATIONS"):
        ServerLimits.from_env({"SOFTMAX_MAX_RUNNING": "3", "SOFTMAX_MAX_ITERATIONS": "1e3"})


@pytest.mark.parametrize("raw,expected", [
    ("https://course.example.edu", ("https://course.example.edu",)),
    ("https://a.example  'self', http://localhost:8080/", ("https://a.example", "'self'", "http://localhost:8080")),
    ("", ()),
])
def test_frame_ancestors(raw, expected):
    assert ServerLimits.from_env({"SOFTMAX_FRAME_ANCESTORS": raw}).frame_ancestors == expected


@pytest.mark.parametrize("raw", ["*", "course.example.edu", "javascript:alert(1)", "https://a.example/path",
                                 "https://a.example; script-src *", "https://user@a.example", "data:", "'none'"])
def test_frame_ancestors_refuses_anything_but_origins(raw):
    with pytest.raises(LimitError, match="SOFTMAX_FRAME_ANCESTORS"):
        ServerLimits.from_env({"SOFTMAX_FRAME_ANCESTORS": raw})


def start_app(env: dict) -> subprocess.CompletedProcess:
    """Import app.py as `streamlit run app.py` does at start-up (it reads the limits there)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SOFTMAX_")}
    return subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", [*sorted(VARIABLES), "frame_ancestors"])
def test_the_server_refuses_to_start_with_one_line_naming_the_variable(name):
    result = start_app({env_name(name): "1e400x"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and env_name(name) in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_the_server_starts_with_good_limits():
    result = start_app({"SOFTMAX_MAX_RUNNING": "3", "SOFTMAX_FRAME_ANCESTORS": "https://course.example.edu"})
    assert result.returncode == 0, result.stderr


def test_streamlit_run_exits_non_zero_on_a_typo():
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SOFTMAX_")}
    result = subprocess.run(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", "1",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**clean, "SOFTMAX_MAX_CLASSES": "1"}, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "SOFTMAX_MAX_CLASSES must be a whole number from 2 to 10" in result.stderr
    assert "Traceback" not in result.stderr


def test_apply_clamps_with_notices():
    lim = ServerLimits(max_points=600, max_classes=5, max_iterations=1000, max_speed=100)
    config, notices = lim.apply(Config(classes=10, points_per_class=1000, iterations=5000, speed=5000))
    assert (config.classes, config.points_per_class, config.iterations, config.speed) == (5, 120, 1000, 100)
    assert len(notices) == 4 and all("this server allows at most" in n for n in notices)
    assert lim.apply(Config()) == (Config(), [])


@pytest.mark.parametrize("name", ["max_points", "max_classes", "max_iterations", "max_speed"])
def test_the_smallest_accepted_limit_still_gives_valid_settings(name):
    """The page builds its controls and its Config from these: the smallest value each variable
    accepts must still clamp every config to a valid one (SOFTMAX_MAX_SPEED=0.5 used to raise)."""
    lim = ServerLimits(**{name: VARIABLES[name].kind(VARIABLES[name].lo)})
    for config in (Config(), Config(classes=10, points_per_class=10_000, iterations=100_000, speed=10_000)):
        clamped, _ = lim.apply(config)
        assert Config(**clamped.__dict__) == clamped


def test_refresh_backs_off_under_load():
    lim = ServerLimits(refresh_budget=100)
    assert lim.refresh_rate(5, 1) == 5
    assert lim.refresh_rate(5, 50) == 2
    assert lim.refresh_rate(5, 1000) == 0.5


def test_the_refresh_budget_is_shared_by_address_first():
    lim = ServerLimits(refresh_budget=60, address_share=25)
    # a classroom of 30 behind one NAT address, alone: the whole budget, 2/s each
    assert lim.address_budget(30) == 60 and lim.session_rate(5, 60, 30) == 2.0
    # a client with 80 runs beside one student: it counts as 25 runs, the student as one, and it
    # gets at most three quarters of the budget while the student trains
    student, crowd = lim.address_budget(1, [80]), lim.address_budget(80, [1])
    assert student == pytest.approx(60 / 26) and lim.session_rate(5, student, 1) > 2
    assert crowd == 60 * MAX_ADDRESS_FRACTION and 80 * lim.session_rate(5, crowd, 80) <= crowd + 1e-9
    # an address with nothing training yet still has a share (for its clicks)
    assert lim.address_budget(0, [80]) == pytest.approx(60 / 26)


def test_a_page_changes_rate_when_its_fair_share_moves_by_a_quarter():
    lim = ServerLimits()
    assert not lim.rate_is_stale(5, 5)
    assert not lim.rate_is_stale(5, 4.17)
    assert lim.rate_is_stale(5, 3.85)
    assert lim.rate_is_stale(2, 4)
    assert not lim.rate_is_stale(2, 2.22)
