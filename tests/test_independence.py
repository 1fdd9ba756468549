"""minelib.independence_test: a valid p-value (exact by permutation) and power where the dependence is plain.

The false-positive rate over hundreds of independent data sets and the power at small MI are measured by
``bench/independence.py`` (too slow for a test); here: the p-value's range and resolution, strong dependence found,
reproducibility, the null computed from the test split only, and bad arguments."""

import warnings

import numpy as np
import pytest

import minelib as m

FAST = dict(steps=150, batch_size=64, hidden=(16,), eval_every=50, device="cpu")


def _test(x, z, method="mine", **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        return m.independence_test(x, z, method, **{**(FAST if method != "ksg" else {}), **kwargs})


@pytest.mark.parametrize("method", ["mine", "nwj", "ksg"])
def test_strong_dependence_gets_the_smallest_p_value(method):
    x, z = m.sample_correlated_gaussians(800, 1, 0.8, seed=0)
    result = _test(x, z, method, permutations=49)
    assert result.p_value == pytest.approx(1 / 50) and result.statistic > result.null.max()
    assert result.null.shape == (49,) and result.method == method


def test_the_mine_null_uses_the_test_pairs_only():
    x, z = m.sample_correlated_gaussians(1000, 1, 0.0, seed=1)
    result = _test(x, z, permutations=19, seed=3)
    assert result.n == 200  # the default test_fraction of 0.2: the critic never saw these pairs
    assert 1 / 20 <= result.p_value <= 1 and abs(result.statistic) < 0.2
    again = _test(x, z, permutations=19, seed=3)
    assert again.p_value == result.p_value and np.array_equal(again.null, result.null)


def test_independent_data_give_roughly_uniform_p_values():
    # 20 independent data sets: a valid test gives p <= 0.05 about once (binomial: P(>= 5 of 20) = 0.3%)
    rejections = 0
    for seed in range(20):
        x, z = m.sample_correlated_gaussians(300, 1, 0.0, seed=100 + seed)
        rejections += _test(x, z, "ksg", permutations=39, seed=seed).p_value <= 0.05
    assert rejections < 5


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"permutations": 0}, ValueError, "permutations"),
        ({"method": "tuba"}, ValueError, "unknown method"),
        ({"k": 3}, TypeError, "unknown option"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    x, z = m.sample_correlated_gaussians(300, 1, 0.5, seed=0)
    with pytest.raises(error, match=match):
        m.independence_test(x, z, **kwargs)
