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


def derangement(
    shape: int | tuple[int, ...], generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    r"""Random re-pairings without fixed points: indices ``idx`` of shape ``shape`` such that, along the last
    axis, ``idx[..., i] != i`` and each row is a permutation.

    Shuffling ``z`` to get samples of :math:`P_X \otimes P_Z` with a plain random permutation leaves on average
    one pair in place: a *joint* pair among the marginal ones. At high MI its :math:`e^{T}` is of order
    :math:`e^{I}` and dominates :math:`\log\hat{\mathbb{E}}[e^T]`, pulling the DV estimate down by about
    :math:`\log(1 + e^{I}/n)`. Here a uniformly random order :math:`\pi` is drawn and position :math:`\pi_j`
    takes the ``z`` of position :math:`\pi_{j+1}` (cyclically): every other position is equally likely, none
    is the own one. Needs at least 2 positions.
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if not shape or shape[-1] < 2:
        raise ValueError(f"a derangement needs at least 2 positions along the last axis, got shape {shape}")
    order = torch.rand(shape, generator=generator, device=device).argsort(-1)
    return torch.empty_like(order).scatter_(-1, order, order.roll(-1, dims=-1))


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


# ------------------------------------------------------------------ the MINE family, from critic scores
#
# Each bound takes either the joint scores ``t_joint`` (..., b) and marginal scores ``t_marginal`` (..., m),
# or one score matrix ``scores`` (..., b, b) with ``scores[i, j] = T(x_i, z_j)``: the diagonal holds the
# joint pairs, the b(b - 1) off-diagonal entries pairs of the product of marginals (Poole et al., 2019).


def _joint_and_marginal(t, t_marginal) -> tuple[torch.Tensor, torch.Tensor]:
    t = _as_tensor(t)
    if t_marginal is not None:
        return t, _as_tensor(t_marginal)
    if t.dim() < 2 or t.shape[-1] != t.shape[-2] or t.shape[-1] < 2:
        raise ValueError(f"a score matrix must be square, (..., b, b) with b >= 2, got shape {tuple(t.shape)}")
    b = t.shape[-1]
    off = ~torch.eye(b, dtype=torch.bool, device=t.device)
    return t.diagonal(dim1=-2, dim2=-1), t[..., off].reshape(*t.shape[:-2], b * (b - 1))


def dv(t, t_marginal=None) -> torch.Tensor:
    r"""Donsker–Varadhan: :math:`\hat{\mathbb{E}}_P[T] - \log\hat{\mathbb{E}}_Q[e^T]` (MINE's bound).

    Tight at :math:`T^* = \log\frac{dP}{dQ} + c` for any constant :math:`c`."""
    joint, marginal = _joint_and_marginal(t, t_marginal)
    return joint.mean(-1) - log_mean_exp(marginal)


def nwj(t, t_marginal=None) -> torch.Tensor:
    r"""Nguyen–Wainwright–Jordan (MINE-f): :math:`\hat{\mathbb{E}}_P[T] - \hat{\mathbb{E}}_Q[e^{T-1}]`.

    Tight at :math:`T^* = 1 + \log\frac{dP}{dQ}`; never above :func:`dv` for the same critic. Its minibatch
    gradient is unbiased (no logarithm of an average)."""
    joint, marginal = _joint_and_marginal(t, t_marginal)
    return joint.mean(-1) - torch.exp(marginal - 1).mean(-1)


def infonce(scores) -> torch.Tensor:
    r"""InfoNCE (van den Oord et al., 2018) from a (..., b, b) score matrix:
    :math:`\frac1b\sum_i \big[T(x_i, z_i) - \log\frac1b\sum_j e^{T(x_i, z_j)}\big]`.

    Every term is at most :math:`\ln b` (the joint score is one of the :math:`b` in its row), so the estimate
    never exceeds :math:`\ln b`, whatever the MI. At the optimal critic :math:`T^* = \log\frac{p(x,z)}{p(x)p(z)}`
    the row average tends to :math:`(e^{T^*_{ii}} + b - 1)/b` as :math:`b` grows: the estimate tends to
    :math:`I` when :math:`I \ll \ln b` and to :math:`\ln b` when :math:`I \gg \ln b`. It equals
    :math:`\min(I, \ln b)` only in those limits; at finite :math:`b` it lies below both."""
    t = _as_tensor(scores)
    _joint_and_marginal(t, None)  # validates the shape
    b = t.shape[-1]
    return (t.diagonal(dim1=-2, dim2=-1) - torch.logsumexp(t, -1)).mean(-1) + math.log(b)


def _js_fgan(joint: torch.Tensor, marginal: torch.Tensor) -> torch.Tensor:
    """The Jensen–Shannon f-GAN objective :math:`\\mathbb{E}_P[-\\mathrm{sp}(-T)] - \\mathbb{E}_Q[\\mathrm{sp}(T)]`."""
    sp = torch.nn.functional.softplus
    return -sp(-joint).mean(-1) - sp(marginal).mean(-1)


def js(t, t_marginal=None) -> torch.Tensor:
    r"""The JS estimator (Hjelm et al., 2019; Poole et al., 2019): the critic is trained on the Jensen–Shannon
    objective :math:`\mathbb{E}_P[-\mathrm{softplus}(-T)] - \mathbb{E}_Q[\mathrm{softplus}(T)]`, which is bounded
    and well-behaved as a training signal but is not an MI value; the value returned is :func:`nwj` of
    ``T + 1`` (at the JS optimum :math:`T = \log\frac{dP}{dQ}`, so ``T + 1`` is NWJ's optimum).

    Forward: the NWJ value; backward: the JS gradient."""
    joint, marginal = _joint_and_marginal(t, t_marginal)
    signal = _js_fgan(joint, marginal)
    value = nwj(joint + 1, marginal + 1)
    return signal + (value - signal).detach()


def smile(t, t_marginal=None, tau: float = 5.0) -> torch.Tensor:
    r"""SMILE (Song & Ermon, 2020): the DV value with the marginal scores clipped to :math:`[-\tau, \tau]`,
    trained with the JS gradient.

    Clipping bounds :math:`e^{T}` in :math:`\log\hat{\mathbb{E}}_Q[e^T]`, whose variance otherwise grows like
    :math:`e^{I}`; the price is a bias when the true log density ratio exceeds :math:`\tau` (the estimate
    cannot see density ratios above :math:`e^\tau` on the marginal samples). ``tau = inf`` gives :func:`dv`'s
    value. Forward: the clipped DV value; backward: the JS gradient."""
    if isinstance(tau, bool) or not isinstance(tau, int | float) or not tau > 0:
        raise ValueError(f"tau must be a positive number, got {tau!r}")
    joint, marginal = _joint_and_marginal(t, t_marginal)
    signal = _js_fgan(joint, marginal)
    value = joint.mean(-1) - log_mean_exp(torch.clamp(marginal, -tau, tau))
    return signal + (value - signal).detach()


FAMILY = {"dv": dv, "nwj": nwj, "infonce": infonce, "js": js, "smile": smile}
