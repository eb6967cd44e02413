"""The Explain tab through AppTest: what a student reads, checked against independent oracles.

The numbers on the page against the notes' loop transcribed in tests/test_explain.py; the page's
gradient check against a gradient planted on the page; the downloaded script against
``python -m softmax export-script`` run as a command; the loop's code against the notes' text.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from softmax.config import Config
from testing.apptest import button, chart, downloads
from testing.support import ROOT
from tests.test_explain import NOTES_LINEAR, NOTES_NET, notes_stream, oracle

pytestmark = pytest.mark.usefixtures("stop_trainers")


def explain_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "page.py"), default_timeout=120)
    for k, v in {"view": "Explain the gradient", **(query or {})}.items():
        at.query_params[k] = v
    return at.run()


def cells(table) -> list[list[str]]:
    """An st.table's cells as the student reads them (Markdown escapes undone), index first."""
    frame = table.value
    rows = [[str(i), *map(str, r)] for i, r in zip(frame.index, frame.values.tolist(), strict=True)]
    return [[re.sub(r"\\(.)", r"\1", c) for c in row] for row in rows]


def text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_the_example_on_the_page_is_the_notes_row():
    """After two steps: the example's scores, probs and dscores rows (4 significant digits) are the
    notes' loop's, transcribed in the tests, and its dscores row is in the first line of the tab."""
    at = explain_app({"reg": "0.01"})
    for _ in range(2):
        button(at, "Step").click().run()
    assert not at.exception
    o = oracle(Config(reg=0.01), 2)
    i = at.number_input(key="example").value
    first = cells(at.table[0])
    assert [row[0] for row in first] == ["scores s", "probs p", "dscores = (p − onehot) / 300"]
    for row, values in zip(first, (o["scores"][i], o["probs"][i], o["dscores"][i]), strict=True):
        assert [float(c) for c in row[1:]] == pytest.approx(values, rel=6e-4, abs=1e-15)
    summary = next(m.value for m in at.markdown if m.value.startswith(f"**Example {i}**"))
    shown = [float(v) for v in re.search(r"dscores row: \*\*\((.*)\)\*\*", summary).group(1).split(", ")]
    assert shown == pytest.approx(o["dscores"][i], rel=6e-4)


def test_the_sums_and_reg_tables_are_the_notes_gradient():
    at = explain_app({"reg": "0.01"})
    button(at, "Step").click().run()
    o = oracle(Config(reg=0.01), 1)
    tables = [cells(t) for t in at.table]

    def find(first_row_label, values):
        """The tables whose rows are labelled like W's and whose numbers are ``values`` (10 digits)."""
        hits = []
        for t in tables:
            if t and t[0][0] == first_row_label and len(t) == len(values):
                try:
                    numbers = np.array([[float(c) for c in row[1:]] for row in t])
                except ValueError:
                    continue
                if numbers.shape == values.shape and np.allclose(numbers, values, rtol=1e-9, atol=1e-15):
                    hits.append(t)
        return hits

    assert len(find("W[0,·]", o["dW_data"])) == 2  # the sum of the 300 terms beside the model's X.T @ dscores
    assert len(find("db", o["db"])) == 2  # the sum of the dscores rows beside the model's db
    assert len(find("W[0,·]", o["reg_W"])) == 1 and len(find("W[0,·]", o["dW"])) == 1  # reg*W beside dW
    page = text(at)
    assert "(2×300)·(300×3) = 2×3" in page and "what it predicts minus what it should" in page


PLANTED = """
import dataclasses
from types import MappingProxyType

import numpy as np
import streamlit as st

from softmax.config import Config
from softmax.runner import Trainer
from ui.explainer import explainer

snap = Trainer(Config(reg=0.01)).step(3)
if PLANT:
    wrong = {**snap.grads, "W": snap.grads["W"] - snap.grads_reg["W"]}  # the page shows dW without reg*W
    snap = dataclasses.replace(snap, grads=MappingProxyType(wrong))
explainer(snap)
"""


@pytest.mark.parametrize("plant", [False, True])
def test_the_pages_check_checks_the_gradient_the_page_shows(plant):
    """A wrong dW planted in what the page displays (reg*W dropped): the page shows it, and the page's
    own gradient check, run on what it displays, says wrong; the true dW checks good."""
    at = AppTest.from_string(PLANTED.replace("PLANT", str(plant)), default_timeout=120).run()
    assert not at.exception
    button(at, "Run the gradient check").click().run()
    verdict = next(m.value for m in at.markdown if "largest relative error" in m.value)
    largest = float(re.search(r"\*\*([0-9.e+-]+)\*\*", verdict).group(1))
    o = oracle(Config(reg=0.01), 3)
    shown = o["dW_data"] if plant else o["dW"]
    checked = next(t for t in (cells(t) for t in at.table) if t[0][0] == "W[0,0]")
    analytic = np.array([float(row[1]) for row in checked[:6]]).reshape(2, 3)
    np.testing.assert_allclose(analytic, shown, rtol=1e-9)  # the check's analytic values: what the page shows
    reg_tables = [t for t in (cells(t) for t in at.table) if t[0][0] == "W[0,·]" and len(t) == 2]
    assert any(np.allclose([[float(c) for c in r[1:]] for r in t], shown, rtol=1e-9) for t in reg_tables)
    if plant:
        assert largest > 1e-2 and "wrong" in verdict
    else:
        assert largest <= 1e-7 and "good" in verdict


