"""Bad input everywhere: arbitrary query strings, divergent step sizes, and what a public server must not do."""

import ast
import json
import re
import tomllib
import unicodedata
from urllib.parse import parse_qs

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies
from streamlit.testing.v1 import AppTest

from softmax.config import SETTINGS
from softmax.data import DATASETS
from softmax.runner import Trainer
from testing.support import ROOT
from tests.test_app import wait_for

pytestmark = pytest.mark.usefixtures("stop_trainers")

KEYS = [*SETTINGS, "preset", "hide", "view", "bogus", ""]
VALUES = strategies.one_of(
    strategies.text(max_size=30),
    strategies.sampled_from(["nan", "inf", "-inf", "1e400", "-1", "0", "1e-400", "10000000000", "0x10", "1_000",
                             "spiral", "circles", "cs231n", "step-too-large", "dataset,classes", "%00", "<script>",
                             "Explain the gradient", " 3 ", "3.7", "", "None", "[]"]),
    strategies.floats(allow_nan=True, allow_infinity=True).map(repr),
    strategies.integers(min_value=-10**12, max_value=10**12).map(str),
)




def run_page(query: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "page.py"), default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(strategies.dictionaries(strategies.sampled_from(KEYS), VALUES, max_size=6))
# Found by this test while it was unseeded (1 run in 13): a fractional whole number was rounded with no
# notice. Kept as explicit examples, run every time whatever the profile.
@example({"classes": "1.5"})
@example({"iterations": "2.5", "seed": "0.5"})
@example({"hidden": "1e1", "batch_size": "-0.5"})
def test_any_query_string_renders_a_page_with_notices(query):
    at = run_page(query)
    assert not at.exception, (query, at.exception)
    assert any(m.value.startswith("### Iteration 0") for m in at.markdown)
    # every value that was not usable as given is named in a notice
    notices = " ".join(w.value for w in at.warning)
    for key, value in query.items():
        if key in SETTINGS and str(at.query_params.get(key)) not in (value, str([value])):
            shown = at.query_params.get(key)
            if shown is not None and _same_number(value, shown):
                continue
            assert "Link setting replaced" in notices, (query, key, shown)


def _same_number(raw: str, shown) -> bool:
    shown = shown[-1] if isinstance(shown, list) else shown
    try:
        return float(raw.strip()) == float(shown)
    except ValueError:
        return raw.strip() == shown


def test_a_raw_query_string_from_the_address_bar():
    query = {k: v[-1] for k, v in parse_qs("classes=abc&step_size=1e999&noise=-3&dataset=../../etc/passwd"
                                           "&seed=-1&hide=../x&preset=%27", keep_blank_values=True).items()}
    at = run_page(query)
    assert not at.exception
    assert len([w for w in at.warning if "Link setting replaced" in w.value]) >= 6


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("step_size", ["1000", "1000000"])
def test_divergence_pauses_says_what_to_do_and_charts_stay_finite(dataset, step_size):
    at = run_page({"dataset": dataset, "step_size": step_size, "speed": "10000"})
    next(b for b in at.button if b.label == "Start").click().run()
    trainer = next(iter(Trainer._running), None)
    if trainer is not None:  # wait for the run to stop itself
        wait_for(lambda: not trainer.running, 10)
    at.run()
    (line,) = [p.proto.text for p in at.get("progress")]
    assert ":red[**diverged: " in line and "is too large: Reset" in line and not at.error
    assert re.search(r"### Iteration [1-9]", next(m.value for m in at.markdown if m.value.startswith("###")))
    assert Trainer.running_count() == 0  # it paused itself
    for el in at.get("bidi_component"):
        spec = json.dumps(json.loads(el.proto.bytes)["charts"])
        assert "NaN" not in spec and "Infinity" not in spec


def test_xsrf_protection_stays_on_and_the_page_is_headless():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["headless"] is True
    assert config["browser"]["gatherUsageStats"] is False
    # fragments at 5 Hz and Streamlit's message references disagree: "Cached ForwardMsg MISS"
    # disconnected the page for good in 5 of 10 one-minute browser runs with references on
    assert config["global"]["minCachedMessageSize"] >= 1e9


