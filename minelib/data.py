"""Ground truth and samplers: data whose mutual information is known exactly."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import digamma, gammaln

from minelib._checks import in_open_interval, positive_int, seed_value


def gaussian_mi(rho: float | np.ndarray, dim: int = 1) -> float | np.ndarray:
    r"""Exact mutual information, in nats, of two correlated Gaussian vectors.

    ``X`` and ``Z`` are each ``dim``-dimensional standard Gaussians with
    :math:`\operatorname{corr}(X^i, Z^j) = \delta_{ij}\rho`. The ``dim`` coordinate pairs are
    independent, so the MI adds up:

    .. math:: I(X; Z) = -\frac{d}{2}\log(1 - \rho^2).

    **Dimension convention:** ``dim`` is the dimension *of each variable* (the joint vector has
    ``2 * dim`` coordinates). The paper's "twenty-dimensional" case is ``dim = 20`` here.
    """
    positive_int("dim", dim)
    r = np.asarray(rho, dtype=float)
    if not np.all(np.abs(r) < 1):
        raise ValueError(f"rho must satisfy |rho| < 1 (the MI is infinite at |rho| = 1), got {rho!r}")
    mi = -0.5 * dim * np.log1p(-(r**2))
    return float(mi) if mi.ndim == 0 else mi


def rho_for_mi(mi: float, dim: int) -> float:
    r"""The correlation giving ``mi`` nats between two ``dim``-dimensional Gaussians: :math:`\sqrt{1-e^{-2I/d}}`."""
    in_open_interval("mi", mi, 0.0, math.inf)
    return math.sqrt(1 - math.exp(-2 * mi / positive_int("dim", dim)))


def sample_correlated_gaussians(n: int, dim: int, rho: float, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw ``n`` pairs ``(x, z)`` with :math:`x, z \in \mathbb{R}^{dim}` and componentwise correlation ``rho``.

    Built as :math:`z = \rho x + \sqrt{1-\rho^2}\,\varepsilon` with independent standard normal
    ``x`` and ``ε``, so each marginal is standard. Returns two ``float32`` arrays of shape ``(n, dim)``;
    their MI is :func:`gaussian_mi` ``(rho, dim)``.
    """
    positive_int("n", n)
    positive_int("dim", dim)
    in_open_interval("rho", rho, -1.0, 1.0)
    rng = np.random.default_rng(seed_value("seed", seed))
    x = rng.standard_normal((n, dim))
    z = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, dim))
    return x.astype(np.float32), z.astype(np.float32)


NONLINEAR_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "x": lambda x: x,
    "x^3": lambda x: x**3,
    "sin(x)": np.sin,
    "|x|": np.abs,
}


