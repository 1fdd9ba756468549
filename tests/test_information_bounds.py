"""Exact identities of the DV and f bounds on distributions small enough to sum over.

All quantities are sums of a few float64 terms, so identities hold to ~1e-12 (machine precision
times the number of terms), and that is the tolerance used.
"""

import numpy as np
import pytest
import torch

import minelib as m

rng = np.random.default_rng(0)
P_XZ = rng.dirichlet(np.ones(12)).reshape(3, 4)
Q_XZ = m.product_of_marginals(P_XZ)
T_STAR = np.log(P_XZ / Q_XZ)


def dv(t, p=P_XZ, q=Q_XZ):
    return float(m.dv_bound(t.ravel(), t.ravel(), p=p.ravel(), q=q.ravel()))


def fb(t, p=P_XZ, q=Q_XZ):
    return float(m.f_bound(t.ravel(), t.ravel(), p=p.ravel(), q=q.ravel()))


def test_entropy_and_mi_identities():
    h_x, h_z, h_xz = m.entropy(P_XZ.sum(1)), m.entropy(P_XZ.sum(0)), m.entropy(P_XZ)
    assert m.mutual_information(P_XZ) == pytest.approx(h_x + h_z - h_xz, abs=1e-12)
    assert m.entropy(np.full(8, 1 / 8)) == pytest.approx(np.log(8), abs=1e-12)
    assert m.mutual_information(np.outer([0.3, 0.7], [0.5, 0.5])) == pytest.approx(0, abs=1e-15)


def test_dv_at_optimal_critic_equals_kl_discrete():
    mi = m.mutual_information(P_XZ)
    assert dv(T_STAR) == pytest.approx(mi, abs=1e-12)
    assert dv(T_STAR + 3.7) == pytest.approx(mi, abs=1e-12)  # T* + C is optimal for any constant C
    assert fb(T_STAR + 1) == pytest.approx(mi, abs=1e-12)  # the f-bound's optimum is T* + 1


@pytest.mark.parametrize("seed", range(20))
def test_random_critics_gap_is_kl_to_gibbs_and_f_below_dv(seed):
    t = np.random.default_rng(seed).normal(scale=2, size=P_XZ.shape)
    gap = m.mutual_information(P_XZ) - dv(t)
    assert gap == pytest.approx(m.kl_divergence(P_XZ, m.gibbs(t, Q_XZ)), abs=1e-12)
    assert gap >= -1e-12
    assert fb(t) <= dv(t) + 1e-12


def test_dv_optimal_critic_gaussian_monte_carlo():
    # T*(x, z) = log p(x,z)/(p(x)p(z)) for the bivariate Gaussian; DV on 10^6 samples is the MI
    # up to Monte-Carlo error: sd(T*) ~ 0.9 here, so 1/sqrt(1e6) scale noise; 5 sd = 0.005.
    rho, n = 0.8, 1_000_000
    x, z = (torch.as_tensor(a, dtype=torch.float64) for a in m.sample_correlated_gaussians(n, 1, rho, seed=1))
    zm = z[torch.randperm(n, generator=torch.Generator().manual_seed(2))]

    def t_star(x, z):
        return -0.5 * np.log(1 - rho**2) - (rho**2 * (x**2 + z**2) - 2 * rho * x * z) / (2 * (1 - rho**2))

    value = m.dv_bound(t_star(x, z).ravel(), t_star(x, zm).ravel())
    assert float(value) == pytest.approx(m.gaussian_mi(rho), abs=0.005)


def test_log_mean_exp_does_not_overflow():
    t = torch.tensor([1000.0, 1000.0])
    assert float(m.log_mean_exp(t)) == pytest.approx(1000.0)
    assert torch.isfinite(m.dv_bound(t, t))


def test_gaussian_mi_values_from_the_paper_notes():
    assert m.gaussian_mi(0.9, 1) == pytest.approx(0.830, abs=5e-4)
    assert m.gaussian_mi(0.99, 20) == pytest.approx(39.170, abs=5e-4)
    assert m.gaussian_mi(np.array([0.5, -0.5]), 2) == pytest.approx([0.288, 0.288], abs=5e-4)


def test_sampler_marginals_and_correlation():
    # n = 200k: the sample correlation's sd is (1 - rho^2)/sqrt(n) < 0.003, so 0.01 is > 3 sd.
    x, z = m.sample_correlated_gaussians(200_000, 3, -0.6, seed=3)
    assert x.shape == z.shape == (200_000, 3) and x.dtype == np.float32
    c = np.corrcoef(np.hstack([x, z]).T)
    assert np.allclose(np.diag(c[:3, 3:]), -0.6, atol=0.01)
    assert np.allclose(c[:3, 3:][~np.eye(3, dtype=bool)], 0, atol=0.01)  # no cross-coordinate correlation
    assert np.allclose(x.std(0), 1, atol=0.01) and np.allclose(z.std(0), 1, atol=0.01)


def test_nonlinear_mi_quadrature_converged_and_matches_ksg():
    # Doubling the quadrature resolution moves the value by < 1e-6 nats; KSG on 20k samples agrees to
    # within its bias + sd (~0.02 nats in 1-D at this MI).
    for f in ("x^3", "|x|"):
        exact = m.nonlinear_mi(f, 0.1)
        assert abs(m.nonlinear_mi(f, 0.1, n_nodes=40_000) - exact) < 1e-6
        x, y = m.sample_nonlinear(20_000, f, 0.1, seed=0)
        assert m.ksg_mi(x, y) == pytest.approx(exact, abs=0.02)
    # |X| ~ U(0, 1) with noise 0.5 is U(-1, 1) with noise 1 scaled by 1/2: MI is scale-invariant.
    assert m.nonlinear_mi("|x|", 0.5) == pytest.approx(m.nonlinear_mi("x", 1.0), abs=1e-6)
