"""minelib.estimate: what estimate_mi and estimate_many return, and how they route their keywords."""

import warnings

import numpy as np
import pytest

import minelib as m

SMALL = dict(steps=20, batch_size=32, hidden=(8,), eval_every=10, seed=0, device="cpu")


@pytest.fixture(scope="module")
def many():
    pairs = [m.sample_correlated_gaussians(300, dim=1, rho=r, seed=3) for r in (0.2, 0.8)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        return m.estimate_many(pairs, ["mine", "nwj", "ksg"], **SMALL, k=3)


def test_estimate_many_returns_arrays_carrying_their_results(many):
    assert list(many) == ["mine", "nwj", "ksg"]
    for method, est in many.items():
        assert isinstance(est, m.Estimates) and isinstance(est, np.ndarray) and est.shape == (2,)
        assert [r.method for r in est.results] == [method, method]
        np.testing.assert_array_equal(est, [r.estimate for r in est.results])
    mine = many["mine"]
    assert mine.stderr.shape == (2,) and np.all(mine.stderr > 0)
    assert all(r.step is not None and r.settings["bound"] == "mine" for r in mine.results)
    assert many["ksg"].stderr is None  # KSG has no standard error
    # arrays derived from it are plain estimates: no stale results attached
    assert (mine - 1).results is None and mine[:1].stderr is None
    assert f"{mine[0]:.3f}"  # an element is a number


def test_estimate_mi_records_the_methods_defaults():
    x, z = m.sample_correlated_gaussians(400, dim=1, rho=0.5, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        r = m.estimate_mi(x, z, "infonce", **{**SMALL, "batch_size": 16})
    assert r.settings["critic"] == "separable" and r.settings["bound"] == "infonce"
    assert r.stderr > 0 and r.step in (10, 20)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x, z: m.estimate_mi(x, z, "ksg", steps=10), TypeError, r"unknown option\(s\) \['steps'\]"),
        (lambda x, z: m.estimate_mi(x, z, "mine", k=3), TypeError, r"unknown option\(s\) \['k'\]"),
        (lambda x, z: m.estimate_mi(x, z, "mine", bound="nwj"), TypeError, "the method chooses"),
        (lambda x, z: m.estimate_mi(x, z, "mine", gradient="ema"), TypeError, "removed in minelib 0.2.0"),
        (lambda x, z: m.estimate_mi(x, z, "tuba"), ValueError, "unknown method"),
        (lambda x, z: m.estimate_many([(x, z)], ["mine"], n_models=3), TypeError, "the method chooses"),
    ],
)
def test_keywords_are_routed_or_refused(call, error, match):
    x, z = m.sample_correlated_gaussians(100, dim=1, rho=0.5, seed=0)
    with pytest.raises(error, match=match):
        call(x, z)


def test_aliases_name_the_same_bound():
    x, z = m.sample_correlated_gaussians(400, dim=1, rho=0.5, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        alias, name = (m.estimate_mi(x, z, method, **SMALL) for method in ("mine-f", "nwj"))
    assert alias.estimate == name.estimate and alias.method == "mine-f"


def test_the_largest_seed_works_and_so_does_every_derived_one():
    x, z = m.sample_correlated_gaussians(400, dim=1, rho=0.5, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        r = m.estimate_mi(x, z, **{**SMALL, "seed": 2**63 - 1})  # the split and batches use seed + 1, wrapped
    assert np.isfinite(r.estimate)


def test_an_overflowing_new_sample_gets_advice_that_is_not_the_setting_in_use():
    x, z = m.sample_correlated_gaussians(400, dim=1, rho=0.5, seed=0)
    mine = m.MINE(1, 1, hidden=(8,), seed=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        mine.fit(x, z, steps=10, batch_size=32, eval_every=5)
    far = x.astype(np.float64)
    far[0] = 1e60  # standardized with the training split's scale: beyond float32
    with pytest.raises(
        ValueError, match=r"overflows torch.float32 after preprocess='standardize': use preprocess='copula'"
    ):
        mine.estimate(far, z)
