r"""Two-dimensional toy data for mode dropping (paper §5.1), and the metrics that count modes.

* **25 Gaussians**: the 5 × 5 grid :math:`\{-4, -2, 0, 2, 4\}^2`, each point with isotropic noise
  :math:`\sigma` (0.1 on the CPU here; the mode-dropping literature also uses 0.05).
* **Spiral**: points along an Archimedean spiral with Gaussian noise; for counting, the spiral is cut into
  ``n_modes`` arcs whose midpoints act as modes.

A generated sample is *high quality* if it lies within :math:`3\sigma` of a mode; a mode is *covered* if at
least ``min_count`` high-quality samples fall on it (20 of 2,500 in the literature: PacGAN, VEEGAN). The
reverse KL divergence :math:`\mathrm{KL}(p_{\text{gen}}\,\|\,\text{uniform})` between the histogram of modes
hit by the high-quality samples and the uniform histogram is 0 when every mode is hit equally often and
:math:`\ln K` when one mode of :math:`K` gets them all.

References
----------
M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, §5.1. Z. Lin et al., "PacGAN: The
Power of Two Samples in Generative Adversarial Networks", NeurIPS 2018 (the evaluation protocol).
"""

from __future__ import annotations

import math

import numpy as np

from minelib._checks import as_samples, in_open_interval, positive_int, seed_value

GRID = np.array([(a, b) for a in (-4.0, -2.0, 0.0, 2.0, 4.0) for b in (-4.0, -2.0, 0.0, 2.0, 4.0)])


def sample_grid(n: int, sigma: float = 0.1, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of the 25-Gaussians mixture (equal weights) and the index of each point's mode."""
    n, sigma = positive_int("n", n), in_open_interval("sigma", sigma, 0.0, math.inf)
    return _grid(n, sigma, np.random.default_rng(seed_value("seed", seed)))


def _grid(n: int, sigma: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    modes = rng.integers(len(GRID), size=n)
    return GRID[modes] + sigma * rng.standard_normal((n, 2)), modes


def grid_sampler(sigma: float = 0.1):
    """``draw(n, rng) -> (n, 2)``: the 25-Gaussians data as :func:`~minelib.applications.gan.train_gan` takes it."""
    sigma = in_open_interval("sigma", sigma, 0.0, math.inf)
    return lambda n, rng: _grid(n, sigma, rng)[0]


def spiral_point(t: np.ndarray, turns: float = 1.5, radius: float = 4.0) -> np.ndarray:
    r"""Points of the spiral at arc parameter :math:`t \in [0, 1]`: radius :math:`r\,t` and angle
    :math:`2\pi\,\text{turns}\,t`."""
    t = np.asarray(t, dtype=float)
    angle = 2 * math.pi * turns * t
    return np.stack([radius * t * np.cos(angle), radius * t * np.sin(angle)], -1)


def sample_spiral(n: int, noise: float = 0.1, seed: int | None = None, turns: float = 1.5) -> np.ndarray:
    """``n`` points along the spiral (``t`` uniform on [0.1, 1]) with isotropic Gaussian ``noise``."""
    n, noise = positive_int("n", n), in_open_interval("noise", noise, 0.0, math.inf)
    return _spiral(n, noise, turns, np.random.default_rng(seed_value("seed", seed)))


def _spiral(n: int, noise: float, turns: float, rng: np.random.Generator) -> np.ndarray:
    return spiral_point(rng.uniform(0.1, 1.0, n), turns) + noise * rng.standard_normal((n, 2))


def spiral_sampler(noise: float = 0.1, turns: float = 1.5):
    """``draw(n, rng) -> (n, 2)``: the spiral data as :func:`~minelib.applications.gan.train_gan` takes it."""
    noise = in_open_interval("noise", noise, 0.0, math.inf)
    return lambda n, rng: _spiral(n, noise, turns, rng)


def spiral_modes(n_modes: int = 25, turns: float = 1.5) -> np.ndarray:
    """The midpoints of ``n_modes`` equal arcs of ``t`` in [0.1, 1]: the spiral's "modes" for counting."""
    n_modes = positive_int("n_modes", n_modes)
    return spiral_point(0.1 + 0.9 * (np.arange(n_modes) + 0.5) / n_modes, turns)


def mode_metrics(samples, centers, sigma: float, min_count: int = 20) -> dict:
    """Modes covered, the share of high-quality samples, and the reverse KL of the mode histogram to uniform.

    ``samples``: ``(n, 2)`` generated points; ``centers``: ``(K, 2)`` modes; ``sigma``: the data's noise.
    Returns ``{"modes": int, "high_quality": float, "reverse_kl": float, "counts": (K,) array}``; with no
    high-quality sample at all the reverse KL is ``inf``.
    """
    x = as_samples("samples", samples)
    centers = as_samples("centers", centers)
    if x.shape[1] != centers.shape[1]:
        raise ValueError(f"samples have {x.shape[1]} columns, centers {centers.shape[1]}")
    sigma, min_count = in_open_interval("sigma", sigma, 0.0, math.inf), positive_int("min_count", min_count)
    dist = np.linalg.norm(x[:, None, :] - centers[None, :, :], axis=-1)
    nearest, closest = dist.argmin(1), dist.min(1)
    good = closest < 3 * sigma
    counts = np.bincount(nearest[good], minlength=len(centers))
    total = counts.sum()
    if total == 0:
        reverse_kl = math.inf
    else:
        p = counts[counts > 0] / total
        reverse_kl = float(np.sum(p * np.log(p * len(centers))))
    return {
        "modes": int((counts >= min_count).sum()),
        "high_quality": float(good.mean()),
        "reverse_kl": reverse_kl,
        "counts": counts,
    }
