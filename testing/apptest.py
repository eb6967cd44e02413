"""What the AppTest page tests (test_app, test_own_page, test_explain_page, ...) share: a button by its
label, the figures the page drew, the files its download buttons offer."""

from __future__ import annotations

import json


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def charts(at) -> dict[str, dict]:
    """The figures the page drew, by chart key (they travel as the plotly_live component's data)."""
    out = {}
    for el in at.get("bidi_component"):
        for chart in json.loads(el.proto.bytes)["charts"]:
            out[chart["key"]] = chart["figure"]
    return out


def chart(at, key: str) -> dict:
    """The figure drawn as chart ``key`` (fails if the page drew none)."""
    figures = charts(at)
    if key not in figures:
        raise AssertionError(f"no chart {key}")
    return figures[key]


def downloads(monkeypatch) -> dict[str, bytes]:
    """Every file the page offers for download from now on, by its media id (the download buttons' URLs
    end in it)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    stored: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        stored[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return stored
