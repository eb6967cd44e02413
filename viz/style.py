"""What every figure shares: class colours, the two themes, colour scales, typed arrays, number formats.

Colours follow two rules that a projector makes strict:

- Marks (points, lines, cells) use one fixed colour-blind-safe colour per class (Okabe-Ito).
- Text must read at a contrast of at least 4.5:1 (WCAG AA) in both of Streamlit's themes.
  Class names are therefore drawn as text on a chip of the class colour, in black or white,
  whichever reads better on it: that holds in either theme, because the chip, not the page,
  is the background. Other text uses the theme's own text colour.

A figure is built for one theme (``LIGHT`` or ``DARK``): the zero of every diverging colour
scale is the theme's background, so a zero gradient looks like empty page, not a white
block glaring on a dark one.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass

import numpy as np

# Okabe & Ito's colour-blind-safe palette (without black, which vanishes on a dark theme),
# then grey, wine and olive from Paul Tol's for classes 8 to 10.
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9",
                "#CC79A7", "#F0E442", "#999999", "#882255", "#999933")
FONT_SIZE = 16  # reads from the back of a classroom at 1280x720
SMALL_FONT = 13
TEXT_CONTRAST = 4.5  # WCAG AA for normal text


@dataclass(frozen=True)
class Theme:
    """One of Streamlit's two themes, as far as a figure needs it (the 1.67 defaults)."""

    name: str
    background: str
    text: str
    muted: str  # secondary text and thin lines: still >= 4.5:1 on the background
    grid: str
    div_negative: str  # ends of the diverging scale drawn under no text: strong
    div_positive: str
    div_negative_text: str  # ends of the scale under numbers in the theme's text colour
    div_positive_text: str
    sequential: str  # the far end of the sequential scale (norms)
    sequential_pale: str  # ... of one drawn under points (a hidden layer's count of units on)


LIGHT = Theme("light", background="#FFFFFF", text="#2F2D2B", muted="#5F5B56", grid="rgba(128,128,128,0.25)",
              div_negative="#2166AC", div_positive="#B2182B",
              div_negative_text="#5B9BD5", div_positive_text="#E07B6A", sequential="#54278F",
              sequential_pale="#BCBDDC")
DARK = Theme("dark", background="#171614", text="#EDEBE8", muted="#B8B3A8", grid="rgba(160,160,160,0.25)",
             div_negative="#4393C3", div_positive="#D6604D",
             div_negative_text="#2B65A8", div_positive_text="#B8413A", sequential="#BCBDDC",
             sequential_pale="#54478A")
THEMES = {"light": LIGHT, "dark": DARK}


def theme_of(name: str | Theme | None) -> Theme:
    """The theme called ``name`` ("light" or "dark"); anything else is the light one."""
    if isinstance(name, Theme):
        return name
    return THEMES.get(name or "light", LIGHT)


# -- colour arithmetic (WCAG 2.x) ---------------------------------------------------------------

def rgb(color: str) -> tuple[float, float, float, float]:
    """(r, g, b, alpha) of ``#RRGGBB`` or ``rgb(a)(r, g, b[, a])``; r, g, b in 0..255."""
    c = color.strip()
    if c.startswith("#"):
        return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16), 1.0
    parts = [float(p) for p in c[c.index("(") + 1 : c.rindex(")")].split(",")]
    return parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0


