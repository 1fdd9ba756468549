"""The trust checks (minelib.trust) on synthetic arrays: each warning fires on the history or estimate it describes,
and stays silent on a healthy one. No network is trained here."""

import math
import warnings

import numpy as np
import pytest

import minelib as m
from minelib.trust import column_problems, fit_problems, replicate_problems, tie_problems, warn

STEPS, EVALS = 200, 5
HEALTHY = dict(
    train=np.linspace(0.0, 0.5, STEPS),
    val=np.linspace(0.1, 0.5, EVALS),
    values=np.array(0.5),
    se=np.array(0.02),
    n_marginal=10_000,
    caps=np.array(math.inf),
)


def problems(**changes) -> list[str]:
    return fit_problems(**{**HEALTHY, **changes})


def test_a_healthy_fit_raises_nothing():
    assert problems() == []


def test_non_finite_training_values():
    train = HEALTHY["train"].copy()
    train[50] = np.nan
    (found,) = problems(train=train)
    assert "non-finite" in found and "lower lr" in found


def test_a_collapsing_validation_curve_names_the_checkpoint():
    val = np.array([0.1, 0.4, 0.5, -2.0, -3.0])  # best 0.5, last -3: fell by more than 1 nat and below -1
    (found,) = problems(val=val)
    assert "collapsed from 0.5 to -3" in found and "best checkpoint" in found
    (found,) = problems(val=val, checkpoint="last")
    assert "best checkpoint" not in found
    assert problems(val=np.array([0.1, 0.4, 0.5, 0.2, 0.1])) == []  # a noisy dip of 0.4 nats is no collapse


def test_a_collapse_while_the_training_bound_rises_is_memorisation_not_instability():
    val = np.array([0.5, 0.8, 0.2, -1.5, -3.5])
    rising = np.linspace(0.2, 4.0, 100)  # the training bound climbs to 4 nats while validation falls
    (found,) = fit_problems(rising, val, 0.7, 0.05, 10_000, np.inf)
    assert "collapsed from 0.8 to -3.5 nats while the training bound rose to 3.83" in found and "memorised" in found
    falling = np.concatenate([np.linspace(0.2, 0.8, 50), np.full(50, -2.0)])  # both fell: unstable
    found = fit_problems(falling, val, 0.7, 0.05, 10_000, np.inf)
    assert any("learning rate too high" in p for p in found) and not any("memorised" in p for p in found)


def test_below_zero_beyond_noise_but_not_within_it():
    (found,) = problems(values=np.array(-0.3), se=np.array(0.05))
    assert "below zero by more than its noise" in found
    assert problems(values=np.array(-0.1), se=np.array(0.05)) == []  # -0.1 > -(0.05 + 3 * 0.05)


def test_beyond_what_the_test_split_can_certify():
    # a critic that separates joint from re-paired test pairs: 1,000 test pairs x 10 re-pairings, ceiling ln 10,000
    (found,) = problems(values=np.array(50.0), se=np.array(0.1))
    assert "exceeds ln(number of re-paired test pairs) = 9.21" in found
    assert problems(values=np.array(9.0)) == []


def test_near_a_bounds_own_cap_and_not_the_ceiling():
    cap = math.log(16)
    (found,) = problems(values=np.array(cap - 0.1), caps=np.array(cap))
    assert "cap ln(batch_size) = 2.77" in found
    assert problems(values=np.array(cap - 0.6), caps=np.array(cap)) == []


def test_ensemble_members_are_named():
    values, se, caps = np.array([0.5, -2.0, 0.4]), np.full(3, 0.02), np.full(3, math.inf)
    train, val = np.zeros((STEPS, 3)), np.zeros((EVALS, 3))
    (found,) = fit_problems(train, val, values, se, 10_000, caps)
    assert "(ensemble members [1])" in found


def test_column_checks_follow_the_preprocessing():
    rng = np.random.default_rng(0)
    heavy = rng.standard_t(1.5, size=(2000, 1))
    normal = rng.normal(size=(2000, 1))
    assert any("heavy-tailed" in p for p in column_problems(heavy, normal, "standardize"))
    assert column_problems(heavy, normal, "copula") == []  # ranks: tails no longer matter
    offset = normal + 1e6
    assert any("standard deviations from zero" in p for p in column_problems(offset, normal, "none"))
    assert column_problems(offset, normal, "standardize") == []


