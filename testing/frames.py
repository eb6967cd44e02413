"""A reference board for the live stream's frames (docs/stream.md), in Python: what ``ui/board.js`` does
with a full frame and the delta frames after it, step for step, so that tests can check that the figures
a board ends up with are the full figures of the same snapshot.

    board = Board()
    for raw in messages:
        board.take(json.loads(raw))
    board.charts["loss"]["figure"]     # the figure the board draws now
"""

from __future__ import annotations

from typing import Any


class FakeTrainer:
    running = True
    snapshot = None


class FakeSeat:
    """A seat as ``ui.stream.Frames`` reads it, for building frames outside a server: set
    ``seat.trainer.snapshot`` to the snapshot to draw."""

    def __init__(self) -> None:
        self.trainer = FakeTrainer()


def apply(fig: Any, ops: list) -> Any:
    """``fig`` with the delta's ``ops`` applied, as board.js's ``applyOps``: the containers on each op's path
    are copied (a new object wherever something changed, so ``Plotly.react`` sees it), the rest shared."""
    if not ops:
        return fig
    root = _copy(fig)
    fresh = {id(root)}
    for op in ops:
        path = op[0]
        node = root
        for key in path[:-1]:
            child = node[key]
            if id(child) not in fresh:
                child = _copy(child)
                node[key] = child
                fresh.add(id(child))
            node = child
        last = path[-1]
        if len(op) == 1:
            del node[last]
        elif len(op) == 2:
            node[last] = op[1]
        else:
            node[last] = node[last][: op[1]] + op[2]
    return root


def _copy(node: Any) -> Any:
    # (board.js also leaves out what plotly.js added to its input: keys starting with "_")
    return list(node) if isinstance(node, list) else {k: v for k, v in node.items() if not k.startswith("_")}


class Board:
    """The charts a board holds, by key, each ``{"key", "span", "height", "weight", "fit", "figure"}``."""

    def __init__(self) -> None:
        self.charts: dict[str, dict] = {}
        self.order: list[str] = []
        self.status: dict | None = None
        self.drawn: set[str] = set()  # charts the last message changed (the board queues only those)

    def take(self, frame: dict) -> None:
        if frame["type"] == "frame":
            self.charts = {c["key"]: c for c in frame["charts"]}
            self.order = [c["key"] for c in frame["charts"]]
            self.drawn = set(self.order)
        elif frame["type"] == "delta":
            if not self.charts:
                raise AssertionError("a delta frame before any full frame")
            self.drawn = set()
            for patch in frame["charts"]:
                chart = self.charts[patch["key"]]
                self.charts[patch["key"]] = {**chart, "figure": apply(chart["figure"], patch["ops"])}
                self.drawn.add(patch["key"])
        else:
            return
        self.status = frame.get("status")

    def figures(self) -> dict[str, dict]:
        return {key: self.charts[key]["figure"] for key in self.order}
