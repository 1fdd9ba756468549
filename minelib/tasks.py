r"""Tasks with exact mutual information: the chapter "Hard cases" (:func:`hard_cases`) and the suite on which
:func:`~minelib.estimate_mi`'s default was chosen (:func:`benchmark_suite`).

Each :class:`Task` draws ``n`` pairs with NumPy and knows its MI from a formula, so every estimator can be
scored against the truth. The tasks follow the failure modes collected by Czyż et al. (2023): a Gaussian
baseline and independence (MI = 0), high MI, a smooth invertible transform of each coordinate (which does
not change MI), sparse interactions in many dimensions, heavy tails, and a bounded, non-Gaussian noise.

References
----------
P. Czyż, F. Grabowski, J. Vogt, N. Beerenwinkel, A. Marx, "Beyond Normal: On the Evaluation of Mutual
Information Estimators", NeurIPS 2023.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from minelib._checks import choice, in_open_interval, positive_int, seed_value
from minelib.data import rho_for_mi, sample_student_t, student_t_mi


@dataclass(frozen=True)
class Task:
    """A joint distribution of ``(X, Z)`` with exact MI ``mi`` (nats); ``sample(n, seed)`` draws ``n`` pairs."""

    name: str
    description: str
    x_dim: int
    z_dim: int
    mi: float
    draw: Callable[[int, np.random.Generator | int | None], tuple[np.ndarray, np.ndarray]]

    def sample(self, n: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` pairs as float64 arrays ``(n, x_dim)`` and ``(n, z_dim)``."""
        x, z = self.draw(positive_int("n", n), seed_value("seed", seed))
        return np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64)


def half_cube(a: np.ndarray) -> np.ndarray:
    r"""The half-cube map :math:`t \mapsto \operatorname{sign}(t)\,|t|^{3/2}`, coordinatewise: smooth,
    strictly increasing, so it leaves MI unchanged while stretching the tails."""
    return np.sign(a) * np.abs(a) ** 1.5


def additive_uniform_mi(eps: float) -> float:
    r"""MI of :math:`X \sim U(0,1)` and :math:`Z = X + N`, :math:`N \sim U(-\varepsilon, \varepsilon)`,
    for :math:`\varepsilon \le 1/2`: :math:`h(Z\mid X) = \ln 2\varepsilon` and the trapezoid density of
    :math:`Z` has :math:`h(Z) = \varepsilon` (each ramp contributes :math:`+\varepsilon/2` to
    :math:`-\int p\ln p`, the plateau at density 1 nothing), so :math:`I = \varepsilon - \ln 2\varepsilon`."""
    in_open_interval("eps", eps, 0.0, 0.5 + 1e-12)
    return eps - math.log(2 * eps)


def _gaussian(mi: float, dim: int, transform=None):
    return _sparse(mi, dim, dim, transform)


def _sparse(mi: float, dim: int, active: int, transform=None):
    """``dim`` + ``dim`` standard Gaussians; the first ``active`` coordinate pairs share ``mi`` nats."""
    rho = rho_for_mi(mi, active) if mi > 0 else 0.0

    def draw(n, seed):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((n, dim))
        z = rng.standard_normal((n, dim))
        z[:, :active] = rho * x[:, :active] + math.sqrt(1 - rho**2) * z[:, :active]
        return (transform(x), transform(z)) if transform else (x, z)

    return draw


def _additive_uniform(eps: float):
    def draw(n, seed):
        rng = np.random.default_rng(seed)
        x = rng.uniform(0.0, 1.0, (n, 1))
        return x, x + rng.uniform(-eps, eps, (n, 1))

    return draw


def hard_cases() -> dict[str, Task]:
    """The chapter's seven tasks, by name."""
    tasks = [
        Task("gaussian", "5 + 5 correlated Gaussians (the baseline)", 5, 5, 1.0, _gaussian(1.0, 5)),
        Task("independent", "5 + 5 independent Gaussians", 5, 5, 0.0, _gaussian(0.0, 5)),
        Task("high-mi", "5 + 5 correlated Gaussians, 6 nats", 5, 5, 6.0, _gaussian(6.0, 5)),
        Task(
            "half-cube",
            "the baseline through t -> sign(t)|t|^1.5 on every coordinate",
            5,
            5,
            1.0,
            _gaussian(1.0, 5, half_cube),
        ),
        Task("sparse", "25 + 25 dimensions, 2 coordinate pairs dependent", 25, 25, 1.0, _sparse(1.0, 25, 2)),
        Task(
            "student-t",
            "2 + 2 multivariate Student-t, 1 degree of freedom",
            2,
            2,
            student_t_mi(1.0, 2, 2),
            lambda n, seed: sample_student_t(n, 1.0, 2, 2, seed),
        ),
        Task(
            "uniform-noise",
            "Z = X + U(-0.1, 0.1), X ~ U(0, 1)",
            1,
            1,
            additive_uniform_mi(0.1),
            _additive_uniform(0.1),
        ),
    ]
    return {t.name: t for t in tasks}


