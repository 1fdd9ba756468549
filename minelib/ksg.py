r"""The Kraskov–Stögbauer–Grassberger estimator of mutual information (KSG estimator 1, 2004).

With :math:`\epsilon_i` the max-norm distance from sample :math:`i` to its :math:`k`-th neighbour in the
joint space, and :math:`n_x(i)`, :math:`n_z(i)` the numbers of other samples strictly within
:math:`\epsilon_i` in each marginal space,

.. math:: \hat I_{\mathrm{KSG}} = \psi(k) + \psi(N) - \frac{1}{N}\sum_{i}\big[\psi(n_x(i)+1) + \psi(n_z(i)+1)\big].

Since :math:`n_x, n_z \ge k` near the answer's top end, the estimate can never exceed
:math:`\psi(N) - \psi(k)`, and in high dimension it is biased downwards.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from minelib._checks import ArrayLike, as_samples, positive_int, same_rows, to_numpy


def _as_numpy_pair(x: ArrayLike, z: ArrayLike, k: int) -> tuple[np.ndarray, np.ndarray]:
    x, z = as_samples("x", x), as_samples("z", z)
    n = same_rows(x, z)
    positive_int("k", k)
    if k >= n:
        raise ValueError(f"k={k} neighbours need more than k samples, got {n}")
    return to_numpy(x).astype(np.float64), to_numpy(z).astype(np.float64)


def _ksg(n: int, k: int, nx: np.ndarray, nz: np.ndarray) -> float:
    return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(nz + 1)))


def _tree(a: np.ndarray) -> cKDTree:
    # Large leaves pay off in high dimension, where range counts touch many points (measured: bench/ksg.py).
    return cKDTree(a, leafsize=16 if a.shape[1] <= 4 else 256, balanced_tree=False)


def ksg_mi(x: ArrayLike, z: ArrayLike, k: int = 3, workers: int = 1) -> float:
    """KSG estimate of :math:`I(X;Z)` in nats from paired samples (rows), with k-d trees.

    ``x`` ``(n, d_x)`` and ``z`` ``(n, d_z)``; 1-D inputs are one column. ``workers`` threads answer the
    tree queries (``-1``: all cores). No noise is added: ties are counted as the definition says.
    """
    x, z = _as_numpy_pair(x, z, k)
    xz = np.hstack([x, z])
    eps = _tree(xz).query(xz, k=k + 1, p=np.inf, workers=workers)[0][:, k]
    radius = np.nextafter(eps, 0)  # "strictly closer than eps"
    nx, nz = (_tree(a).query_ball_point(a, radius, p=np.inf, return_length=True, workers=workers) - 1 for a in (x, z))
    return _ksg(len(x), k, nx, nz)


def ksg_mi_bruteforce(x: ArrayLike, z: ArrayLike, k: int = 3, chunk: int = 256) -> float:
    """The same estimator from all :math:`O(n^2)` pairwise distances: a slow, obviously correct reference."""
    x, z = _as_numpy_pair(x, z, k)
    n = len(x)
    nx, nz = np.empty(n), np.empty(n)
    for start in range(0, n, chunk):
        rows = slice(start, start + chunk)
        dx = np.abs(x[rows, None, :] - x[None]).max(-1)
        dz = np.abs(z[rows, None, :] - z[None]).max(-1)
        eps = np.sort(np.maximum(dx, dz), axis=1)[:, k]  # column 0 is the point itself
        nx[rows] = (dx < eps[:, None]).sum(1) - 1
        nz[rows] = (dz < eps[:, None]).sum(1) - 1
    return _ksg(n, k, nx, nz)
