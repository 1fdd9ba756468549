"""Information theory of discrete distributions, in nats, computed exactly from probability tables."""

from __future__ import annotations

import numpy as np


def _probabilities(name: str, p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.size == 0 or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must be a non-empty table of finite, non-negative probabilities")
    if not np.isclose(p.sum(), 1.0, atol=1e-9):
        raise ValueError(f"{name} must sum to 1, sums to {p.sum():.12g}")
    return p


def entropy(p: np.ndarray) -> float:
    r""":math:`H(P) = -\sum_x p(x)\log p(x)` (with :math:`0\log 0 = 0`)."""
    p = _probabilities("p", p).ravel()
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    r""":math:`\mathrm{KL}(P\|Q) = \sum_x p(x)\log\frac{p(x)}{q(x)}`; infinite when :math:`P \not\ll Q`."""
    p, q = _probabilities("p", p).ravel(), _probabilities("q", q).ravel()
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float((p[support] * np.log(p[support] / q[support])).sum())


def product_of_marginals(pxz: np.ndarray) -> np.ndarray:
    r"""The table of :math:`P_X \otimes P_Z` for a joint table ``pxz[i, j] = P(X=i, Z=j)``."""
    pxz = _probabilities("pxz", pxz)
    return np.outer(pxz.sum(1), pxz.sum(0))


def mutual_information(pxz: np.ndarray) -> float:
    r""":math:`I(X;Z) = \mathrm{KL}(P_{XZ} \| P_X \otimes P_Z)` for a 2-D joint probability table."""
    return kl_divergence(pxz, product_of_marginals(pxz))


def gibbs(t: np.ndarray, q: np.ndarray) -> np.ndarray:
    r"""The Gibbs distribution :math:`dG = e^{T} dQ / \mathbb{E}_Q[e^{T}]` of the DV proof."""
    q = _probabilities("q", q)
    w = q * np.exp(np.asarray(t, dtype=float) - np.max(t))
    return w / w.sum()