ONE_ENTRY = """
import dataclasses
from types import MappingProxyType

import streamlit as st

from softmax.config import Config
from softmax.runner import Trainer
from ui.explainer import explainer

snap = Trainer(Config(reg=0.01)).step(3)
W = snap.grads["W"].copy()
W[1, 2] *= 1.05  # one displayed entry 5 % off
snap = dataclasses.replace(snap, grads=MappingProxyType({**snap.grads, "W": W}))
explainer(snap)
"""


def test_the_pages_check_flags_the_one_displayed_entry_that_is_off():
    """One entry of the displayed dW 5 % off (a slip a student could not see in the heatmap): the page's
    check reads wrong at W[1,2] alone; its analytic column is the displayed array, its numerical column
    the notes' dW, every other entry good."""
    at = AppTest.from_string(ONE_ENTRY, default_timeout=120).run()
    assert not at.exception
    button(at, "Run the gradient check").click().run()
    verdict = next(m.value for m in at.markdown if "largest relative error" in m.value)
    assert "wrong" in verdict
    o = oracle(Config(reg=0.01), 3)
    shown = o["dW"].copy()
    shown[1, 2] *= 1.05
    checked = next(t for t in (cells(t) for t in at.table) if t[0][0] == "W[0,0]")
    rows = {row[0]: row for row in checked}
    for i, j in np.ndindex(2, 3):
        entry, analytic, numerical, rel = rows[f"W[{i},{j}]"][:4]
        assert float(analytic) == pytest.approx(shown[i, j], rel=1e-9)
        assert float(numerical) == pytest.approx(o["dW"][i, j], rel=1e-6)
        assert (float(rel) > 1e-3) == ((i, j) == (1, 2)), entry
        assert (float(rel) <= 1e-7) == ((i, j) != (1, 2)), entry


def test_the_downloaded_script_is_export_script(monkeypatch):
    """The download button's file, byte for byte, is what ``python -m softmax export-script`` writes for
    the same settings (the step-too-large exercise, with the SVM, momentum and minibatches)."""
    cases = [({}, []), ({"preset": "step-too-large"}, ["--step-size", "50"]),
             ({"loss": "svm", "optimizer": "momentum", "batch_size": "16", "step_size": "0.5", "seed": "4"},
              ["--loss", "svm", "--optimizer", "momentum", "--batch-size", "16", "--step-size", "0.5", "--seed", "4"]),
             ({"preset": "two-layer"}, ["--model", "two-layer", "--iterations", "10000"])]
    stored = downloads(monkeypatch)
    for query, options in cases:
        at = explain_app(query)
        url = at.get("download_button")[0].proto.url
        downloaded = stored[os.path.splitext(os.path.basename(url))[0]]
        cli = subprocess.run([sys.executable, "-m", "softmax", "export-script", *options], capture_output=True,
                             cwd=ROOT, check=True, timeout=120).stdout
        assert downloaded == cli, query


def code_cell(cell: str) -> str:
    """The code of a table cell as shown: the code span's text, its no-break-space indentation as spaces."""
    assert cell.startswith("`") and cell.endswith("`"), cell  # monospace, and no Markdown inside
    return cell.strip("`").replace("\u00a0", " ")


@pytest.mark.parametrize(("query", "notes"), [({}, NOTES_LINEAR), ({"preset": "two-layer"}, NOTES_NET)])
def test_the_notes_loop_is_shown_verbatim(query, notes):
    at = explain_app(query)
    table = at.table[-1].value
    # every cell a code span (monospace, nothing inside it read as Markdown: reg_loss = 0.5*reg*np.sum(W*W) keeps
    # its asterisks), its text the notes' line
    assert [code_cell(c) for c in table["line"]] == notes.split("\n")


def test_picking_an_example_by_index_rings_it_in_the_chart():
    at = explain_app()
    at.number_input(key="example").set_value(250).run()
    assert not at.exception
    assert "**Example 250**" in text(at)
    X, _, _ = notes_stream(Config())
    ring = chart(at, "explain_decision")["data"][-1]
    assert ring["name"] == "example 250" and ring["hoverinfo"] == "skip"
    assert (ring["x"][0], ring["y"][0]) == pytest.approx(tuple(X[250]))


def test_a_click_picks_the_point_in_its_customdata_and_rings_it():
    """A click as the chart component reports it (the clicked trace's customdata: [index, probs...]) picks that
    index, not the point's position in its trace, and the ring moves to it in the same run."""
    at = explain_app()
    at.session_state["explain_decision"] = {"click": {"chart": "explain_decision", "curve": 3, "index": 50,
                                                      "customdata": [150, 0.2, 0.3, 0.5], "time": 1}}
    at.run()
    assert not at.exception
    assert at.number_input(key="example").value == 150 and "**Example 150**" in text(at)
    X, _, _ = notes_stream(Config())
    ring = chart(at, "explain_decision")["data"][-1]
    assert (ring["x"][0], ring["y"][0]) == pytest.approx(tuple(X[150]))
    at.number_input(key="example").set_value(7).run()  # the same click, seen already, does not pull it back
    assert at.number_input(key="example").value == 7


