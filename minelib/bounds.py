r"""Variational lower bounds on KL divergence, evaluated on samples (or weighted atoms).

For a critic :math:`T`, samples :math:`t_P = T(\text{joint})` and :math:`t_Q = T(\text{marginal})`:

* Donsker–Varadhan: :math:`\mathrm{KL}(P\|Q) \ge \mathbb{E}_P[T] - \log\mathbb{E}_Q[e^{T}]`;
* f-divergence (MINE-f): :math:`\mathrm{KL}(P\|Q) \ge \mathbb{E}_P[T] - \mathbb{E}_Q[e^{T-1}]`.

Since :math:`\log u \le u/e` for :math:`u > 0`, the f-bound never exceeds the DV bound for the same critic.
"""

from __future__ import annotations

import math

import numpy as np
import torch

Weights = torch.Tensor | np.ndarray | None


def _as_tensor(t) -> torch.Tensor:
    if not isinstance(t, torch.Tensor | np.ndarray):
        raise TypeError(f"critic values must be a numpy array or a torch tensor, got {type(t).__name__}")
    return torch.as_tensor(t)


def _weights(name: str, w: Weights, t: torch.Tensor, dim: int) -> torch.Tensor | None:
    """Probability weights along ``dim``: non-negative, finite, summing to 1, broadcastable to ``t``."""
    if w is None:
        return None
    w = torch.as_tensor(w, dtype=t.dtype, device=t.device)
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{name} must hold finite, non-negative probability weights")
    try:
        total = torch.broadcast_to(w, t.shape).sum(dim)
    except RuntimeError:
        raise ValueError(
            f"{name} of shape {tuple(w.shape)} does not match critic values of shape {tuple(t.shape)}"
        ) from None
    if not torch.allclose(total, torch.ones_like(total), atol=1e-6):
        raise ValueError(f"{name} must sum to 1 along dim={dim}")
    return w


def log_mean_exp(t: torch.Tensor, weights: Weights = None, dim: int = -1) -> torch.Tensor:
    r""":math:`\log \frac{1}{n}\sum_i e^{t_i}` (or :math:`\log\sum_i q_i e^{t_i}`) without overflow, via logsumexp."""
    t = _as_tensor(t)
    return _log_mean_exp(t, _weights("weights", weights, t, dim), dim)


def _log_mean_exp(t: torch.Tensor, weights: torch.Tensor | None, dim: int) -> torch.Tensor:
    if weights is None:
        return torch.logsumexp(t, dim) - math.log(t.shape[dim])
    return torch.logsumexp(t + torch.log(weights), dim)


def _mean(t: torch.Tensor, weights: Weights, dim: int) -> torch.Tensor:
    weights = _weights("p", weights, t, dim)
    return t.mean(dim) if weights is None else (t * weights).sum(dim)


def dv_bound(t_joint, t_marginal, *, p: Weights = None, q: Weights = None, dim: int = -1) -> torch.Tensor:
    r"""Donsker–Varadhan value :math:`\hat{\mathbb{E}}_P[T] - \log \hat{\mathbb{E}}_Q[e^{T}]`.

    ``t_joint`` holds the critic on samples of :math:`P` (the joint), ``t_marginal`` on samples of
    :math:`Q` (the product of marginals). With ``p``/``q`` given they are probability weights of atoms
    instead of samples, and the expectations are exact. Reduces over ``dim``.
    """
    t_joint, t_marginal = _as_tensor(t_joint), _as_tensor(t_marginal)
    return _mean(t_joint, p, dim) - _log_mean_exp(t_marginal, _weights("q", q, t_marginal, dim), dim)


def f_bound(t_joint, t_marginal, *, p: Weights = None, q: Weights = None, dim: int = -1) -> torch.Tensor:
    r"""MINE-f value :math:`\hat{\mathbb{E}}_P[T] - \hat{\mathbb{E}}_Q[e^{T-1}]`.

    Same arguments as :func:`dv_bound`.
    """
    t_joint, t_marginal = _as_tensor(t_joint), _as_tensor(t_marginal)
    q = _weights("q", q, t_marginal, dim)
    return _mean(t_joint, p, dim) - (
        torch.exp(t_marginal - 1).mean(dim) if q is None else (torch.exp(t_marginal - 1) * q).sum(dim)
    )