def luminance(color: str) -> float:
    """WCAG relative luminance of an opaque colour, 0 (black) to 1 (white)."""
    def channel(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b, _ = rgb(color)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two opaque colours, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def hex_color(r: float, g: float, b: float) -> str:
    return "#{:02X}{:02X}{:02X}".format(*(int(round(min(max(v, 0), 255))) for v in (r, g, b)))


def mix(a: str, b: str, t: float) -> str:
    """The opaque colour a fraction t of the way from a to b."""
    ra, ga, ba, _ = rgb(a)
    rb, gb, bb, _ = rgb(b)
    return hex_color(ra + (rb - ra) * t, ga + (gb - ga) * t, ba + (bb - ba) * t)


def rgba(color: str, alpha: float) -> str:
    r, g, b, _ = rgb(color)
    return f"rgba({int(r)},{int(g)},{int(b)},{alpha:.3f})"


def class_color(k: int) -> str:
    """Class k's colour for marks (points, lines, regions)."""
    return CLASS_COLORS[k % len(CLASS_COLORS)]


@functools.lru_cache(maxsize=64)
def chip_text(background: str) -> str:
    """Black or white, whichever reads better as text on ``background``."""
    return "#000000" if contrast("#000000", background) >= contrast("#FFFFFF", background) else "#FFFFFF"


def class_chip(k: int, text: str, x: float, y: float, **extra) -> dict:
    """A layout annotation: ``text`` on a chip of class k's colour, legible in either theme."""
    color = class_color(k)
    return {"text": text, "x": x, "y": y, "xref": "paper", "yref": "paper", "showarrow": False,
            "bgcolor": color, "borderpad": 2, "font": {"color": chip_text(color), "size": SMALL_FONT + 1},
            **extra}


# -- colour scales ---------------------------------------------------------------------------------

def diverging(th: Theme, under_text: bool = False) -> list[list]:
    """Blue for negative, red for positive, the theme's background at zero (use with zmid/cmid 0).

    ``under_text``: ends pale enough (light theme) or deep enough (dark theme) that numbers in
    the theme's text colour read at 4.5:1 on every colour of the scale.
    """
    neg, pos = (th.div_negative_text, th.div_positive_text) if under_text else (th.div_negative, th.div_positive)
    return [[0.0, neg], [0.5, th.background], [1.0, pos]]


def sequential(th: Theme, pale: bool = False) -> list[list]:
    """From the theme's background (zero) to one deep colour (the most): norms; ``pale`` for a
    scale drawn under points, which must stay visible on it."""
    return [[0.0, th.background], [1.0, th.sequential_pale if pale else th.sequential]]


# A point's share of the SVM's loss: never the background (a zero share is drawn hollow
# instead), pale yellow to deep red, legible as marks on either theme.
HEAT = [[0.0, "#FED976"], [0.35, "#FD8D3C"], [0.7, "#E31A1C"], [1.0, "#800026"]]


def scale_colors(scale: list[list], steps: int = 65) -> list[str]:
    """Colours along a scale (what plotly.js interpolates linearly in RGB): for contrast checks."""
    out = []
    for t in np.linspace(0, 1, steps):
        for (t0, c0), (t1, c1) in zip(scale, scale[1:], strict=False):
            if t0 <= t <= t1:
                out.append(mix(c0, c1, 0 if t1 == t0 else (t - t0) / (t1 - t0)))
                break
    return out


# -- arrays and numbers ------------------------------------------------------------------------------

def typed(a: np.ndarray, dtype: str = "f4") -> dict:
    """Plotly's typed-array spec (base64 of f4, i4 or u1): a fraction of a JSON list's bytes."""
    a = np.ascontiguousarray(a, dtype=dtype)
    spec = {"dtype": {"f4": "f4", "u1": "u1", "i4": "i4"}[dtype], "bdata": base64.b64encode(a).decode("ascii")}
    if a.ndim > 1:
        spec["shape"] = ", ".join(map(str, a.shape))
    return spec


def thin(n: int, most: int) -> np.ndarray:
    """Indices of an even thinning of n entries to at most ``most``, always keeping the first and last: every
    s-th entry, s the smallest power of two that keeps at most ``most``, and the last.

    Stable as a history grows: the entries kept at n are kept at n + 1 (but the last, when it is off the
    s-grid), until s doubles. softmax.snapshot.History keeps its rows on a power-of-two grid of iterations
    too, halving it when full, so the iterations drawn stay the same across that: a live stream sends the
    points appended, not the whole curve again (ui/delta.py)."""
    if n <= most:
        return np.arange(n)
    s = 1
    while -(-(n - 1) // s) + 1 > most:
        s *= 2
    return np.r_[np.arange(0, n - 1, s), n - 1]


def whole_dtick(span: float, ticks: int = 6) -> float:
    """A 1-2-5 tick step of at least 1 for an axis of whole numbers (iterations): never 0.5."""
    raw = max(span / ticks, 1.0)
    p = 10 ** np.floor(np.log10(raw))
    return float(next(m * p for m in (1, 2, 5, 10) if m * p >= raw))


def sig(v: float, digits: int = 4) -> str:
    """``v`` to ``digits`` significant digits, never with an SI prefix: 0.01234, -1.235e-05."""
    if not np.isfinite(v):
        return "∞" if v > 0 else ("−∞" if v < 0 else "not a number")
    text = f"{v:.{digits}g}"
    return text.replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def common_scale(zmax: float) -> int:
    """The power of ten p with zmax / 10**p in [1, 10): a table's numbers are shown in units of 10**p."""
    if not np.isfinite(zmax) or zmax <= 0:
        return 0
    return int(np.floor(np.log10(zmax)))


def times_ten(p: int) -> str:
    """``× 10⁻³`` for p = -3 (nothing for 0): the unit a table's numbers are written in."""
    if p == 0:
        return ""
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return f" × 10{str(p).translate(sup)}"


# -- layout pieces -------------------------------------------------------------------------------------

def layout(th: Theme, **extra) -> dict:
    """A lean layout that reads on a projector: large type, transparent background, this theme's text."""
    out = {
        "font": {"size": FONT_SIZE, "color": th.text},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 70, "r": 20, "t": 50, "b": 60},
        "hoverlabel": {"font": {"size": 15}},
        "uirevision": "keep",  # keep zoom and legend clicks across refreshes
        "meta": {"theme": th.name},  # which theme's colours: the page asks for the other if it shows it
        "height": 440,
    }
    out.update(extra)
    return out


def axis(th: Theme, title: str | None = None, **extra) -> dict:
    """An axis with plain numbers: 0.0001 reads 1e-4, never 100µ (no SI prefixes)."""
    out = {"gridcolor": th.grid, "zerolinecolor": th.grid, "automargin": True, "exponentformat": "e",
           "separatethousands": False}
    if title is not None:
        out["title"] = {"text": title}
    out.update(extra)
    return out


def colorbar(title: str, **extra) -> dict:
    return {"title": {"text": title, "side": "right"}, "thickness": 14, "exponentformat": "e", **extra}


def title(text: str) -> dict:
    return {"text": text, "x": 0.0, "xanchor": "left", "xref": "paper", "font": {"size": FONT_SIZE + 1}}
