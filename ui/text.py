"""Text that came from a user (a link's query values, widget values) shown as plain text.

Streamlit renders the body of ``st.markdown``, ``st.warning``, ``st.info``, ... as Markdown with its
own extensions: links and images, autolinked URLs and e-mail addresses, ``$...$`` LaTeX,
``:material/icon:`` and ``:red[...]`` directives. ``plain`` backslash-escapes every ASCII punctuation
character (CommonMark lets any of them be escaped, and an escaped character is always literal), so
none of that syntax survives; control characters, newlines included, become spaces so a value cannot
start a heading, a list or a code block on a line of its own.
"""

from __future__ import annotations

import re
import unicodedata

_PUNCTUATION = r"([!-/:-@\[-`{-~])"  # every ASCII punctuation character


def plain(text: str) -> str:
    """``text`` made literal for a Markdown body: it reads the same, and renders as nothing but text."""
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(text))
    return re.sub(_PUNCTUATION, r"\\\1", text)