def test_no_user_input_reaches_eval_a_shell_or_a_file_path():
    """The page and the package never call eval/exec, a shell, or open a path built from input."""
    banned_calls = {"eval", "exec", "compile", "__import__", "system", "popen", "Popen", "check_output",
                    "open", "read_text", "write_text", "unlink", "remove"}
    banned_modules = {"subprocess", "shlex", "pickle", "marshal"}
    sources = [ROOT / "app.py", *(p for pkg in ("softmax", "ui", "viz") for p in sorted((ROOT / pkg).rglob("*.py")))]
    found = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                found += [f"{path.name}:{node.lineno} import {n}" for n in names if n.split(".")[0] in banned_modules]
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in banned_calls:
                    found.append(f"{path.name}:{node.lineno} {name}")
    # the file operations: ui/plotly_live.py reads its own board.js and board.css, and ui/server.py reads
    # Streamlit's own index.html (a fixed path) to hash its inline script for the CSP; the compile/exec:
    # softmax/notes.py and softmax/mistakes.py run the module's own constant text of the CS231n loops
    # (the verbatim oracle, the mistakes sandbox): no user text reaches them
    # __main__.py opens os.devnull (a reader that left early); cli.py opens the CSV the user named on
    # their own command line (--points): neither is reachable from the page
    allowed = ("plotly_live.py:", "server.py:", "notes.py:", "mistakes.py:", "__main__.py:", "cli.py:")
    assert all(f.startswith(allowed) and (not f.startswith(("server.py", "plotly_live.py")) or f.endswith("read_text"))
               for f in found), found


# -- text from users, values from widgets (ui/text.py, ui/inputs.py, ui/charts.py) -----------------
@settings(max_examples=200, deadline=None, derandomize=True)
@given(strategies.one_of(strategies.text(max_size=60), strategies.sampled_from([
    "https://evil.example/p", "HTTP://X.Y", "www.evil.example", "WWW.A.B", "a@b.example", "mailto:a@b.c",
    "[x](https://e.x) ![i](http://127.0.0.1:9/t.png) $x$ :red[big] <b>"])))
def test_plain_leaves_no_markdown_syntax_and_reads_the_same(text):
    from ui.text import JOINER, plain

    out = plain(text)
    unescaped = re.sub(r"\\(.)", "", out)  # what is left once every escaped character is taken out
    assert not re.search(r"[!-/:-@\[-`{-~]", unescaped), out  # no punctuation left unescaped
    assert not any(c in out for c in "\n\r\t\x00")
    bare = out.replace("\\", "")  # what GFM's autolinks look at: escapes are gone by then
    assert not re.search(r"[A-Za-z0-9]://|www\.|[-.\w+]@", bare, re.I), out
    # it reads the same: remove the escapes and the joiners, control characters become spaces
    readable = re.sub(r"\\(.)", r"\1", out).replace(JOINER, "")
    assert readable == "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)


def test_widget_values_a_control_could_not_send_are_replaced_with_a_notice():
    from softmax.config import Config
    from softmax.limits import ServerLimits
    from ui import inputs

    state = {"cfg_dataset": "evil", "cfg_classes": 3.5, "cfg_noise": float("nan"), "cfg_seed": True,
             "cfg_step_size": "fast", "cfg_reg": -1.0, "cfg_iterations": 10**12, "cfg_speed": None,
             "cfg_refresh": [5], "cfg_points_per_class": 20, inputs.GOOD: Config(seed=4)}
    config, notices = inputs.settings(state, ServerLimits())
    assert config == Config(seed=4, points_per_class=20)
    assert len(notices) == 9 and "Dataset: 'evil'" in notices[0]
    assert state["cfg_dataset"] == "spiral" and state["cfg_seed"] == 4  # put back: it cannot come again
    assert inputs.settings(state, ServerLimits()) == (config, [])


@pytest.mark.parametrize("value,index", [(3, 3), (3.0, 3), (0, 0), (299, 299), (300, None), (-1, None), (True, None),
                                         (float("nan"), None), (float("inf"), None), ("3", None), ([3], None),
                                         (2.5, None), (None, None)])
def test_example_index(value, index):
    from ui.inputs import example_index

    assert example_index(value, 300) == index


def test_choice_survives_unhashable_values():
    from ui.inputs import choice

    assert choice(["own"], ("own", "cs231n"), "own") == "own"
    assert choice({"a": 1}, ("own",), None) is None and choice("cs231n", ("own", "cs231n"), "own") == "cs231n"
