import numpy as np
import pytest

import minelib as m


@pytest.mark.parametrize(("dims", "k", "workers"), [((1, 1), 3, 1), ((3, 3), 5, 2), ((2, 1), 1, 1), ((1, 12), 4, 2)])
def test_ksg_matches_bruteforce_reference(dims, k, workers):
    # Below BLOCKED_FROM_DIM joint dimensions: k-d tree for eps, 1-D sort or leaves for the counts.
    x, z = m.sample_correlated_gaussians(600, max(dims), 0.6, seed=sum(dims) + k)
    x, z = x[:, : dims[0]], z[:, : dims[1]]
    assert m.ksg_mi(x, z, k=k, workers=workers) == pytest.approx(m.ksg_mi_bruteforce(x, z, k=k), abs=1e-9)


@pytest.mark.parametrize(("dims", "workers", "rows"), [((8, 8), 1, 64), ((14, 3), 2, 64), ((8, 9), 2, 5)])
def test_ksg_matches_bruteforce_with_all_pairs(dims, workers, rows, monkeypatch):
    # From BLOCKED_FROM_DIM joint dimensions on: blocks of pairwise distances (n not a multiple of a block;
    # 5-row blocks stand in for the smaller blocks used above 32,768 samples).
    monkeypatch.setattr(m.ksg, "_ROWS", rows)
    assert sum(dims) >= m.ksg.BLOCKED_FROM_DIM
    x, z = m.sample_correlated_gaussians(517, max(dims), 0.6, seed=7)
    x, z = x[:, : dims[0]], z[:, : dims[1]]
    assert m.ksg_mi(x, z, workers=workers) == pytest.approx(m.ksg_mi_bruteforce(x, z), abs=1e-9)


def test_ksg_matches_bruteforce_with_mixed_dimensions_and_threads():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 2))
    z = np.hstack([x[:, :1] ** 2, rng.normal(size=(500, 2))])
    assert m.ksg_mi(x, z, k=4, workers=2) == pytest.approx(m.ksg_mi_bruteforce(x, z, k=4), abs=1e-9)


@pytest.mark.parametrize("offset", [0.0, 3e9])
def test_ksg_counts_strictly_inside_with_ties_at_the_radius(offset):
    # x on an integer grid: many radii are whole numbers and many points sit exactly at distance eps in x;
    # the definition counts only those strictly closer. A large offset makes every subtraction round.
    rng = np.random.default_rng(8)
    x = offset + rng.integers(0, 40, size=(800, 1)).astype(float)
    z = np.hstack([x - offset + rng.normal(scale=3.0, size=(800, 1)), rng.integers(0, 9, size=(800, 1))])
    assert m.ksg_mi(x, z, k=2) == pytest.approx(m.ksg_mi_bruteforce(x, z, k=2), abs=1e-9)


def test_ksg_close_to_truth_in_one_dimension():
    # KSG's bias for a bivariate Gaussian at n = 5000, k = 3 is a few 1e-3 nats (Kraskov et al. 2004,
    # Fig. 4) and its sd ~ 0.01 nats; 0.03 covers both with margin.
    for rho in (0.0, 0.5, 0.9):
        x, z = m.sample_correlated_gaussians(5000, 1, rho, seed=4)
        assert m.ksg_mi(x, z) == pytest.approx(m.gaussian_mi(rho), abs=0.03)


def test_ksg_ceiling_and_downward_bias_in_high_dimension():
    n, k = 1000, 3
    x, z = m.sample_correlated_gaussians(n, 20, 0.9, seed=5)
    from scipy.special import digamma

    estimate = m.ksg_mi(x, z, k=k)
    assert estimate <= digamma(n) - digamma(k) + 1e-12
    assert estimate < 0.5 * m.gaussian_mi(0.9, 20)
