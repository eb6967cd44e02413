"""Every chart of the Watch tab for one snapshot, by name, in reading order, for whichever model it is.

Each figure is a plain dict in Plotly's JSON schema (``plotly.graph_objects.Figure(d)``
accepts it). Dicts skip plotly.py's validation, which would cost more than the whole frame
budget, and arrays go as Plotly's typed-array spec (base64 of float32, int32 or uint8).
Every number comes from the snapshot, i.e. from the model's own computation.

Which charts there are follows the model, read from its parameters' names and shapes:
every model has the loss, the decision regions, its output layer's gradient now and over
time, and the dscores panels; a model with a hidden layer adds the hidden layer's regions in
the plane and its first layer's gradient; the SVM loss adds its margins. Every model ends
with the confusion matrix (train, and test with a held-out share).
"""

from __future__ import annotations

from collections.abc import Sequence

from softmax.compare import SavedRun
from softmax.snapshot import Snapshot

from .confusion import confusion_figure
from .dscores import dscores_figure
from .gradients import gradient_history_figure, gradient_table_figure, layers
from .loss import loss_figure
from .plane import decision_figure, first_layer, hidden_figure, margins_figure
from .style import Theme


def chart_names(snap: Snapshot) -> list[str]:
    """The charts this snapshot's model gets, in reading order."""
    names = ["loss", "decision"]
    if first_layer(snap):
        names.append("hidden")
    if "margins" in snap.parts:
        names.append("margins")
    names.append("gradient_table")
    names += [f"gradient_table_{w}" for w, _ in layers(snap) if w != snap.model.output]
    return names + ["gradient_history", "dscores", "confusion"]


def figure(snap: Snapshot, name: str, picked: int | None = None, theme: str | Theme = "light",
           saved: Sequence[SavedRun] = ()) -> dict:
    """The chart called ``name`` (one of ``chart_names(snap)``); ``saved``: runs whose loss curves the
    loss chart overlays."""
    if name.startswith("gradient_table_"):
        return gradient_table_figure(snap, name.removeprefix("gradient_table_"), picked=picked, theme=theme)
    if name == "loss":
        return loss_figure(snap, picked=picked, theme=theme, saved=saved)
    return CHARTS[name](snap, picked=picked, theme=theme)


def all_figures(snap: Snapshot, picked: int | None = None, theme: str | Theme = "light",
                saved: Sequence[SavedRun] = ()) -> dict[str, dict]:
    """Every chart of the Watch tab, by name, in reading order; ``picked`` (an example's index) is
    ringed wherever points are drawn; ``theme`` is "light" or "dark"; ``saved``: runs saved for
    comparison, overlaid on the loss chart."""
    return {name: figure(snap, name, picked, theme, saved) for name in chart_names(snap)}


CHARTS = {
    "loss": loss_figure,
    "decision": decision_figure,
    "hidden": hidden_figure,
    "margins": margins_figure,
    "gradient_table": gradient_table_figure,
    "gradient_history": gradient_history_figure,
    "dscores": dscores_figure,
    "confusion": confusion_figure,
}
