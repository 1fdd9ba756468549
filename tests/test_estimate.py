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


def test_the_default_is_the_benchmark_choice_and_fits_small_data():
    """No method: InfoNCE on the copula (bench/default_suite.py); its block is the held-out split when that is
    smaller than 256, so 400 pairs (40 validation, 80 test) need no settings; a given setting wins."""
    x, z = m.sample_correlated_gaussians(400, dim=1, rho=0.5, seed=0)
    small = {k: v for k, v in SMALL.items() if k not in ("batch_size", "hidden")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        r = m.estimate_mi(x, z, **small)
        given = m.estimate_mi(x, z, **small, preprocess="standardize", batch_size=16)
    assert (r.method, r.settings["preprocess"], r.settings["critic"]) == ("infonce", "copula", "separable")
    assert r.settings["batch_size"] == 40 and r.settings["hidden"] == (128, 128, 128)
    assert (given.settings["preprocess"], given.settings["batch_size"]) == ("standardize", 16)


def test_the_interval_is_the_estimate_plus_or_minus_normal_quantiles_of_its_standard_error():
    r = m.MIResult(0.5, "mine", stderr=0.1)
    low, high = r.interval()
    assert (low, high) == pytest.approx((0.5 - 0.195996, 0.5 + 0.195996), abs=1e-6)
    assert r.interval(0.5) == pytest.approx((0.5 - 0.067449, 0.5 + 0.067449), abs=1e-6)
    assert m.MIResult(0.3, "ksg").interval() is None  # no standard error, no interval
    with pytest.raises(ValueError, match="level"):
        r.interval(1.0)


def test_the_default_on_tiny_data_refuses_or_warns_before_training():
    x, z = m.sample_correlated_gaussians(100, dim=1, rho=0.5, seed=0)
    with pytest.raises(ValueError, match="10 pairs are too few for 'infonce'"):
        m.estimate_mi(x[:10], z[:10])
    with pytest.raises(ValueError, match="val_fraction must lie strictly between 0.0 and 1.0"):
        m.estimate_mi(x, z, val_fraction="0.1")
    with pytest.warns(m.MINEWarning, match=r"can not exceed ln 10 = 2.30 nats"):
        m.estimate_mi(x, z, steps=5, hidden=(8,), eval_every=5, seed=np.int64(1), device="cpu")
