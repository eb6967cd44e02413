"""A user's own points: edits, CSV in and out, links, input features, a held-out test set."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax import Config, Run, replay
from softmax.features import Transform, labels, standardizing
from softmax.points import (
    LINK_POINTS,
    DataError,
    Edit,
    add,
    apply,
    decode,
    encode,
    move,
    read_csv,
    write_csv,
)

OWN = Config(dataset="own")


def test_edits_change_the_points_and_go_into_the_log():
    run = Run(OWN)
    assert run.X.shape == (0, 2) and run.result.data_loss == 0.0
    run.edit(add(0.5, 0.5, 1))
    run.edit(add(-0.5, -0.25, 0))
    run.step(5)
    before = run.result.loss
    run.edit(move(0, -0.4, 0.6))
    assert run.points.tolist() == [[-0.4, 0.6], [-0.5, -0.25]]
    assert run.result.loss != before  # the gradient jumps at the edit
    run.edit(Edit("remove", index=1))
    assert len(run.y) == 1
    assert [c.iteration for c in run.log] == [0, 5]  # edits at one iteration are one change
    run.step(3)
    again = replay(OWN, run.log, 8)
    np.testing.assert_array_equal(again.theta, run.theta)
    np.testing.assert_array_equal(again.points, run.points)


def test_a_run_trains_on_from_an_edit_made_mid_run_and_going_back_is_exact():
    run = Run(Config(iterations=1000))
    run.step(40)
    seen = run.theta.copy()
    run.edit(add(0.9, -0.9, 2))
    run.step(40)
    assert not run.diverged and len(run.y) == 301
    np.testing.assert_array_equal(run.view(40).theta, seen)
    np.testing.assert_allclose(run.view(80).theta, run.theta, rtol=0, atol=0)
    assert run.view(20).N == 300 and run.view(60).N == 301


@pytest.mark.parametrize("edit,message", [
    (add(0, 0, 3), "class 3 does not exist"), (Edit("remove", index=5), "no point 5"),
    (move(9, 0, 0), "no point 9"),
])
def test_an_impossible_edit_is_a_clear_error_and_changes_nothing(edit, message):
    run = Run(OWN)
    run.edit(add(0, 0, 0))
    with pytest.raises(DataError, match=message):
        run.edit(edit)
    assert len(run.y) == 1 and len(run.log) == 1


def test_the_point_limit_holds():
    points, labels = np.zeros((3, 2)), np.zeros(3, dtype=int)
    with pytest.raises(DataError, match="at most 3 points"):
        apply(points, labels, add(1, 1, 0), classes=2, max_points=3)
    with pytest.raises(DataError, match="finite"):
        add(float("nan"), 0, 0)


def test_csv_round_trips_with_names_and_numbers():
    table = read_csv(b"x1,x2,label\n0.5,1,cat\n-2,3e-1,dog\n7,8,cat\n", max_points=10, max_classes=3)
    assert table.names == ("cat", "dog") and table.labels.tolist() == [0, 1, 0]
    text = write_csv(table.points, table.labels, table.names)
    again = read_csv(text.encode(), max_points=10, max_classes=3)
    np.testing.assert_array_equal(again.points, table.points)
    assert again.labels.tolist() == table.labels.tolist() and again.names == table.names
    numbers = read_csv(b"1,2,0\n3,4,2\n", max_points=10, max_classes=3)  # no header, integer labels
    assert numbers.labels.tolist() == [0, 2] and numbers.names == ("0", "1", "2")


@pytest.mark.parametrize("data,message", [
    (b"x1,x2,label\n1,2,0\n3,abc,1\n", "row 2: x2 is not a number"),
    (b"1,2\n", "row 1: expected 3 columns"),
    (b"1,inf,0\n", "row 1: x2 is not finite"),
    (b"1,2,0\n" * 11, "11 points"),
    (b"1,2,a\n1,2,b\n1,2,c\n1,2,d\n", "row 4: a class 4"),
    (b"1,2,0\n1,2,7\n", "row 2: label 7 needs 8 classes"),
    (b"\xff\xfe", "not text"),
    (b"1,2,0\n3,1e300,1\n", "row 2: x2 is 1e\\+300, beyond"),
    (b"", "no rows"),
    (b"1,2,0\n" * 400_000, "limit is"),
])
def test_bad_csv_names_the_first_bad_row(data, message):
    with pytest.raises(DataError, match=message):
        read_csv(data, max_points=10, max_classes=3)


@given(st.binary(max_size=300) | st.text(alphabet="0123456789,.-e\n abcnaif", max_size=300).map(str.encode))
def test_no_csv_makes_the_parser_fail_other_than_with_a_message(data):
    try:
        table = read_csv(data, max_points=50, max_classes=10)
    except DataError as exc:
        assert str(exc)
    else:
        assert np.isfinite(table.points).all() and table.labels.max() < 10


def test_a_link_carries_a_small_dataset_exactly():
    points = np.array([[0.1234, -1.5], [2.0, 0.0001], [-0.5, 0.25]])
    labels = np.array([0, 2, 1])
    text = encode(points, labels)
    assert len(text) <= 12 * 3 + 2 and text.replace("-", "").replace("_", "").isalnum()
    back, back_labels = decode(text, classes=3)
    np.testing.assert_array_equal(back, points)
    assert back_labels.tolist() == [0, 2, 1]
    with pytest.raises(DataError, match="class 2"):
        decode(text, classes=2)
    with pytest.raises(DataError, match=f"at most {LINK_POINTS}"):
        encode(np.zeros((LINK_POINTS + 1, 2)), np.zeros(LINK_POINTS + 1, dtype=int))
    for junk in ("!!", "abc", "a" * 5000):
        with pytest.raises(DataError):
            decode(junk, classes=3)


def test_features_let_the_linear_model_separate_the_circles():
    run = Run(Config(dataset="circles", features="x1sq,x2sq", iterations=500))
    run.step(500)
    assert run.result.accuracy >= 0.95
    assert run.X.shape == (300, 4) and run.points.shape == (300, 2)
    np.testing.assert_allclose(run.X[:, 2], run.points[:, 0] ** 2)
    assert labels(("x1sq", "x2sq")) == ["x₁", "x₂", "x₁²", "x₂²"]
    plain = Run(Config(dataset="circles", iterations=500))
    plain.step(500)
    assert plain.result.accuracy < 0.6


@pytest.mark.parametrize("size", [1e3, 1e9, 1e12])
def test_standardizing_never_overflows_whatever_the_units(size):
    """Units up to the largest a point may have (1e12): mean 0, std 1, no warning. (Beyond the cap, the std's
    squares overflow: 1e300 is refused, below.)"""
    rng = np.random.RandomState(0)
    points = size * (0.5 + 0.5 * rng.rand(50, 2))
    with np.errstate(all="raise"):
        t = standardizing(points)
        X = t(points)
        run = Run(Config(dataset="own", features="x1sq,x2sq,x1x2"), (points, rng.randint(0, 3, 50)))
        run.step(5)
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(X.std(axis=0), 1, rtol=1e-9)
    assert np.isfinite(run.result.loss)


def test_coordinates_beyond_the_limit_are_refused_with_a_message():
    with pytest.raises(DataError, match="within"):
        add(2e12, 0, 0)
    with pytest.raises(ValueError, match="within"):
        Run(OWN, (np.array([[1e300, 1.0], [0.0, 1.0]]), np.array([0, 1])))


def test_points_far_from_the_unit_square_are_standardized_for_the_model_only():
    points = np.array([[1000.0, 5.0], [1010.0, 7.0], [990.0, 3.0]])
    t = standardizing(points)
    np.testing.assert_allclose(t(points).mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(t(points).std(axis=0), 1)
    assert standardizing(np.array([[0.5, -1.0]])) == Transform()
    run = Run(OWN, (points, np.array([0, 1, 0])))
    np.testing.assert_array_equal(run.points, points)  # shown in their own units
    assert np.abs(run.X).max() < 3


def test_a_held_out_share_leaves_the_other_points_and_the_weights_alone():
    full = Run(Config())
    held = Run(Config(test_share=0.2))
    assert len(held.y) == 240 and len(held.y_test) == 60
    np.testing.assert_array_equal(held.theta, full.theta)
    rows = {tuple(p) for p in full.points}
    assert {tuple(p) for p in held.points} | {tuple(p) for p in held.test_points} == rows
    held.step(100)
    snap = held.snapshot()
    assert 0 < snap.test_accuracy <= 1 and snap.history.test_loss[-1] == pytest.approx(snap.test_loss)
    assert Run(Config()).snapshot().history.test_loss is None


def test_one_point_can_be_followed_through_the_run():
    run = Run(Config(iterations=1000))
    run.step(600)
    path = run.trajectory(17)
    assert path["iteration"][0] == 0 and path["iteration"][-1] == 600
    snap = run.snapshot()
    np.testing.assert_allclose(path["dscores"][-1], snap.parts["dscores"][17], rtol=1e-12)
    np.testing.assert_allclose(path["p_y"][-1], snap.parts["probs"][17, snap.y[17]], rtol=1e-12)
    assert path["loss"][-1] == pytest.approx(-np.log(path["p_y"][-1]))


@pytest.mark.parametrize("config,data", [
    (Config(dataset="own", classes=3, seed=4, iterations=50),
     (np.array([[0.5, 0.5], [-0.5, 0.2], [0.1, -0.7], [0.3, 0.3]]), np.array([0, 1, 2, 0]))),
    (Config(dataset="own", classes=2, seed=1, iterations=30, features="x1sq,x2sq,sinx1", model="two-layer", hidden=5),
     (np.array([[1000.0, 5], [1200, 7], [1100, 9], [900, 4]]), np.array([0, 1, 0, 1]))),  # standardized
    (Config(dataset="circles", features="x1sq,x2sq,x1x2,sinx2", iterations=40, points_per_class=20), None),
])
def test_the_exported_script_runs_on_own_points_and_features_as_the_run_does(tmp_path, config, data):
    """The script embeds a user's points (and the run's standardization) and computes the input features as the
    run does: its printed losses are the run's, and it imports nothing but numpy."""
    import subprocess
    import sys

    from softmax.export import export_script

    run = Run(config, data)
    expected = []
    for it in range(config.iterations):
        if it % 10 == 0:
            expected.append("iteration %d: loss %f" % (it, run.result.loss))
        run.step()
    script = export_script(config, print_every=10, points=data, transform=Run(config, data).transform)
    assert "import softmax" not in script and "from softmax" not in script
    path = tmp_path / "run.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True, cwd=tmp_path,
                         timeout=60).stdout.splitlines()
    assert [line for line in out if line.startswith("iteration")] == expected


def test_a_script_of_own_points_needs_the_points():
    from softmax.export import export_script

    with pytest.raises(ValueError, match="own"):
        export_script(Config(dataset="own"))
    with pytest.raises(ValueError, match="needs the points"):
        export_script(Config(dataset="own"), points=(np.zeros((0, 2)), np.zeros(0, dtype=np.int64)))