def test_the_points_are_picked_by_their_centres():
    """Points drawn as WebGL markers, which plotly picks by the nearest centre (SVG markers tie and the
    last drawn wins: clicking point 150 picked 153); each keeps its index as customdata."""
    at = explain_app()
    points = [t for t in chart(at, "explain_decision")["data"] if t.get("customdata") is not None]
    assert points and all(t["type"] == "scattergl" for t in points)


def test_the_net_page_explains_each_layer_and_checks():
    at = explain_app({"preset": "two-layer"})
    button(at, "Step").click().run()
    page = text(at)
    for heading in ("Layer 2: dW2 = hidden.T @ dscores", "Into the hidden layer: dhidden = dscores @ W2.T",
                    "Layer 1: dW1 = X.T @ dhidden", "Why db2 = sum(dscores)", "Why db1 = sum(dhidden)",
                    "Why + reg·W2 and + reg·W1"):
        assert heading in " ".join(s.value for s in at.subheader), heading
    assert "(100×300)·(300×3) = 100×3" in page and "(2×300)·(300×100) = 2×100" in page
    assert "passes the gradient of a unit that was on and blocks it where it was off" in page
    button(at, "Run the gradient check").click().run()
    verdict = next(m.value for m in at.markdown if "largest relative error" in m.value)
    assert "good" in verdict and "Of 603 entries" in page + text(at)
    assert "Why kinks matter" in text(at)


def test_the_svm_page_sets_its_dscores_beside_the_softmaxs():
    at = explain_app({"preset": "svm-vs-softmax"})
    assert "Where the SVM's dscores comes from" in " ".join(s.value for s in at.subheader)
    rows = [row[0] for t in at.table for row in cells(t)]
    assert "SVM: violated − count · onehot" in rows and "softmax, same scores: p − onehot" in rows
    assert "count of violated margins" in text(at)


def test_heavy_regularization_at_its_optimum_says_the_parts_cancel():
    script = """
from softmax.presets import PRESETS
from softmax.runner import Trainer
from ui.explainer import explainer
explainer(Trainer(PRESETS["heavy-reg"].config).run_to_end())
"""
    at = AppTest.from_string(script, default_timeout=120).run()
    assert not at.exception
    assert any("cancel" in s.value and "optimum" in s.value for s in at.success)


# The pixel centre of the training point with a given index, in the Explain tab's chart (its customdata).
POINT_JS = """(target) => {
    const div = document.querySelector("div.plotly-live[data-key='explain_decision']");
    const xa = div._fullLayout.xaxis, ya = div._fullLayout.yaxis, box = div.getBoundingClientRect();
    for (const t of div._fullData) {
        if (!t.customdata || t.hoverinfo === 'skip') continue;
        for (let j = 0; j < t.x.length; j++) {
            if (t.customdata[j][0] === target)
                return {x: box.left + xa._offset + xa.l2p(t.x[j]), y: box.top + ya._offset + ya.l2p(t.y[j])};
        }
    }
    return null;
}"""


@pytest.mark.browser
@pytest.mark.slow
def test_clicking_a_points_centre_picks_that_point_in_chromium():
    """The bug a student saw: clicking point 150 of the spiral picked 153 (its neighbours' markers cover its
    centre; plotly's SVG scatter counts every marker under the cursor as equally close and takes the last
    drawn). Click the centres of crowded points and of an arm's end: each pick is the point clicked."""
    import time

    from testing.support import chromium_page, streamlit_server, wait_app_ready

    with streamlit_server() as (base, _proc), chromium_page(1280, 1200) as page:
        page.goto(f"{base}/?view=Explain+the+gradient")
        wait_app_ready(page)
        page.wait_for_selector("div.plotly-live[data-key='explain_decision'] .main-svg", timeout=60_000)
        for target in (150, 153, 10, 250, 299):  # (points 0, 100 and 200 all sit at the origin: not one of them)
            page.wait_for_function(f"() => ({POINT_JS})({target}) !== null", timeout=60_000)  # drawn, points in
            point = page.evaluate(POINT_JS, target)
            page.mouse.move(point["x"], point["y"])
            time.sleep(0.4)  # the board holds its drawing for a moment after input
            page.mouse.click(point["x"], point["y"])
            deadline = time.monotonic() + 60
            while page.get_by_text(f"Example {target}:", exact=False).count() == 0:
                assert time.monotonic() < deadline, f"clicking point {target} did not pick it"
                time.sleep(0.2)
            # the ring moves when the board next draws the chart (it draws asynchronously, after input settles)
            page.wait_for_function("""(name) => { const d = document.querySelector(
                "div.plotly-live[data-key='explain_decision']"); return d.data[d.data.length - 1].name === name; }""",
                                   arg=f"example {target}", timeout=60_000)
        assert not page.locator("[data-testid='stException']").count()
