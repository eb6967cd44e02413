"""Text that came from a user (a link's query values, widget values) shown as plain text.

Streamlit renders the body of ``st.markdown``, ``st.warning``, ``st.info``, ... as Markdown with its
own extensions: links and images, autolinked URLs and e-mail addresses, ``$...$`` LaTeX,
``:material/icon:`` and ``:red[...]`` directives. ``plain`` backslash-escapes every ASCII punctuation
character (CommonMark lets any of them be escaped, and an escaped character is always literal), so
none of that syntax survives; control characters, newlines included, become spaces so a value cannot
start a heading, a list or a code block on a line of its own.

Escapes do not stop GFM's autolinks: they are found in the text after parsing
(``https://...``, ``www.``, ``name@host``). An invisible word joiner (U+2060) goes where those
patterns need a character next to another -- before ``://``, after ``www``, before ``@`` -- so
the text reads the same and no link is made (checked in Chromium, tests/test_browser_hardening.py).
"""

from __future__ import annotations

import re
import unicodedata

_PUNCTUATION = r"([!-/:-@\[-`{-~])"  # every ASCII punctuation character


JOINER = "\u2060"


def plain(text: str) -> str:
    """``text`` made literal for a Markdown body: it reads the same, and renders as nothing but text."""
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(text))
    text = re.sub(r"(?=://)", JOINER, text)
    text = re.sub(r"(?i)(?<=www)(?=\.)", JOINER, text)
    text = text.replace("@", JOINER + "@")
    return re.sub(_PUNCTUATION, r"\\\1", text)