def test_tie_checks():
    x = np.arange(100.0)[:, None]
    assert tie_problems(x, x.copy()) == []
    (found,) = tie_problems(np.vstack([x, x[:3]]), np.vstack([x, x[:3]]))
    assert found.startswith("6 of 103 samples duplicate another (x, z) row")
    rounded = np.round(np.linspace(0, 1, 100), 1)[:, None]
    (found,) = tie_problems(rounded, x)
    assert "share their x value" in found


@pytest.mark.parametrize("seed", range(40))
def test_duplicate_counting_equals_sorting_the_rows(seed):
    """The one-sort row hash counts exactly what ``np.unique(axis=0)`` counts: integer grids full of ties,
    copied rows, signed zeros (equal as floats), one column and many."""
    from minelib.trust import _duplicated

    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(2, 400)), int(rng.integers(1, 8))
    a = rng.integers(-2, 3, (n, d)).astype(float) if seed % 2 else rng.standard_normal((n, d))
    a[rng.integers(0, n, seed % 7)] = a[0]
    a[a == 0] = -0.0 if seed % 3 == 0 else 0.0
    _, inverse, counts = np.unique(a + 0.0, axis=0, return_inverse=True, return_counts=True)
    assert _duplicated(a) == int((counts[inverse.ravel()] > 1).sum())


def test_warn_points_at_the_callers_line():
    with pytest.warns(m.MINEWarning, match="something") as record:
        warn(["something"])
    assert record[0].filename == __file__


def test_a_training_bound_far_below_zero_is_divergence_and_names_the_learning_rate():
    train = HEALTHY["train"].copy()
    train[10] = -1.04e4  # one exploded step; the curve recovered afterwards
    (found,) = problems(train=train, lr=1.0)
    assert found.startswith("training diverged: the training bound fell to -1.04e+04 nats (step 10)")
    assert "lower lr (now 1)" in found
    # the noise of a high-MI run scales the threshold: values around 8 nats dipping to -40 are not divergence
    noisy = np.full(STEPS, 8.0)
    noisy[::20] = -40.0
    assert problems(train=noisy, val=np.full(EVALS, 8.0), values=np.array(8.0)) == []


def test_an_early_kept_network_with_every_later_one_worse():
    val = np.array([0.3, -0.5, -0.4, -0.6, -0.45])  # best at the first evaluation, all later ones 0.7+ below
    steps = np.array([10, 50, 100, 150, 200])
    (found,) = problems(val=val, kept=np.array(10), eval_step=steps, lr=10.0)
    assert "network of step 10, in the first 5% of 200 steps" in found and "lower lr (now 10)" in found
    recovering = np.array([0.3, -0.5, 0.25, 0.28, 0.29])  # later networks nearly as good: no warning
    assert problems(val=recovering, kept=np.array(10), eval_step=steps) == []


@pytest.mark.parametrize("lr", [1.0, 10.0])
def test_diverged_mine_training_is_never_a_silent_estimate(lr):
    # lr = 1 used to report 0.01 nats for a truth of 0.51 without a word
    x, z = m.sample_correlated_gaussians(2000, 1, 0.8, seed=1)
    with pytest.warns(m.MINEWarning, match=rf"training diverged: .* lower lr \(now {lr:g}\)"):
        m.estimate_mi(x, z, lr=lr, steps=300, eval_every=25, hidden=(32, 32), seed=0, device="cpu")


