"""minelib.sample_size: the estimate on fractions of the data, and the fit I_inf + a / n."""

import warnings

import numpy as np
import pytest

import minelib as m
from minelib.sample_size import _fit


def test_the_fit_recovers_a_known_curve_and_its_rise():
    n = np.array([500.0, 1000.0, 2000.0, 4000.0])
    est = 1.0 - 200.0 / n  # I_inf = 1, a = -200: rising with n
    curve = _fit(n, est, np.full(4, 0.01))
    assert curve.extrapolated == pytest.approx(1.0, abs=1e-9)
    assert curve.rise == pytest.approx(200 / 500 - 200 / 4000, abs=1e-9) and curve.still_rising
    flat = _fit(n, np.array([0.5, 0.52, 0.49, 0.51]), np.full(4, 0.05))
    assert not flat.still_rising  # within the noise


def test_a_small_network_on_little_data_still_rises_and_bad_calls_are_refused():
    x, z = m.sample_correlated_gaussians(2000, dim=1, rho=0.9, seed=0)
    settings = dict(steps=300, hidden=(16,), eval_every=50, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        curve = m.sample_size_curve(x, z, (0.25, 1.0), method="mine", batch_size=64, **settings)
    assert list(curve.n) == [500, 2000] and np.all(np.isfinite(curve.estimates))
    with pytest.raises(ValueError, match="two distinct"):
        m.sample_size_curve(x, z, (1.0,))
    with pytest.raises(ValueError, match="fractions"):
        m.sample_size_curve(x, z, (0.0, 1.0))
    for method in ("ksg", "plugin", "mixed"):
        with pytest.raises(ValueError, match="neural method"):
            m.sample_size_curve(x, z, method=method)
    with pytest.raises(TypeError, match="sequence of numbers"):
        m.sample_size_curve(x, z, 0.5)
    with pytest.raises(ValueError, match="equal sizes"):
        m.sample_size_curve(x, z, (0.9999, 1.0))
    with pytest.raises(ValueError, match="fractions: 0.001 of 2000 pairs is 2 pairs, too few"):
        m.sample_size_curve(x, z, (0.001, 1.0), steps=5)


def test_infonce_keeps_one_block_for_every_subset_and_any_valid_seed_works(monkeypatch):
    import minelib.estimate

    seen = []
    real = minelib.estimate.estimate_mi
    monkeypatch.setattr(minelib.estimate, "estimate_mi", lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    x, z = m.sample_correlated_gaussians(600, dim=1, rho=0.5, seed=0)
    tiny = dict(steps=5, hidden=(8,), eval_every=5, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        m.sample_size_curve(x, z, (0.5, 1.0), seed=np.int64(2**63 - 1), **tiny)
    assert [kw["batch_size"] for kw in seen] == [30, 30]  # the smaller subset's held-out split, for both
    assert [kw["seed"] for kw in seen] == [2**63 - 1, 0]  # wrapped, never out of range