def sample_nonlinear(n: int, f: str, sigma: float, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw ``n`` pairs :math:`X \sim U(-1, 1)`, :math:`Y = f(X) + \sigma\varepsilon`, :math:`\varepsilon \sim N(0,1)`.

    ``f`` names one of ``NONLINEAR_FUNCTIONS``. ``sigma`` must be positive: at ``sigma = 0`` the
    pair is deterministic and its MI is infinite. The paper's self-equitability experiment (Fig. 2).
    """
    positive_int("n", n)
    if f not in NONLINEAR_FUNCTIONS:
        raise ValueError(f"unknown f {f!r}; choose one of {', '.join(map(repr, NONLINEAR_FUNCTIONS))}")
    in_open_interval("sigma", sigma, 0.0, np.inf)
    rng = np.random.default_rng(seed_value("seed", seed))
    x = rng.uniform(-1, 1, (n, 1))
    y = NONLINEAR_FUNCTIONS[f](x) + sigma * rng.standard_normal((n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def nonlinear_mi(f: str, sigma: float, n_nodes: int = 20_000) -> float:
    r"""Exact :math:`I(X;Y)` in nats for :func:`sample_nonlinear` (numerical quadrature, not sampling).

    :math:`I = h(Y) - h(Y|X) = h(Y) - \tfrac12\log(2\pi e\sigma^2)`, where the density
    :math:`p(y) = \tfrac12\int_{-1}^{1}\varphi_\sigma(y - f(x))\,dx` is integrated with the midpoint
    rule on ``n_nodes`` points and :math:`h(Y)` with the trapezoid rule on a fine grid of ``y``. Accurate
    to ~1e-5 nats for ``sigma >= 0.01`` (tests compare two resolutions and a KSG estimate).
    """
    if f not in NONLINEAR_FUNCTIONS:
        raise ValueError(f"unknown f {f!r}; choose one of {', '.join(map(repr, NONLINEAR_FUNCTIONS))}")
    in_open_interval("sigma", sigma, 0.0, np.inf)
    positive_int("n_nodes", n_nodes)
    fx = NONLINEAR_FUNCTIONS[f](-1 + (np.arange(n_nodes) + 0.5) * 2 / n_nodes)
    n_grid = int(40 * (np.ptp(fx) / sigma + 18)) + 1
    if n_grid * n_nodes > 4e10:
        raise ValueError(
            f"sigma={sigma} needs a quadrature grid of {n_grid:,} x {n_nodes:,} kernel values (about "
            f"{n_grid * n_nodes / 1e9 / 0.5 / 60:.0f} min): sigma >= 0.001 is supported, and below it "
            "I(X;Y) ~ h(f(X)) - log(sigma) - log(2 pi e)/2 to high accuracy"
        )
    y = np.linspace(fx.min() - 9 * sigma, fx.max() + 9 * sigma, n_grid)
    p_y = np.zeros_like(y)
    for chunk in np.array_split(fx, max(1, n_nodes // 500)):
        kernel = np.exp(-0.5 * ((y[:, None] - chunk) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
        p_y += kernel.sum(1) / n_nodes  # (1/2) * integral over [-1, 1] = mean over the midpoints
    integrand = np.where(p_y > 0, -p_y * np.log(np.where(p_y > 0, p_y, 1.0)), 0.0)
    h_y = float(np.trapezoid(integrand, y))
    return h_y - 0.5 * np.log(2 * np.pi * np.e * sigma**2)


def student_t_mi(nu: float, x_dim: int = 1, z_dim: int = 1) -> float:
    r"""Exact MI, in nats, of the two blocks of a multivariate Student-t vector with identity dispersion.

    :math:`(X, Z) = G / \sqrt{W/\nu}` with :math:`G \sim N(0, I_{d_x + d_z})` and :math:`W \sim \chi^2_\nu`
    shared by all coordinates: uncorrelated, yet dependent through the common scale. From the differential
    entropies of multivariate t distributions, with :math:`g(d) = \log\Gamma(\tfrac{\nu+d}{2}) -
    \tfrac{\nu+d}{2}\,\psi(\tfrac{\nu+d}{2})`,

    .. math:: I(X;Z) = g(0) + g(d_x + d_z) - g(d_x) - g(d_z).

    It falls to 0 as :math:`\nu \to \infty` (the Gaussian limit). ``nu > 0`` degrees of freedom.

    References
    ----------
    Arellano-Valle, R. B., J. E. Contreras-Reyes, M. G. Genton, "Shannon entropy and mutual information for
    multivariate skew-elliptical distributions", Scand. J. Statist. 40 (2013). P. Czyż et al., "Beyond Normal:
    on the evaluation of mutual information estimators", NeurIPS 2023 (the heavy-tailed tasks).
    """
    nu = in_open_interval("nu", nu, 0.0, np.inf)
    positive_int("x_dim", x_dim)
    positive_int("z_dim", z_dim)

    def g(d: int) -> float:
        a = (nu + d) / 2
        return float(gammaln(a) - a * digamma(a))

    return g(0) + g(x_dim + z_dim) - g(x_dim) - g(z_dim)


def sample_student_t(
    n: int, nu: float, x_dim: int = 1, z_dim: int = 1, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw ``n`` pairs of a multivariate Student-t vector with ``nu`` degrees of freedom, identity dispersion.

    Returns ``float64`` arrays ``(n, x_dim)`` and ``(n, z_dim)``; their MI is :func:`student_t_mi`. Heavy
    tails: for ``nu <= 2`` the variance is infinite, for ``nu <= 1`` the mean too (``nu = 1``: Cauchy).
    """
    positive_int("n", n)
    nu = in_open_interval("nu", nu, 0.0, np.inf)
    positive_int("x_dim", x_dim)
    positive_int("z_dim", z_dim)
    rng = np.random.default_rng(seed_value("seed", seed))
    g = rng.standard_normal((n, x_dim + z_dim))
    scale = np.sqrt(rng.chisquare(nu, (n, 1)) / nu)
    t = g / scale
    return t[:, :x_dim], t[:, x_dim:]


def gaussian_log_ratio(x: np.ndarray, z: np.ndarray, rho: float) -> np.ndarray:
    r"""The optimal critic of :func:`sample_correlated_gaussians`: :math:`T^*(x, z) = \log\frac{p(x,z)}{p(x)p(z)}`.

    Per coordinate pair :math:`-\tfrac12\log(1-\rho^2) - \frac{\rho^2 x^2 - 2\rho x z + \rho^2 z^2}{2(1-\rho^2)}`,
    summed over the coordinates; ``x`` and ``z`` broadcast against each other (``(..., dim)``). Its mean over
    the joint is :func:`gaussian_mi`, and :math:`\mathbb{E}_{p(x)p(z)}[e^{T^*}] = 1`.
    """
    rho = in_open_interval("rho", rho, -1.0, 1.0)
    x, z = np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64)
    q = (rho**2 * x**2 - 2 * rho * x * z + rho**2 * z**2) / (2 * (1 - rho**2))
    return (-0.5 * np.log1p(-(rho**2)) - q).sum(-1)
