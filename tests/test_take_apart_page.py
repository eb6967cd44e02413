"""The Explain tab's mistakes sandbox, nudge and trace through AppTest (issue #15).

Oracles: the notes' loop transcribed in tests/test_explain.py (its gradient at the same iteration),
plain numpy sums of the notes' arrays for the traced entry, and the loss recomputed by that loop with
the weight moved for the nudge. The page's numbers must agree with them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from softmax.config import Config
from softmax.mistakes import MISTAKES
from tests.test_explain import oracle
from tests.test_explain_page import chart, explain_app, text

pytestmark = pytest.mark.usefixtures("stop_trainers")

GRADIENT_MISTAKES = ("no-mean", "no-minus-one", "no-reg")


@pytest.fixture(scope="module")
def page():
    """One Explain tab at iteration 10 of the case study (AppTest is slow to start: shared by the tests)."""
    at = explain_app()
    at.session_state["seat"].trainer.step(10)
    return at.run()


def verdict(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("The gradient of the"))


def largest(at) -> float:
    return float(re.search(r"\*\*([0-9.e+-]+|nan)\*\*", verdict(at)).group(1))


@pytest.mark.parametrize("mistake", GRADIENT_MISTAKES)
def test_each_gradient_mistake_turns_the_check_wrong_and_off_turns_it_good(page, mistake):
    page.selectbox(key="mistake").set_value(mistake).run()
    assert not page.exception
    assert MISTAKES[mistake].title in verdict(page)
    assert largest(page) > 1e-2 and "wrong" in verdict(page)
    wrong = next(e.value for e in page.error if e.value.startswith("The check finds the gradient wrong"))
    named = re.findall(r"[Wb]\[[0-9,]+\]", wrong)
    expected = 6 if mistake == "no-reg" else 9  # reg*W has no part in db
    assert len(named) == expected and all(n.startswith("W") for n in named) == (mistake == "no-reg")
    page.selectbox(key="mistake").set_value("none").run()
    assert largest(page) <= 1e-7 and "good" in verdict(page) and "correct code" in verdict(page)
    assert not [e for e in page.error if e.value.startswith("The check finds")]


def test_x_where_x_t_belongs_is_explained_not_a_traceback(page):
    page.selectbox(key="mistake").set_value("x-not-transposed").run()
    assert not page.exception
    error = next(e.value for e in page.error if "does not even run" in e.value)
    assert "(300,2)" in error.replace(" ", "") and "X.T (D×N)" in error
    assert "Traceback" not in text(page)


@pytest.mark.parametrize("mistake", ["sign-flip", "no-max-shift"])
def test_mistakes_outside_the_gradient_say_why_the_check_is_good_and_run_beside_the_correct_code(page, mistake):
    page.selectbox(key="mistake").set_value(mistake).run()
    assert "good" in verdict(page)
    assert any("checks good" in i.value for i in page.info)
    fig = chart(page, "mistake_run")
    correct, wrong = ([y for y in t["y"]] for t in fig["data"])
    assert len(correct) == len(wrong) == 100
    if mistake == "sign-flip":
        assert wrong[-1] > wrong[0] and correct[-1] < correct[0]  # it climbs the loss


def test_the_trace_of_dw_is_the_sum_of_its_terms(page):
    o = oracle(Config(), 10)
    page.selectbox(key="trace_entry").set_value("W[1,2]").run()
    shown_line = next(m.value for m in page.markdown if m.value.startswith("dW[1,2] = **"))
    data, reg, total = (float(v) for v in re.findall(r"\*\*([-0-9.e+]+)\*\*", shown_line))
    terms = o["X"][:, 1] * o["dscores"][:, 2]
    assert data == pytest.approx(terms.sum(), rel=1e-5)
    assert reg == pytest.approx(1e-3 * o["W"][1, 2], rel=1e-5)
    assert total == pytest.approx(o["dW"][1, 2], rel=1e-5)
    table = next(t.value for t in page.table if "term" in t.value.columns)
    largest_examples = np.argsort(-np.abs(terms), kind="stable")[:8]
    assert [int(i) for i in table.index] == list(largest_examples)
    assert [float(v) for v in table["term"]] == pytest.approx(terms[largest_examples], rel=1e-5)
    page.selectbox(key="trace_entry").set_value("b[0]").run()
    assert any(m.value.startswith("**db[0] = Σᵢ dscores[i,0]**") for m in page.markdown)


def test_a_nudge_moves_the_loss_by_about_h_times_the_gradient(page):
    from tests.test_explain import linear_pass

    o = oracle(Config(), 10)
    page.selectbox(key="trace_entry").set_value("W[0,1]").run()
    page.select_slider(key="nudge_h").set_value(1e-4).run()
    table = next(t.value for t in page.table if "loss change (w + h)" in t.value.index)
    v = {k: float(table.loc[k, "value"]) for k in table.index}
    for sign, row in ((1, "loss at w + h"), (-1, "loss at w − h")):
        W = o["W"].copy()
        W[0, 1] += sign * 1e-4
        assert v[row] == pytest.approx(linear_pass(W, o["b"], o["X"], o["y"], 1e-3, 1.0)["loss"], rel=1e-9)
    assert v["loss at w"] == pytest.approx(o["loss"], rel=1e-9)
    assert v["h · dW[0,1] (predicted)"] == pytest.approx(1e-4 * o["dW"][0, 1], rel=1e-8)
    assert v["loss change (w + h)"] == pytest.approx(v["h · dW[0,1] (predicted)"], rel=1e-2)
    assert v["(L(w + h) − L(w − h)) / 2h (numerical)"] == pytest.approx(v["dW[0,1] (analytic)"], rel=1e-6)


def typed_values(spec) -> np.ndarray:
    """A figure's typed array (base64 of f4 / i4) or plain list, as numpy."""
    import base64

    if isinstance(spec, dict):
        return np.frombuffer(base64.b64decode(spec["bdata"]), dtype={"f4": "<f4", "i4": "<i4"}[spec["dtype"]])
    return np.asarray(spec)


