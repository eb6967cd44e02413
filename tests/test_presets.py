"""Teacher presets and what a link asks of the page."""

import numpy as np
import pytest

from softmax.config import Config
from softmax.presets import PRESETS, page_setup
from softmax.runner import Trainer


def test_the_presets_the_issues_ask_for():
    assert set(PRESETS) == {"cs231n", "step-too-large", "heavy-reg", "circles", "ten-classes", "two-layer",
                            "svm-vs-softmax", "circles-features"}
    assert PRESETS["cs231n"].config == Config()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_trains_and_tells_its_story(name):
    preset = PRESETS[name]
    assert preset.sentence.endswith(("?", "."))
    snap = Trainer(preset.config).run_to_end()
    if name == "step-too-large":
        assert snap.diverged and snap.iteration < 20
    else:
        assert not snap.diverged and snap.iteration == preset.config.iterations
    if name == "heavy-reg":  # the loss stays near ln 3, every probability near 1/3, the accuracy the case study's
        assert snap.loss > 1.0 and snap.parts["probs"].max() < 0.4
        assert abs(snap.accuracy - Trainer(Config()).run_to_end().accuracy) < 0.03
    if name == "circles-features":  # the linear model separates the rings once it sees x1² and x2²
        assert snap.accuracy >= 0.95 and snap.params["W"].shape == (4, 3)
    if name == "two-layer":
        assert round(snap.accuracy, 2) == 0.98
    if name == "svm-vs-softmax":  # points won by a margin of 1 give no gradient
        assert snap.config.loss == "svm" and (np.abs(snap.parts["dscores"]).sum(axis=1) == 0).any()
    if name == "cs231n":
        assert round(snap.accuracy, 2) == 0.49
    if name == "ten-classes":
        assert snap.accuracy > 0.8


def test_preset_then_overrides_then_hide():
    setup = page_setup({"preset": "circles", "classes": "4", "hide": "dataset, classes,bogus,classes"})
    assert setup.config == Config(dataset="circles", classes=4)
    assert setup.sentence == PRESETS["circles"].sentence
    assert setup.hidden == ("dataset", "classes")
    assert setup.notices == ["Hide: no control called 'bogus'"]


def test_unknown_preset_is_a_notice():
    setup = page_setup({"preset": "nope", "seed": ["1", "5"]})
    assert setup.config == Config(seed=5) and setup.sentence is None
    assert "unknown preset" in setup.notices[0]