def test_a_merely_noisy_run_raises_no_alarm():
    x, z = m.sample_correlated_gaussians(2000, 1, 0.8, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", m.MINEWarning)
        r = m.estimate_mi(x, z, batch_size=16, steps=500, eval_every=25, hidden=(32, 32), seed=0, device="cpu")
    assert abs(r.estimate - m.gaussian_mi(0.8)) < 0.1


# ----------------------------------------------------------------------------------- KSG's trust checks
def _ksg_said(x, z, **options) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.ksg_mi(x, z, **options)
    return [str(w.message) for w in caught if issubclass(w.category, m.MINEWarning)]


@pytest.mark.parametrize("preprocess", ["standardize", "none"])
def test_ksg_warns_about_an_outlier_and_heavy_tails_unless_the_copula_is_used(preprocess):
    x, z = m.sample_correlated_gaussians(300, 1, 0.8, seed=0)
    outlier = x.copy()
    outlier[0] = 1e6  # took KSG from 0.55 to 0.003 without a word
    assert any("heavy-tailed" in s and "KSG" in s for s in _ksg_said(outlier, z, preprocess=preprocess))
    lognormal = np.exp(3 * x)  # took KSG from 0.55 to 0.37
    assert any("heavy-tailed" in s for s in _ksg_said(lognormal, z, preprocess=preprocess))
    assert _ksg_said(outlier, z, preprocess="copula") == [] and _ksg_said(x, z, preprocess=preprocess) == []


def test_ksg_warns_when_its_neighbourhoods_are_too_wide():
    x, z = m.sample_correlated_gaussians(1000, 10, 0.9, seed=0)  # KSG 2.8 for a truth of 8.3
    (found,) = _ksg_said(x, z)
    assert "neighbourhoods are wide" in found and "20 joint dimensions" in found
    rng = np.random.default_rng(0)
    x1, z1 = m.sample_correlated_gaussians(1000, 1, 0.8, seed=1)
    assert any("wide" in s for s in _ksg_said(np.hstack([x1, rng.normal(size=(1000, 49))]), z1))  # 50 + 1
    x2, z2 = m.sample_correlated_gaussians(1000, 2, 0.9, seed=0)
    assert _ksg_said(x2, z2) == []  # 2 + 2 dimensions: within 10% of the truth, no warning
    from minelib.ksg_torch import ksg_mi_torch

    with pytest.warns(m.MINEWarning, match="neighbourhoods are wide"):
        ksg_mi_torch(x, z, device="cpu")


# ------------------------------------------------------------------------------ replicates that disagree
def test_the_biased_dv_seeds_of_chapter_5_disagree_and_minelibs_own_do_not():
    """book/results/gaussians.json, d = 20, rho = +-0.7 (truth 6.73 nats): two data seeds at each sign, so four
    draws of the same MI. The biased DV read 0.05, 3.27, -0.53 and -8.44 (no warning was raised for 0.05 and 3.27);
    MINE read 4.30, 4.16, 4.48, 4.39. Standard errors of such test-split estimates are about 0.1-0.3 nats."""
    se = np.full(4, 0.3)
    (found,) = replicate_problems([0.05, 3.267, -0.531, -8.443], se, ["d=20, I=6.73"] * 4)
    assert "members 3 and 1 (d=20, I=6.73)" in found and "11.7 apart" in found
    assert replicate_problems([4.295, 4.161, 4.476, 4.391], se, ["d=20, I=6.73"] * 4) == []
    # only estimates labelled alike are compared
    assert replicate_problems([0.1, 3.0], [0.05, 0.05], ["a", "b"]) == []


def test_estimate_many_compares_declared_replicates():
    pairs = [m.sample_correlated_gaussians(400, 1, 0.5, seed=s) for s in range(2)]
    small = dict(steps=30, batch_size=32, hidden=(8,), eval_every=10, seed=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        m.estimate_many(pairs, ["mine"], replicates=["same", "same"], **small)
    with pytest.raises(ValueError, match="one label per data set"):
        m.estimate_many(pairs, ["mine"], replicates=["same"], **small)


def test_estimate_many_names_members_by_method_and_data_set():
    from minelib.trust import member_names

    values, se, caps = np.array([0.5, -2.0, 0.4]), np.full(3, 0.02), np.full(3, math.inf)
    with member_names(["nwj on data set 0", "nwj on data set 1", "js on data set 0"]):
        (found,) = fit_problems(np.zeros((STEPS, 3)), np.zeros((EVALS, 3)), values, se, 10_000, caps)
    assert "(nwj on data set 1)" in found
    (found,) = fit_problems(np.zeros((STEPS, 3)), np.zeros((EVALS, 3)), values, se, 10_000, caps)
    assert "(ensemble members [1])" in found  # outside the context: indices


def test_collapse_with_the_last_checkpoint_counts_any_fall_of_a_nat():
    val = np.array([0.5, 2.5, 3.0, 1.5, 0.2])  # fell from 3.0 to 0.2, never below -1
    assert problems(val=val) == []  # the best checkpoint is kept: the estimate is the good network's
    (found,) = problems(val=val, checkpoint="last")
    assert "collapsed from 3 to 0.2" in found


def test_a_one_hot_code_is_not_heavy_tailed():
    labels = np.random.default_rng(0).integers(0, 60, 3000)
    one_hot, z = np.eye(60)[labels], np.random.default_rng(1).normal(size=(3000, 1))
    assert column_problems(one_hot, z, "standardize") == []