def test_the_traced_entrys_points_are_coloured_by_their_terms_and_the_largest_ringed(page):
    o = oracle(Config(), 10)
    page.selectbox(key="trace_entry").set_value("W[0,2]").run()
    fig = chart(page, "trace_points")
    terms = o["X"][:, 0] * o["dscores"][:, 2]
    points = next(t for t in fig["data"] if t["name"] == "term")
    np.testing.assert_allclose(typed_values(points["marker"]["color"]), terms, rtol=1e-5, atol=1e-9)
    ringed = next(t for t in fig["data"] if t["name"].startswith("the 8 largest"))
    assert [int(i) for i in ringed["text"]] == list(np.argsort(-np.abs(terms), kind="stable")[:8])


def test_the_picked_example_is_followed_over_the_run(page):
    from softmax.run import Run

    run = Run(Config())
    run.step(10)
    example = page.session_state["example"]
    fig = chart(page, "explain_trajectory")
    expected = run.trajectory(example)
    by_name = {t["name"]: t for t in fig["data"]}
    np.testing.assert_array_equal(typed_values(by_name["its loss"]["x"]), expected["iteration"])
    np.testing.assert_allclose(typed_values(by_name["its loss"]["y"]), expected["loss"], rtol=1e-6)
    np.testing.assert_allclose(typed_values(by_name["p of its true class"]["y"]), expected["p_y"], rtol=1e-6)
    np.testing.assert_allclose(typed_values(by_name[f"dscores[{example}, 1]"]["y"]), expected["dscores"][:, 1],
                               rtol=1e-5)
    assert fig["layout"]["shapes"][0]["x0"] == 10  # the iteration shown


def test_a_click_on_a_gradient_cell_rings_the_examples_that_contribute_most():
    from tests.test_app import app

    at = app()
    at.session_state["seat"].trainer.step(10)
    at.run()
    at.session_state["charts"] = {"click": {"chart": "gradient_table", "curve": 0, "index": [1, 2], "x": "class 2",
                                            "y": "dW[1, k]", "customdata": None, "time": 1}}
    at.run()
    assert not at.exception
    assert at.session_state["trace_entry"] == "W[1,2]"
    o = oracle(Config(), 10)
    terms = o["X"][:, 1] * o["dscores"][:, 2]
    largest = set(np.argsort(-np.abs(terms), kind="stable")[:8])
    from tests.test_app import charts

    figs = charts(at)
    for name, axis in (("decision", None), ("dscores", "x3")):
        rings = [t for t in figs[name]["data"] if t.get("name", "").startswith("pulls dW[1,2]")]
        assert {c[0] for t in rings for c in t["customdata"]} == largest, name
        assert all(t.get("xaxis") == axis for t in rings)
        for t in rings:  # red up, blue down: the sign of each ringed term
            assert all((terms[c[0]] > 0) == t["name"].endswith("up") for c in t["customdata"])
    assert any("largest terms of dW[1,2]" in c.value for c in at.caption)
    at.run()  # a later run (a refresh) keeps them
    assert [t for t in charts(at)["decision"]["data"] if t.get("name", "").startswith("pulls dW[1,2]")]
    next(b for b in at.button if b.label == "Clear the rings").click().run()
    assert not [t for t in charts(at)["decision"]["data"] if t.get("name", "").startswith("pulls")]
    at.session_state["charts"] = {"click": {"chart": "gradient_table", "index": [2, 0], "time": 2}}  # the db row
    at.run()
    assert at.session_state["trace_entry"] == "b[0]"


@pytest.mark.parametrize("index", [["a", 1], [5, 0], [1.5, 0], None, [True, 0], [0], [0, 3], [-1, 0]])
def test_a_crafted_cell_click_is_no_click(index):
    from tests.test_app import app, charts

    at = app()
    at.session_state["charts"] = {"click": {"chart": "gradient_table", "index": index, "time": 3}}
    at.run()
    assert not at.exception
    assert not [t for t in charts(at)["decision"]["data"] if t.get("name", "").startswith("pulls")]
