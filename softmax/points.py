"""A user's own points: edits by hand, CSV in and out, and a compact form for links.

Points (N, 2) are kept in the user's own units and labels (N,) in 0..K-1. Everything that
comes from outside (a click, a file, a link) is parsed here as data only -- no pickle, no
eval -- and any problem is a ``DataError`` whose message names what was wrong and where,
so the page can show it and keep the current data.
"""

from __future__ import annotations

import base64
import csv
import io
import math
from dataclasses import dataclass

import numpy as np

DECIMALS = 4  # hand-made points are rounded to this many decimals, so a link holds them exactly
LINK_POINTS = 200  # most points a link carries; beyond that, share the CSV
MAX_CSV_BYTES = 1 << 20  # 1 MiB: 5 000 points of x1,x2,label take about 150 KB
# Coordinates beyond this are refused: standardizing them (x - mean) / std would overflow long before
# float64 does, and no dataset a student brings is measured in units that far apart.
MAX_COORDINATE = 1e12


class DataError(ValueError):
    """Bad data from a user; the message says what and where."""


@dataclass(frozen=True)
class Edit:
    """One change to the points: ``add`` (x, y, label), ``move`` (index, x, y), ``remove`` (index), ``clear``."""

    kind: str
    index: int = -1
    x: float = 0.0
    y: float = 0.0
    label: int = 0

    def to_text(self) -> str:
        """Compact, comma-free text for a link: a0.5_-0.25_2, m12_0.1_0.2, r3, c."""
        if self.kind == "add":
            return f"a{_num(self.x)}_{_num(self.y)}_{self.label}"
        if self.kind == "move":
            return f"m{self.index}_{_num(self.x)}_{_num(self.y)}"
        if self.kind == "remove":
            return f"r{self.index}"
        return "c"

    @classmethod
    def from_text(cls, text: str) -> Edit:
        kind = {"a": "add", "m": "move", "r": "remove", "c": "clear"}.get(text[:1])
        parts = text[1:].split("_") if len(text) > 1 else []
        try:
            if kind == "add" and len(parts) == 3:
                return add(float(parts[0]), float(parts[1]), int(parts[2]))
            if kind == "move" and len(parts) == 3:
                return move(int(parts[0]), float(parts[1]), float(parts[2]))
            if kind == "remove" and len(parts) == 1:
                return cls("remove", index=int(parts[0]))
            if kind == "clear" and not parts:
                return cls("clear")
        except ValueError:
            pass
        raise DataError(f"not an edit: {text[:40]!r}")


def _num(v: float) -> str:
    return f"{v:.{DECIMALS}f}".rstrip("0").rstrip(".") or "0"


def _coordinate(v: float) -> float:
    if not math.isfinite(v):
        raise DataError(f"a point's coordinates must be finite numbers, got {v!r}")
    if abs(v) > MAX_COORDINATE:
        raise DataError(f"a point's coordinates must lie within ±{MAX_COORDINATE:g}, got {v!r}")
    return round(float(v), DECIMALS)


def add(x: float, y: float, label: int) -> Edit:
    return Edit("add", x=_coordinate(x), y=_coordinate(y), label=int(label))


def move(index: int, x: float, y: float) -> Edit:
    return Edit("move", index=int(index), x=_coordinate(x), y=_coordinate(y))


def apply(points: np.ndarray, labels: np.ndarray, edit: Edit, classes: int,
          max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """New (points (N', 2), labels (N',)) after one edit; the inputs are never changed."""
    N = len(labels)
    if edit.kind == "clear":
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    if edit.kind == "add":
        if not 0 <= edit.label < classes:
            raise DataError(f"class {edit.label} does not exist: there are {classes} classes (0 to {classes - 1})")
        if N >= max_points:
            raise DataError(f"this server allows at most {max_points} points")
        return np.vstack([points, [[edit.x, edit.y]]]), np.append(labels, edit.label)
    if not 0 <= edit.index < N:
        raise DataError(f"there is no point {edit.index}: there are {N} points")
    if edit.kind == "move":
        points = points.copy()
        points[edit.index] = edit.x, edit.y
        return points, labels
    if edit.kind == "remove":
        keep = np.arange(N) != edit.index
        return points[keep], labels[keep]
    raise DataError(f"unknown edit {edit.kind!r}")


# -- CSV ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Table:
    """Points read from a CSV: points (N, 2), labels (N,) in 0..K-1, and each class's name."""

    points: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]


