"""The hard cases of minelib.tasks (samplers and their exact MI) and the InfoNCE path of MINE, estimate_mi and
estimate_many: the ln b cap, what InfoNCE refuses, its own ensemble, and the critics."""

import math
import warnings

import numpy as np
import pytest
from scipy.integrate import quad

import minelib as m
from minelib.data import rho_for_mi
from minelib.nets import SeparableCritic
from minelib.tasks import additive_uniform_mi, half_cube, hard_cases, task

NAMES = ["gaussian", "independent", "high-mi", "half-cube", "sparse", "student-t", "uniform-noise"]


# ------------------------------------------------------------------------------------------------ tasks
def test_the_seven_tasks_by_name():
    tasks = hard_cases()
    assert list(tasks) == NAMES
    for name, t in tasks.items():
        assert t.name == name and task(name).name == name and task(name).mi == t.mi


@pytest.mark.parametrize("name", NAMES)
def test_task_samples_shapes_dtype_seed_and_finite_mi(name):
    t = task(name)
    x, z = t.sample(50, seed=3)
    assert x.dtype == np.float64 and z.dtype == np.float64
    assert x.shape == (50, t.x_dim) and z.shape == (50, t.z_dim)
    assert np.isfinite(x).all() and np.isfinite(z).all()
    x2, z2 = t.sample(50, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(z, z2)
    x3, _ = t.sample(50, seed=4)
    assert not np.array_equal(x, x3)
    assert isinstance(t.mi, float) and math.isfinite(t.mi) and t.mi >= 0


def test_declared_mi_values():
    tasks = hard_cases()
    assert tasks["independent"].mi == 0.0
    assert tasks["high-mi"].mi == 6.0
    assert tasks["gaussian"].mi == tasks["half-cube"].mi == tasks["sparse"].mi == 1.0
    assert tasks["student-t"].mi == m.student_t_mi(1.0, 2, 2) > 0
    assert tasks["uniform-noise"].mi == additive_uniform_mi(0.1) > 0


def test_unknown_task_names_the_choices():
    with pytest.raises(ValueError, match="nope") as info:
        task("nope")
    for name in NAMES:
        assert repr(name) in str(info.value)


def test_bad_sample_arguments():
    t = task("gaussian")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        t.sample(0)
    with pytest.raises(ValueError, match="seed"):
        t.sample(10, seed=-1)


# ----------------------------------------------------------------------------- the truths, checked
def _trapezoid_entropy(eps: float) -> tuple[float, float]:
    """h(Z) for Z = X + N, X ~ U(0, 1), N ~ U(-eps, eps), eps <= 1/2, by quadrature of -p ln p over the ramps
    and the plateau of the trapezoid density; returns (value, quad's error estimate summed)."""

    def density(zv):
        return min(1.0, (zv + eps) / (2 * eps), (1 + eps - zv) / (2 * eps))

    def integrand(zv):
        p = density(zv)
        return -p * math.log(p) if p > 0 else 0.0

    total, error = 0.0, 0.0
    for lo, hi in ((-eps, eps), (eps, 1 - eps), (1 - eps, 1 + eps)):
        if hi > lo:
            v, e = quad(integrand, lo, hi, epsabs=1e-14, epsrel=1e-14, limit=200)
            total, error = total + v, error + e
    return total, error


@pytest.mark.parametrize("eps", [0.5, 0.3, 0.1, 0.01])
def test_additive_uniform_mi_matches_quadrature(eps):
    # I = h(Z) - h(Z | X) with h(Z | X) = h(N) = ln(2 eps). The integrand is smooth on each piece up to the
    # integrable p ln p endpoint at p = 0, which quad resolves to its requested 1e-14; 1e-8 leaves room for that
    # and for the float64 rounding (~1e-16) of the closed form.
    h_z, error = _trapezoid_entropy(eps)
    assert error < 1e-10
    assert additive_uniform_mi(eps) == pytest.approx(h_z - math.log(2 * eps), abs=1e-8)


def test_additive_uniform_mi_rejects_eps_outside_its_formula():
    for eps in (0.0, -0.1, 0.6):
        with pytest.raises(ValueError, match="eps"):
            additive_uniform_mi(eps)


def test_uniform_noise_sample_follows_its_definition():
    x, z = task("uniform-noise").sample(2000, seed=0)
    assert np.all((x >= 0) & (x <= 1)) and np.all(np.abs(z - x) <= 0.1)


def test_sparse_truth_and_independent_inactive_coordinates():
    t = task("sparse")
    rho = rho_for_mi(1.0, 2)  # two active coordinate pairs share the task's 1 nat
    # The truth is that of two correlated Gaussian pairs; rho_for_mi inverts gaussian_mi up to float64
    # rounding of exp/log (relative ~1e-16), so rel=1e-12 is exact up to rounding.
    assert t.mi == pytest.approx(m.gaussian_mi(rho, 2), rel=1e-12)
    n = 20_000
    x, z = t.sample(n, seed=0)
    c = np.corrcoef(x.T, z.T)[: t.x_dim, t.x_dim :]  # corr(x_i, z_j), 25 x 25
    # A sample correlation has sd (1 - r^2)/sqrt(n) (Fisher), at most 1/sqrt(n): 4/sqrt(n) is a 4-sigma bound.
    bound = 4 / math.sqrt(n)
    np.testing.assert_allclose(np.diag(c)[:2], rho, atol=4 * (1 - rho**2) / math.sqrt(n))
    assert np.all(np.abs(np.diag(c)[2:]) < bound)  # the inactive coordinate pairs
    # Every off-diagonal cross pair (x_i, z_j), i != j, is independent too: 600 of them, so the Bonferroni bound
    # for a 1e-3 chance of any false alarm is the 1 - 1e-3 / (2 * 600) normal quantile, 4.8 sigma: 5/sqrt(n).
    off = ~np.eye(t.x_dim, dtype=bool)
    assert np.all(np.abs(c[off]) < 5 / math.sqrt(n))


def test_half_cube_is_odd_and_strictly_increasing():
    a = np.linspace(-5, 5, 100_001)
    assert np.all(np.diff(half_cube(a)) > 0)
    np.testing.assert_array_equal(half_cube(-a), -half_cube(a))
    assert half_cube(np.array([0.0]))[0] == 0.0
    np.testing.assert_allclose(half_cube(np.array([4.0, -9.0])), [8.0, -27.0], rtol=1e-15)


def test_half_cube_task_is_invariant_under_the_copula():
    # Same seed: the half-cube task is the Gaussian baseline's sample through half_cube, coordinatewise.
    xg, zg = task("gaussian").sample(1000, seed=5)
    xh, zh = task("half-cube").sample(1000, seed=5)
    np.testing.assert_array_equal(xh, half_cube(xg))
    np.testing.assert_array_equal(zh, half_cube(zg))
    # The copula uses only ranks, which a strictly increasing map keeps: KSG sees identical inputs.
    assert m.ksg_mi(xh, zh, preprocess="copula") == m.ksg_mi(xg, zg, preprocess="copula")
    # (standardizing does not remove the map, so there the inputs, and the estimates, differ)
    assert m.ksg_mi(xh, zh, preprocess="standardize") != m.ksg_mi(xg, zg, preprocess="standardize")


# ------------------------------------------------------------------------------------------- InfoNCE
def test_infonce_never_exceeds_ln_batch_size_and_warns_about_the_cap():
    x, z = m.sample_correlated_gaussians(2000, dim=5, rho=0.99, seed=0)  # MI = 9.8 nats >> ln 16 = 2.77
    b = 16
    with pytest.warns(m.MINEWarning, match=r"cap ln\(batch_size\)"):
        r = m.estimate_mi(x, z, method="infonce", batch_size=b, steps=200, seed=0, device="cpu")
    assert r.settings["critic"] == "separable"  # InfoNCE's default critic
    # Each per-row term T_ii - ln((1/b) sum_j exp T_ij) is <= ln b, since the logsumexp of a row is at least its
    # largest entry, hence at least T_ii: the estimate is a mean of such terms. In float32 the bound holds up to
    # rounding: one rounding of the subtraction (1 ulp) and the summation of the mean (relative error below
    # log2(400 terms) ~ 9 float32 eps), so 16 eps * ln b covers it with room.
    tol = 16 * np.finfo(np.float32).eps * math.log(b)
    assert r.estimate <= math.log(b) + tol
    assert np.all(r.history["train"] <= math.log(b) + tol)  # the batch bound, at every training step
    assert np.all(r.history["val"] <= math.log(b) + tol)
    assert r.estimate > math.log(b) - 0.5  # (near the cap: what the warning says)


def test_infonce_refuses_independent_marginals():
    x, z = m.sample_correlated_gaussians(400, dim=1, rho=0.5, seed=0)
    with pytest.raises(ValueError, match="marginal='shuffle'"):
        m.estimate_mi(x, z, method="infonce", marginal="independent", batch_size=16, steps=2, device="cpu")


def test_infonce_refuses_splits_smaller_than_a_block():
    # 100 pairs: 10 for validation and 20 for the test, while a held-out InfoNCE value needs a whole block of 16.
    x, z = m.sample_correlated_gaussians(100, dim=1, rho=0.5, seed=0)
    with pytest.raises(ValueError, match=r"too few samples.*batch_size=16"):
        m.estimate_mi(x, z, method="infonce", batch_size=16, steps=2, device="cpu")
    # the per-pair bounds need only 2 held-out pairs: the same call trains
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        r = m.estimate_mi(x, z, method="mine", batch_size=16, steps=2, hidden=(8,), device="cpu")
    assert math.isfinite(r.estimate)


def test_infonce_estimate_before_fit_needs_batch_size():
    x, z = m.sample_correlated_gaussians(64, dim=2, rho=0.5, seed=0)
    mine = m.MINE(2, 2, bound="infonce", critic="separable", hidden=(8,), embed_dim=4, seed=0, device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        mine.estimate(x, z)
    value = mine.estimate(x, z, batch_size=16)  # untrained, but a block size makes it defined
    assert math.isfinite(value) and value <= math.log(16) + 16 * np.finfo(np.float32).eps * math.log(16)
    with pytest.raises(ValueError, match="at least batch_size=16"):
        mine.estimate(x[:8], z[:8])


SMALL = dict(steps=60, seed=0, batch_size=16, hidden=(16,), eval_every=20, device="cpu")


def _pairs():
    return [m.sample_correlated_gaussians(400, dim=2, rho=r, seed=i) for i, r in enumerate((0.5, 0.9))]


def test_estimate_many_trains_infonce_as_its_own_ensemble():
    pairs = _pairs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        both = m.estimate_many(pairs, ["mine", "infonce"], **SMALL)
        alone = m.estimate_many(pairs, ["infonce"], **SMALL)
        mine_alone = m.estimate_many(pairs, ["mine"], **SMALL)
    assert list(both) == ["mine", "infonce"] and both["infonce"].shape == (2,)
    np.testing.assert_array_equal(both["infonce"], alone["infonce"])  # bitwise: nothing shared with "mine"
    np.testing.assert_array_equal(both["mine"], mine_alone["mine"])
    assert np.all(both["infonce"] <= math.log(16) + 16 * np.finfo(np.float32).eps * math.log(16))


def test_estimate_many_accepts_the_concat_critic_for_infonce():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        r = m.estimate_many(_pairs(), ["infonce"], critic="concat", **SMALL)
        separable = m.estimate_many(_pairs(), ["infonce"], **SMALL)
    assert r["infonce"].shape == (2,) and np.all(np.isfinite(r["infonce"]))
    assert not np.array_equal(r["infonce"], separable["infonce"])  # the option is honoured: another critic


def test_separable_critic_trains_the_dv_bound():
    x, z = m.sample_correlated_gaussians(1000, dim=2, rho=0.9, seed=1)
    mine = m.MINE(2, 2, critic="separable", hidden=(16,), embed_dim=8, seed=0, device="cpu")
    assert mine.config.bounds == ("mine",) and isinstance(mine.T, SeparableCritic)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        mine.fit(x, z, steps=100, batch_size=64)
    assert math.isfinite(mine.estimate_) and np.isfinite(mine.history["train"]).all()


def test_unknown_critic_is_named():
    with pytest.raises(ValueError, match=r"critic 'mlp'.*'concat', 'separable'"):
        m.MINE(2, 2, critic="mlp")


def test_the_benchmark_suites_exact_mis_and_transforms():
    """Each Gaussian task's MI from the log-determinants of its population covariance; the maps keep MI
    (the spiral keeps the norm and is undone by the opposite rotation; the wiggles are increasing)."""
    from minelib.tasks import _wiggle_x, _wiggle_z, benchmark_suite, equicorrelated_mi, latent_pairs_mi, spiral

    def gaussian_mi_of(cov, dx):
        logdet = lambda c: np.linalg.slogdet(c)[1]  # noqa: E731
        return 0.5 * (logdet(cov[:dx, :dx]) + logdet(cov[dx:, dx:]) - logdet(cov))

    cov = np.full((50, 50), 0.5) + 0.5 * np.eye(50)
    assert equicorrelated_mi(25, 25, 0.5) == pytest.approx(gaussian_mi_of(cov, 25), abs=1e-12)
    cov = np.eye(6)
    cov[0, 3] = cov[3, 0] = cov[1, 4] = cov[4, 1] = 0.8
    assert latent_pairs_mi(2, 2.0) == pytest.approx(gaussian_mi_of(cov, 3), abs=1e-12)
    suite = benchmark_suite()
    assert len(suite) == 14 and {t.mi for t in suite.values()} >= {0.0, 3.0}
    x, z = suite["sparse-25-25"].sample(100_000, seed=0)
    assert np.corrcoef(x[:, 1], z[:, 1])[0, 1] == pytest.approx(0.8, abs=0.01) and x.std(0) == pytest.approx(
        1, abs=0.02
    )
    a = np.random.default_rng(0).standard_normal((500, 5))
    turned = spiral(a, 0.2, (1, 2))
    np.testing.assert_allclose(np.linalg.norm(turned, axis=1), np.linalg.norm(a, axis=1), rtol=1e-12)
    np.testing.assert_allclose(spiral(turned, -0.2, (1, 2)), a, atol=1e-12)
    t = np.linspace(-20, 20, 100_001)
    assert np.all(np.diff(_wiggle_x(t)) > 0) and np.all(np.diff(_wiggle_z(t)) > 0)
    np.testing.assert_array_equal(
        suite["spiral-sparse-5-5"].sample(50, seed=3)[0], suite["spiral-sparse-5-5"].sample(50, seed=3)[0]
    )
