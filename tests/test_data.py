"""Seeded datasets: shapes, dtypes, balance, reproducibility, no global random state."""

import numpy as np
import pytest

from softmax.data import DATASETS, make_dataset


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("k", [2, 3, 10])
def test_shapes_dtypes_and_balance(name, k):
    X, y = make_dataset(name, 17, k, 0.2, np.random.RandomState(0))
    assert X.shape == (17 * k, 2) and X.dtype == np.float64 and np.isfinite(X).all()
    assert y.shape == (17 * k,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y, minlength=k), [17] * k)
    assert np.abs(X).max() < 3


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_same_seed_same_data_other_seed_other_data_global_state_untouched(name):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = make_dataset(name, 20, 3, 0.2, np.random.RandomState(5))
    b = make_dataset(name, 20, 3, 0.2, np.random.RandomState(5))
    c = make_dataset(name, 20, 3, 0.2, np.random.RandomState(6))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_spiral_is_the_cs231n_recipe():
    """The notes' code, verbatim but for the local RandomState."""
    rng = np.random.RandomState(0)
    N, D, K = 100, 2, 3
    X = np.zeros((N * K, D))
    y = np.zeros(N * K, dtype="uint8")
    for j in range(K):
        ix = range(N * j, N * (j + 1))
        r = np.linspace(0.0, 1, N)
        t = np.linspace(j * 4, (j + 1) * 4, N) + rng.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    X2, y2 = make_dataset("spiral", 100, 3, 0.2, np.random.RandomState(0))
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_xor_with_two_classes_is_xor():
    X, y = make_dataset("xor", 200, 2, 0.0, np.random.RandomState(0))
    np.testing.assert_array_equal(y, ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(int))


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown dataset 'moons'"):
        make_dataset("moons", 10, 3, 0.1, np.random.RandomState(0))