def task(name: str, suite: str = "hard-cases") -> Task:
    """One task of :func:`hard_cases` (``suite="hard-cases"``) or :func:`benchmark_suite` (``"benchmark"``)."""
    tasks = SUITES[choice("suite", suite, list(SUITES))]()
    return tasks[choice("name", name, list(tasks))]


# --- The default-estimator benchmark (bench/default_suite.py) -----------------------------------------------


def _wiggle_x(a: np.ndarray) -> np.ndarray:
    """Strictly increasing (slope >= 0.15): a wiggle that keeps MI."""
    return a + 0.5 * np.sin(a) + 0.15 * np.sin(2.3 * a + 0.7)


def _wiggle_z(a: np.ndarray) -> np.ndarray:
    """Strictly increasing (slope >= 0.42), with other frequencies than :func:`_wiggle_x`."""
    return a - 0.4 * np.sin(0.5 * a) + 0.2 * np.sin(1.9 * a + 2.0)


def normal_cdf(a: np.ndarray) -> np.ndarray:
    r"""The standard normal CDF :math:`\Phi`, coordinatewise: squeezes every coordinate into (0, 1)."""
    from scipy.special import ndtr

    return ndtr(a)


def spiral(a: np.ndarray, speed: float, plane: tuple[int, int]) -> np.ndarray:
    r"""Rotate each row :math:`a` in the coordinate ``plane`` by the angle ``speed`` :math:`\lVert a\rVert^2`.

    A diffeomorphism (its inverse rotates back by the same angle, since the rotation keeps the norm), so MI is
    unchanged, but points far from the origin are wound many times around it (Czyż et al., 2023, §4).
    """
    i, j = plane
    angle = speed * np.einsum("ij,ij->i", a, a)
    c, s = np.cos(angle), np.sin(angle)
    out = a.copy()
    out[:, i], out[:, j] = c * a[:, i] - s * a[:, j], s * a[:, i] + c * a[:, j]
    return out


def _latent_pairs(x_dim: int, z_dim: int, active: int, strength: float, transform=None):
    """Independent standard normals but for ``active`` coordinate pairs sharing a latent ``u``: ``x_i =
    (s u_i + e_i) / sqrt(1 + s^2)`` and the same for ``z_i`` with its own noise: unit variances (as in bmi's
    correlation-matrix parametrisation), correlation :math:`s^2/(1+s^2)`."""

    def draw(n, seed):
        rng = np.random.default_rng(seed)
        x, z = rng.standard_normal((n, x_dim)), rng.standard_normal((n, z_dim))
        u = rng.standard_normal((n, active))
        scale = math.sqrt(1 + strength**2)
        x[:, :active] = (x[:, :active] + strength * u) / scale
        z[:, :active] = (z[:, :active] + strength * u) / scale
        return (transform(x), transform(z)) if transform else (x, z)

    return draw


def latent_pairs_mi(active: int, strength: float) -> float:
    """MI of ``active`` latent pairs of ``strength`` :math:`s`, each a bivariate normal with correlation
    :math:`s^2/(1+s^2)`."""
    rho = strength**2 / (1 + strength**2)
    return -0.5 * active * math.log1p(-(rho**2))


def equicorrelated_mi(x_dim: int, z_dim: int, rho: float) -> float:
    r"""MI of the two blocks of a Gaussian whose correlation matrix has every off-diagonal entry ``rho``; an
    equicorrelated :math:`d \times d` matrix has determinant :math:`(1-\rho)^{d-1}(1+(d-1)\rho)`."""

    def logdet(d):
        return (d - 1) * math.log1p(-rho) + math.log1p((d - 1) * rho)

    return 0.5 * (logdet(x_dim) + logdet(z_dim) - logdet(x_dim + z_dim))


def _equicorrelated(x_dim: int, z_dim: int, rho: float, transform=None):
    def draw(n, seed):
        rng = np.random.default_rng(seed)
        shared = rng.standard_normal((n, 1))
        joint = math.sqrt(rho) * shared + math.sqrt(1 - rho) * rng.standard_normal((n, x_dim + z_dim))
        x, z = joint[:, :x_dim], joint[:, x_dim:]
        return (transform(x), transform(z)) if transform else (x, z)

    return draw


