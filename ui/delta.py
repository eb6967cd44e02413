"""Incremental frames for the live stream (docs/stream.md): what changed in a board's figures since the
frame before, as a list of edits the board applies to the figures it holds.

A figure here is its JSON-ready spec (``ui.plotly_live.figure_spec``: plain dicts and lists, arrays as
Plotly's typed-array specs ``{"dtype", "bdata", "shape"}``). The edits (``ops``) of one figure, each with a
``path`` of keys and list indices from the figure's top (``["data", 2, "marker", "color"]``):

- ``[path, value]``: set the value at ``path`` (a new key, or a new value for an old one);
- ``[path]``: delete the key at ``path``;
- ``[path, keep, text]``: a string's first ``keep`` characters, then ``text``. An array's base64
  ``bdata`` whose start is unchanged (a curve with points appended, a history with a column more)
  travels as its new end only: the base64 of the same bytes is the same characters, so the board
  splices strings and decodes nothing.

Dicts are compared key by key; lists of dicts (traces, annotations, shapes) item by item when their
lengths agree; any other value that differs is sent whole. Applying the ops to the figure of the frame
before gives exactly the new figure (``testing/frames.py`` applies them in Python as the board does in
``board.js``; the tests compare with the full figure).
"""

from __future__ import annotations

from typing import Any

SPLICE_MIN = 64  # a string at least this long whose start is unchanged goes as its new end (base64 arrays)


def common_prefix(a: str, b: str) -> int:
    """Length of the longest common start of ``a`` and ``b`` (bisection over C-speed slice compares, each of
    the part not yet known equal)."""
    lo, hi = 0, min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    while lo < hi:  # a[:lo] == b[:lo], and no common start is longer than hi
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def diff(old: Any, new: Any, path: list | None = None, ops: list | None = None) -> list:
    """The ops that turn ``old`` into ``new`` (both JSON-ready trees)."""
    path = [] if path is None else path
    ops = [] if ops is None else ops
    if old is new or (type(old) is type(new) and _same(old, new)):  # (most of a figure: compared in C)
        return ops
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in new.items():
            if key not in old:
                ops.append([[*path, key], value])
            else:
                was = old[key]
                if was is not value and not (type(was) is type(value) and _same(was, value)):
                    diff(was, value, [*path, key], ops)
        ops.extend([[*path, key]] for key in old if key not in new)
        return ops
    if (isinstance(old, list) and isinstance(new, list) and len(old) == len(new)
            and all(isinstance(v, dict) for v in new) and all(isinstance(v, dict) for v in old)):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a is not b and not _same(a, b):
                diff(a, b, [*path, i], ops)
        return ops
    if isinstance(old, str) and isinstance(new, str) and len(new) >= SPLICE_MIN:
        keep = common_prefix(old, new)
        if keep >= SPLICE_MIN // 2:
            ops.append([path, keep, new[keep:]])
            return ops
    ops.append([path, new])
    return ops


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (ValueError, TypeError):  # (a numpy array somewhere: compared elementwise) sent again
        return False
