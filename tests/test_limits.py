"""Server limits from the environment."""

import pytest

from softmax.config import Config
from softmax.limits import ServerLimits


def test_defaults_and_environment():
    assert ServerLimits.from_env({}) == ServerLimits()
    lim = ServerLimits.from_env({"SOFTMAX_MAX_RUNNING": "3", "SOFTMAX_MAX_POINTS": "600",
                                 "SOFTMAX_MAX_RUN_SECONDS": "2.5", "OTHER": "x"})
    assert (lim.max_running, lim.max_points, lim.max_run_seconds) == (3, 600, 2.5)


@pytest.mark.parametrize("value", ["abc", "0", "-4", "nan", "inf", "1.5"])
def test_bad_environment_values_name_the_variable(value):
    with pytest.raises(ValueError, match="SOFTMAX_MAX_RUNNING"):
        ServerLimits.from_env({"SOFTMAX_MAX_RUNNING": value})


def test_apply_clamps_with_notices():
    lim = ServerLimits(max_points=600, max_classes=5, max_iterations=1000, max_speed=100)
    config, notices = lim.apply(Config(classes=10, points_per_class=1000, iterations=5000, speed=5000))
    assert (config.classes, config.points_per_class, config.iterations, config.speed) == (5, 120, 1000, 100)
    assert len(notices) == 4 and all("this server allows at most" in n for n in notices)
    assert lim.apply(Config()) == (Config(), [])


def test_refresh_backs_off_under_load():
    lim = ServerLimits(refresh_budget=100)
    assert lim.refresh_rate(5, 1) == 5
    assert lim.refresh_rate(5, 50) == 2
    assert lim.refresh_rate(5, 1000) == 0.5


def test_a_page_changes_rate_when_the_class_grows_or_shrinks_by_a_quarter():
    lim = ServerLimits(refresh_budget=100)
    assert not lim.rate_is_stale(5, 5, 10)  # 10 running: 5/s each, as it polls
    assert not lim.rate_is_stale(5, 5, 24)  # 4.17/s: within a quarter, no rerun for so little
    assert lim.rate_is_stale(5, 5, 26)      # 3.85/s
    assert lim.rate_is_stale(2, 5, 25)      # the class shrank from 50 to 25: 4/s
    assert not lim.rate_is_stale(2, 5, 45)  # 2.22/s