def _student(nu: float, x_dim: int, z_dim: int, transform=None):
    def draw(n, seed):
        x, z = sample_student_t(n, nu, x_dim, z_dim, seed)
        return (transform(x), transform(z)) if transform else (x, z)

    return draw


def _spiralled(draw, speed: float):
    """Spiral ``x`` in its first coordinate plane and ``z`` in its second, at ``speed`` (bmi's: 1 / dimension)."""

    def spiralled(n, seed):
        x, z = draw(n, seed)
        return spiral(x, speed, (0, 1)), spiral(z, speed, (1, 2))

    return spiralled


def benchmark_suite() -> dict[str, Task]:
    """The 14 tasks on which :func:`~minelib.estimate_mi`'s default was chosen (``bench/default_suite.py``).

    After Czyż et al. (2023)'s "Beyond Normal" tasks (their transforms and MIs; NumPy samplers of our own, so
    the samples differ from theirs), plus independence, a high-MI Gaussian and a heavy-tailed pair, the cases a
    reader's data meet: smooth monotone distortions, bounded or heavy-tailed marginals, few dependent
    coordinates among many, dependence hidden in the tails, and MI from 0 to 3 nats.
    """
    r75 = 0.75
    sparse = latent_pairs_mi(2, 2.0)
    # fmt: off
    pairs = [
        ("normal-1-1", "1 + 1 Gaussians, correlation 0.75", 1, 1, gaussian_pair_mi(r75), _gaussian_pair(r75)),
        ("half-cube-1-1", "the same through t -> sign(t)|t|^1.5", 1, 1, gaussian_pair_mi(r75),
         _gaussian_pair(r75, half_cube)),
        ("wiggly-1-1", "the same through two strictly increasing wiggles", 1, 1, gaussian_pair_mi(r75),
         _gaussian_pair(r75, (_wiggle_x, _wiggle_z))),
        ("uniform-noise-1-1", "Z = X + U(-0.1, 0.1), X ~ U(0, 1)", 1, 1, additive_uniform_mi(0.1),
         _additive_uniform(0.1)),
        ("student-t-1-1", "1 + 1 Student-t, 1 degree of freedom (Cauchy tails)", 1, 1, student_t_mi(1.0, 1, 1),
         _student(1.0, 1, 1)),
        ("independent-5-5", "5 + 5 independent Gaussians", 5, 5, 0.0, _sparse(0.0, 5, 0)),
        ("dense-5-5", "5 + 5 Gaussians, every correlation 0.5", 5, 5, equicorrelated_mi(5, 5, 0.5),
         _equicorrelated(5, 5, 0.5)),
        ("dense-25-25", "25 + 25 Gaussians, every correlation 0.5", 25, 25, equicorrelated_mi(25, 25, 0.5),
         _equicorrelated(25, 25, 0.5)),
        ("sparse-25-25", "25 + 25 Gaussians, 2 pairs at correlation 0.8", 25, 25, sparse,
         _latent_pairs(25, 25, 2, 2.0)),
        ("normal-cdf-sparse-3-3", "3 + 3, 2 pairs at 0.8, through the normal CDF (values in (0, 1))", 3, 3, sparse,
         _latent_pairs(3, 3, 2, 2.0, normal_cdf)),
        ("spiral-sparse-5-5", "5 + 5, 2 pairs at 0.8, each side spiralled (speed 1/5)", 5, 5, sparse,
         _spiralled(_latent_pairs(5, 5, 2, 2.0), 1 / 5)),
        ("student-t-5-5", "5 + 5 Student-t, 2 degrees of freedom", 5, 5, student_t_mi(2.0, 5, 5),
         _student(2.0, 5, 5)),
        ("asinh-student-t-5-5", "the same through asinh (lighter tails)", 5, 5, student_t_mi(2.0, 5, 5),
         _student(2.0, 5, 5, np.arcsinh)),
        ("high-mi-5-5", "5 + 5 Gaussians, 3 nats", 5, 5, 3.0, _gaussian(3.0, 5)),
    ]
    # fmt: on
    return {name: Task(name, text, dx, dz, mi, draw) for name, text, dx, dz, mi, draw in pairs}


def gaussian_pair_mi(rho: float) -> float:
    """MI of a bivariate normal with correlation ``rho``."""
    return -0.5 * math.log1p(-(rho**2))


def _gaussian_pair(rho: float, transform=None):
    """1 + 1 Gaussians with correlation ``rho``; ``transform`` one map for both sides or a pair of maps."""
    fx, fz = transform if isinstance(transform, tuple) else (transform, transform)

    def draw(n, seed):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((n, 1))
        z = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, 1))
        return (fx(x) if fx else x), (fz(z) if fz else z)

    return draw


SUITES = {"hard-cases": hard_cases, "benchmark": benchmark_suite}
