"""Settings: one table drives defaults, ranges, the query string and validation."""

from dataclasses import fields

import pytest

from softmax.config import SETTINGS, Config, setting_info


def test_defaults_are_the_cs231n_case_study():
    c = Config()
    assert (c.dataset, c.points_per_class, c.classes, c.noise, c.seed) == ("spiral", 100, 3, 0.2, 0)
    assert (c.step_size, c.reg, c.iterations) == (1.0, 1e-3, 200)


def test_every_setting_has_a_label_and_help():
    for name in SETTINGS:
        info = setting_info(name)
        assert info["label"] and len(info["help"]) > 10


def test_query_round_trip():
    c = Config(dataset="circles", points_per_class=37, classes=7, noise=0.35, seed=12345,
               step_size=0.0123, reg=0.0, iterations=999, speed=123.5)
    back, notices = Config.from_query(c.to_query())
    assert back == c and notices == []


def test_junk_is_replaced_or_clamped_with_notices_and_unknown_keys_ignored():
    c, notices = Config.from_query({"classes": "99", "step_size": "fast", "reg": "-1", "noise": "inf",
                                    "dataset": "<script>", "bogus": "1", "seed": ["1", "2"]})
    assert c.classes == 10 and c.step_size == 1.0 and c.reg == 1e-5 and c.noise == 0.2
    assert c.dataset == "spiral" and c.seed == 2
    assert len(notices) == 5
    assert any("Classes" in n and "10" in n for n in notices)


@pytest.mark.parametrize("name", [f.name for f in fields(Config)])
def test_validation_names_the_setting(name):
    info = setting_info(name)
    bad = "nope" if info["choices"] else (info["hi"] * 10 + 1)
    with pytest.raises(ValueError, match=name):
        Config(**{name: bad})


def test_reg_zero_is_allowed_but_not_small_negative():
    assert Config(reg=0.0).reg == 0.0
    with pytest.raises(ValueError, match="reg must be 0 or between"):
        Config(reg=-1e-3)
