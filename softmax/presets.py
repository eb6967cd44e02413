"""Teacher presets: a named setup and one sentence for the student, chosen on the page or by ?preset=NAME."""

from __future__ import annotations

from typing import NamedTuple

from .config import Config


class Preset(NamedTuple):
    title: str
    config: Config
    sentence: str


PRESETS: dict[str, Preset] = {
    "cs231n": Preset(
        "The CS231n case study", Config(),
        "The CS231n case study: the loss falls from ln 3 ≈ 1.10 to 0.79 (the notes' numbers, digit for digit), "
        "yet a linear classifier gets only about half of the spiral right. Which points does it miss, and why?"),
    "step-too-large": Preset(
        "A step size too large", Config(step_size=50.0),
        "Step size 50: every update overshoots and the loss blows up within a few iterations. "
        "Find the largest step size that still makes the loss fall: after each try press Save this run for "
        "comparison, and up to three runs' loss curves stay on the loss chart beside the one you train next."),
    "heavy-reg": Preset(
        "Heavy regularization", Config(reg=1.0),
        "Regularization 1: reg·W pulls the weights so close to zero that the loss stays near ln 3 ≈ 1.10 and "
        "every probability stays near 1/3 (the regions are pale everywhere), yet the accuracy is about the case "
        "study's: the weights shrink, their direction survives. In the explainer, watch dW's data part and "
        "reg·W cancel: that is the optimum."),
    "circles": Preset(
        "Circles", Config(dataset="circles"),
        "Rings inside rings: no straight line separates them, so a linear softmax classifier stays near chance "
        "whatever the step size. What would a better model need?"),
    "circles-features": Preset(
        "Circles with x₁² and x₂²", Config(dataset="circles", features="x1sq,x2sq", iterations=500),
        "The circles again, with x₁² and x₂² as two extra inputs: the same linear classifier now separates the "
        "rings. Nothing in the model changed but its inputs. Which rows of W carry the decision now?"),
    "ten-classes": Preset(
        "Ten classes", Config(dataset="blobs", classes=10, iterations=500),
        "Ten classes: W has ten columns, one per class, and each gets its own gradient. "
        "Watch each class's gradient fade as its blob is claimed."),
    "two-layer": Preset(
        "The 2-layer net", Config(model="two-layer", iterations=10_000, speed=500.0),
        "The notes' second half: 100 ReLU units between the points and the scores, the same data, the same "
        "loss. It reaches 98 % where the linear classifier got 49 %. What did the hidden layer buy: look at "
        "where its units switch on."),
    "svm-vs-softmax": Preset(
        "SVM or softmax", Config(loss="svm"),
        "The same data and weights with the multiclass SVM loss: dscores is now a count of violated margins, "
        "not p − onehot. Points the SVM already classifies by a margin of 1 give no gradient at all. Save this "
        "run for comparison (its loss curve stays on the chart), then switch the loss back to softmax: which "
        "points stop pulling?"),
}


# Controls a link may hide: every setting, the exercise chooser and the share link.
HIDEABLE = (*Config.__dataclass_fields__, "presets", "share")


class PageSetup(NamedTuple):
    """What a link asks of the page: the settings, an exercise sentence, controls to hide, and notices."""

    config: Config
    sentence: str | None
    hidden: tuple[str, ...]
    notices: list[str]


def page_setup(query: dict[str, str | list[str]]) -> PageSetup:
    """Read a query string: ``preset=NAME`` gives the base settings, other keys override them,
    ``hide=a,b`` names controls to hide. Never raises; whatever is replaced is in ``notices``."""

    def last(key: str) -> str:
        value = query.get(key, "")
        return str(value[-1] if isinstance(value, list) and value else value)

    notices, base, sentence = [], Config(), None
    if "preset" in query:
        name = last("preset")
        if name in PRESETS:
            base, sentence = PRESETS[name].config, PRESETS[name].sentence
        else:
            notices.append(f"Exercise: unknown preset {name[:40]!r}, using the defaults")
    config, more = Config.from_query(query, base)
    hidden = []
    for name in filter(None, (part.strip() for part in last("hide").split(","))):
        if name in HIDEABLE:
            hidden.append(name)
        else:
            notices.append(f"Hide: no control called {name[:40]!r}")
    return PageSetup(config, sentence, tuple(dict.fromkeys(hidden)), notices + more)
