r"""Hard cases with exact mutual information: the benchmark tasks of the chapter "Hard cases".

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


def task(name: str) -> Task:
    """One task of :func:`hard_cases` by name."""
    tasks = hard_cases()
    return tasks[choice("name", name, list(tasks))]
