"""Sane answers on a reader's own data: units, offsets, heavy tails, duplicates and diverged training.

Mutual information does not change under invertible maps of X and of Z, so neither may the estimates
(within noise). Tolerances: a MINE test-split estimate on 1,000 pairs has a standard error of a few
hundredths of a nat at these MI values; rescaling is exact up to float32 rounding of the standardized data.
"""

import warnings

import numpy as np
import pytest

import minelib as m

X, Z = m.sample_correlated_gaussians(5000, 1, 0.9, seed=0)
FAST = dict(steps=600, batch_size=128, hidden=(32, 32), seed=0, device="cpu")


def test_mine_does_not_depend_on_units_or_offsets():
    base = m.estimate_mi(X, Z, **FAST).estimate
    assert abs(base - m.gaussian_mi(0.9)) < 0.15  # a short run, but it learns most of the 0.83 nats
    assert m.estimate_mi(X * 1e4, Z * 1e4, **FAST).estimate == pytest.approx(base, abs=0.05)
    # float32 x + 1e6 keeps a resolution of 1/16: a sliver of information is lost, far below 0.05 nats
    assert m.estimate_mi(X + 1e6, Z, **FAST).estimate == pytest.approx(base, abs=0.05)
    assert m.estimate_mi(X.astype(float) * 1e30, Z, **FAST).estimate == pytest.approx(base, abs=0.05)
    assert m.estimate_mi(np.exp(X), Z, preprocess="copula", **FAST).estimate == pytest.approx(base, abs=0.05)


def test_ksg_does_not_depend_on_the_scale_of_one_variable():
    x = X.astype(np.float64)  # (1000 * x in float32 would round x itself)
    assert m.ksg_mi(1000 * x, Z) == pytest.approx(m.ksg_mi(x, Z), abs=1e-6)
    assert m.ksg_mi(x + 1e6, Z) == pytest.approx(m.ksg_mi(x, Z), abs=1e-6)
    with pytest.warns(m.MINEWarning, match="share their x value"):  # float32 x + 1e6: steps of 1/16, ties
        m.ksg_mi(X + np.float32(1e6), Z)
    assert m.ksg_mi(np.exp(X.astype(float)), Z, preprocess="copula") == pytest.approx(
        m.ksg_mi(X, Z, preprocess="copula"), abs=1e-9
    )
    # without preprocessing the max-norm ignores the small variable: the old, silent failure
    assert m.ksg_mi(1000 * X, Z, preprocess="none") < 0.5


def test_duplicated_rows_in_ksg_warn_with_the_count():
    with pytest.warns(m.MINEWarning, match="10000 of 10000 samples duplicate"):
        m.ksg_mi(np.repeat(X, 2, 0), np.repeat(Z, 2, 0))
    x_int = np.round(X * 2)  # a rounded variable: heavily tied values
    with pytest.warns(m.MINEWarning, match="share their x value"):
        m.ksg_mi(x_int, Z)


def test_diverged_training_warns():
    settings = dict(lr=2.0, steps=1000, seed=0, device="cpu")  # the default network, a far too large step
    with pytest.warns(m.MINEWarning, match="collapsed|below zero"):
        r = m.estimate_mi(X, Z, "mine", preprocess="none", checkpoint="last", **settings)
    assert r.estimate < -1
    with warnings.catch_warnings(record=True) as caught:  # with the safety on: sane, or said
        warnings.simplefilter("always")
        r = m.estimate_mi(X, Z, "mine", **settings)
    assert r.estimate >= -1 or any(issubclass(w.category, m.MINEWarning) for w in caught)


def test_torch_activations_with_gradients_are_estimated():
    import torch

    net = torch.nn.Linear(1, 4)
    activations = net(torch.as_tensor(X))  # requires_grad: the typical "MI of a layer" call
    r = m.estimate_mi(activations, Z, **FAST)
    assert np.isfinite(r.estimate) and activations.requires_grad


def test_mean_estimate_at_independence_is_not_biased_up():
    # Test split independent of training and of the checkpoint choice: no upward bias at rho = 0.
    pairs = [m.sample_correlated_gaussians(5000, 1, 0.0, seed=s) for s in range(4)]
    values = m.estimate_many(pairs, ["mine"], seed=0, device="cpu")["mine"]
    assert values.mean() <= 0.01
    assert np.all(np.abs(values) < 0.05)


def test_student_t_with_the_copula_1d():
    # 1-D, nu = 1, 2, 3 (exact MI 0.224, 0.083, 0.042 nats): within max(0.07, 25%) on average over 3 seeds.
    nus, seeds = (1, 2, 3), 3
    pairs = [m.sample_student_t(5000, nu, 1, 1, seed=s) for nu in nus for s in range(seeds)]
    values = m.estimate_many(pairs, ["mine"], preprocess="copula", seed=0, device="cpu")["mine"]
    for nu, mean in zip(nus, values.reshape(len(nus), seeds).mean(1)):
        truth = m.student_t_mi(nu)
        assert abs(mean - truth) <= max(0.07, 0.25 * truth), (nu, mean, truth)


def test_student_t_with_the_copula_5d():
    # 5 + 5 dimensions, nu = 2 (exact 0.448 nats): the copula gets part of the way; never above the truth.
    pairs = [m.sample_student_t(5000, 2, 5, 5, seed=s) for s in range(3)]
    values = m.estimate_many(pairs, ["mine"], preprocess="copula", seed=0, device="cpu")["mine"]
    # detects the dependence (four standard errors of a 3-seed mean, about 0.012 each, above 0) and stays a
    # held-out lower bound (not above the truth beyond noise)
    assert 0.05 <= values.mean() <= m.student_t_mi(2, 5, 5) + 0.1


def test_student_t_without_preprocessing_never_returns_a_silent_absurd_value():
    x, z = m.sample_student_t(5000, 1, 1, 1, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = m.estimate_mi(x, z, preprocess="none", **FAST)
    messages = " ".join(str(w.message) for w in caught if issubclass(w.category, m.MINEWarning))
    assert "heavy-tailed" in messages  # said before training
    if r.estimate < -1:
        assert "below zero" in messages


def test_student_t_exact_mi():
    # Closed form vs a Monte-Carlo estimate of E[log p(x,z) - log p(x) - log p(z)] (1-D, nu = 3).
    from scipy import stats

    nu = 3.0
    x, z = m.sample_student_t(400_000, nu, 1, 1, seed=1)
    joint = stats.multivariate_t(loc=[0, 0], shape=np.eye(2), df=nu).logpdf(np.hstack([x, z]))
    marginal = stats.t(df=nu).logpdf
    mc = joint - marginal(x[:, 0]) - marginal(z[:, 0])
    assert m.student_t_mi(nu) == pytest.approx(mc.mean(), abs=4 * mc.std() / np.sqrt(len(mc)))
    assert m.student_t_mi(1e6) < 1e-5 and m.student_t_mi(2, 5, 5) == pytest.approx(0.4482, abs=1e-4)


def test_integer_codes_independent_of_z_give_about_zero():
    # Integers 0..1000 independent of z: unscaled, raw MINE returned about -75 nats; standardized, ~0.
    x_int = np.random.default_rng(5).integers(0, 1001, size=(5000, 1))
    r = m.estimate_mi(x_int, Z, **FAST)
    assert abs(r.estimate) < 0.05
