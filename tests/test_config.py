"""Settings: one table drives defaults, ranges, the query string and validation."""

from dataclasses import fields

import pytest

from softmax.config import SETTINGS, Config, in_group, setting_info


def test_defaults_are_the_cs231n_case_study():
    c = Config()
    assert (c.dataset, c.points_per_class, c.classes, c.noise, c.seed) == ("spiral", 100, 3, 0.2, 0)
    assert (c.step_size, c.reg, c.iterations) == (1.0, 1e-3, 200)
    assert (c.model, c.loss, c.init, c.optimizer, c.batch_size) == ("linear", "softmax", "notes", "sgd", 0)


def test_every_setting_is_in_one_group_in_table_order():
    assert in_group("data") == ("dataset", "points_per_class", "classes", "noise", "seed", "test_share")
    assert in_group("model") == ("model", "loss", "hidden", "features", "init")
    assert in_group("training") == ("optimizer", "step_size", "reg", "batch_size")
    assert in_group("run") == ("iterations", "speed", "refresh")
    assert sum(len(in_group(g)) for g in ("data", "model", "training", "run")) == len(SETTINGS)


def test_what_a_change_means():
    c = Config()
    assert c.restarts(c.with_changes(seed=1)) and c.restarts(c.with_changes(loss="svm"))
    assert not c.restarts(c.with_changes(hidden=7))  # the linear model has no hidden layer
    net = c.with_changes(model="two-layer")
    assert net.restarts(net.with_changes(hidden=7))
    assert not c.restarts(c.with_changes(step_size=0.1, optimizer="adam", iterations=5, speed=9.0))
    assert c.training_changes(c.with_changes(step_size=0.1, iterations=5)) == {"step_size": 0.1}


def test_fractional_whole_numbers_get_a_notice():
    c, notices = Config.from_query({"classes": "1.5", "points_per_class": "20.0"})
    assert c.classes == 2 and c.points_per_class == 20
    assert notices == ["Classes: '1.5' is not a whole number, using 2"]


def test_features_are_a_comma_list_in_table_order():
    assert Config(features="x1sq,x1x2").features == "x1sq,x1x2"
    for bad in ("x1x2,x1sq", "x1sq,x1sq", "cube", "x1sq,", 3):
        with pytest.raises(ValueError, match="features"):
            Config(features=bad)
    c, notices = Config.from_query({"features": "x2sq, x1sq ,nope"})
    assert c.features == "x1sq,x2sq" and notices == ["Input features: unknown 'nope', left out"]


def test_own_points_have_no_generator_settings():
    own = Config(dataset="own")
    assert "points_per_class" not in own.to_query() and "noise" not in own.to_query()
    assert not own.restarts(own.with_changes(noise=0.7))


def test_hidden_units_travel_in_the_link_only_for_the_net():
    assert "hidden" not in Config().to_query()
    assert Config(model="two-layer", hidden=7).to_query()["hidden"] == "7"


def test_every_setting_has_a_label_and_help():
    for name in SETTINGS:
        info = setting_info(name)
        assert info["label"] and len(info["help"]) > 10


def test_query_round_trip():
    c = Config(dataset="circles", points_per_class=37, classes=7, noise=0.35, seed=12345, model="two-layer",
               loss="svm", hidden=17, init="plain", optimizer="adam", batch_size=32, features="x1sq,sinx2",
               test_share=0.25,
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
    bad = "nope" if info["choices"] or info["options"] else (info["hi"] * 10 + 1)
    with pytest.raises(ValueError, match=name):
        Config(**{name: bad})


def test_reg_zero_is_allowed_but_not_small_negative():
    assert Config(reg=0.0).reg == 0.0
    with pytest.raises(ValueError, match="reg must be 0 or between"):
        Config(reg=-1e-3)


WHOLE = [name for name in SETTINGS if type(getattr(Config(), name)) is int]


@pytest.mark.parametrize("name", WHOLE)
def test_a_fraction_for_a_whole_number_setting_gets_a_notice(name):
    """The bug tests/test_bad_input.py's property test once found (classes=1.5 became 2 silently): every
    whole-number setting given a fraction names the value it replaced."""
    config, notices = Config.from_query({name: "1.5"})
    assert getattr(config, name) != 1.5 and len(notices) == 1 and "'1.5'" in notices[0], (name, notices)
