"""The trust checks (minelib.trust) on synthetic arrays: each warning fires on the history or estimate it describes,
and stays silent on a healthy one. No network is trained here."""

import math

import numpy as np
import pytest

import minelib as m
from minelib.trust import column_problems, fit_problems, tie_problems, warn

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


def test_warn_points_at_the_callers_line():
    with pytest.warns(m.MINEWarning, match="something") as record:
        warn(["something"])
    assert record[0].filename == __file__