def read_csv(data: bytes, max_points: int, max_classes: int, max_bytes: int = MAX_CSV_BYTES) -> Table:
    """Parse ``x1,x2,label`` rows (a header optional). Labels are whole numbers 0..K-1, or names mapped to
    classes in order of first appearance. Raises DataError naming the first bad row and what is wrong."""
    if len(data) > max_bytes:
        raise DataError(f"the file is {len(data) / 1024:.0f} KB; the limit is {max_bytes // 1024} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("the file is not text (UTF-8)") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if rows and rows[0] and not _is_number(rows[0][0].strip()):
        rows = rows[1:]  # a header
    if not rows:
        raise DataError("the file has no rows of x1,x2,label")
    if len(rows) > max_points:
        raise DataError(f"the file has {len(rows)} points; this server allows at most {max_points}")
    points = np.zeros((len(rows), 2))
    raw_labels = []
    for n, row in enumerate(rows, start=1):
        if len(row) < 3:
            raise DataError(f"row {n}: expected 3 columns (x1, x2, label), found {len(row)}")
        for j in (0, 1):
            cell = row[j].strip()
            if not _is_number(cell):
                raise DataError(f"row {n}: x{j + 1} is not a number: {cell[:30]!r}")
            value = float(cell)
            if not math.isfinite(value):
                raise DataError(f"row {n}: x{j + 1} is not finite: {cell[:30]!r}")
            if abs(value) > MAX_COORDINATE:
                raise DataError(f"row {n}: x{j + 1} is {value:g}, beyond ±{MAX_COORDINATE:g}: rescale the data")
            points[n - 1, j] = value
        raw_labels.append(row[2].strip())
    labels, names = _classes(raw_labels, max_classes)
    return Table(points, labels, names)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _classes(raw: list[str], max_classes: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels as 0..K-1: whole numbers as they are, otherwise names in order of first appearance."""
    if all(r.isdigit() for r in raw):
        values = [int(r) for r in raw]
        K = max(values) + 1
        if K > max_classes:
            row = values.index(max(values)) + 1
            raise DataError(f"row {row}: label {max(values)} needs {K} classes; this server allows {max_classes}")
        return np.array(values, dtype=np.int64), tuple(str(k) for k in range(K))
    names: dict[str, int] = {}
    for n, r in enumerate(raw, start=1):
        if not r:
            raise DataError(f"row {n}: the label is empty")
        if r not in names:
            if len(names) == max_classes:
                raise DataError(f"row {n}: a class {len(names) + 1} ({r[:30]!r}); this server allows {max_classes}")
            names[r] = len(names)
    return np.array([names[r] for r in raw], dtype=np.int64), tuple(names)


def write_csv(points: np.ndarray, labels: np.ndarray, names: tuple[str, ...] | None = None) -> str:
    """The points as ``x1,x2,label`` with a header; labels by name when names are given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["x1", "x2", "label"])
    for (x1, x2), k in zip(points, labels, strict=True):
        writer.writerow([repr(float(x1)), repr(float(x2)), names[k] if names else int(k)])
    return out.getvalue()


# -- a link's compact form ----------------------------------------------------------------------

def encode(points: np.ndarray, labels: np.ndarray) -> str:
    """Up to LINK_POINTS points (rounded to DECIMALS) as URL-safe text: 12 characters a point."""
    if len(labels) > LINK_POINTS:
        raise DataError(f"a link carries at most {LINK_POINTS} points; download the CSV to share {len(labels)}")
    q = np.round(np.asarray(points) * 10**DECIMALS)
    if np.abs(q).max(initial=0) >= 2**31:
        raise DataError("a point is too far out to put in a link; download the CSV instead")
    record = np.zeros(len(labels), dtype=[("x", "<i4"), ("y", "<i4"), ("k", "u1")])
    record["x"], record["y"], record["k"] = q[:, 0], q[:, 1], labels
    return base64.urlsafe_b64encode(record.tobytes()).decode("ascii").rstrip("=")


def decode(text: str, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The points of ``encode``; DataError when the text is not that."""
    if len(text) > LINK_POINTS * 12 + 4:
        raise DataError(f"a link carries at most {LINK_POINTS} points")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (ValueError, TypeError):
        raise DataError("the link's points are not readable") from None
    if len(raw) % 9:
        raise DataError("the link's points are not readable")
    record = np.frombuffer(raw, dtype=[("x", "<i4"), ("y", "<i4"), ("k", "u1")])
    labels = record["k"].astype(np.int64)
    if len(labels) and labels.max() >= classes:
        raise DataError(f"the link's points use class {labels.max()}, but there are {classes} classes")
    points = np.column_stack([record["x"], record["y"]]) / 10**DECIMALS
    return points.astype(np.float64), labels
