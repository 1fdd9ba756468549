r"""Measuring the bias of MINE's minibatch gradient (paper §3.2) on a fixed statistics network.

Only the second term of the DV gradient can be biased: :math:`\nabla\log\mathbb{E}_Q[e^{T_\theta}]`.
Its full-data value is computed on a large pool of marginal samples; minibatch versions are averaged
over many batches. The bias is reported along the full-data gradient :math:`g`:
:math:`b = \langle \bar g_B - g, \hat g\rangle / \|g\|` (relative, signed), with a standard error from
independent groups of batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from minelib._checks import choice, in_open_interval, positive_int, seed_value
from minelib.bounds import ema_log_mean_exp, log_mean_exp, update_log_ema
from minelib.nets import StatisticsNetwork


@dataclass(frozen=True)
class GradientBias:
    """Relative bias of a minibatch gradient rule along the full-data gradient, with its standard error."""

    batch_size: int
    rule: str
    ema_rate: float | None
    bias: float
    se: float


def _flat_grad(net: StatisticsNetwork, value: torch.Tensor) -> torch.Tensor:
    grads = torch.autograd.grad(value, list(net.parameters()))
    return torch.cat([g.reshape(-1) for g in grads])


def _check(x, z_marginal, batch_size, rule, ema_rate, n_batches, n_groups, seed) -> None:
    for name, v in (("batch_size", batch_size), ("n_batches", n_batches), ("n_groups", n_groups)):
        positive_int(name, v)
    choice("rule", rule, ["biased", "ema"])
    in_open_interval("ema_rate", ema_rate, 0.0, 1.0)
    seed_value("seed", seed)
    if n_groups < 2:
        raise ValueError(f"n_groups must be at least 2 (the standard error needs two groups), got {n_groups}")
    for name, a in (("x", x), ("z_marginal", z_marginal)):
        if not isinstance(a, torch.Tensor) or a.ndim != 2 or not a.dtype.is_floating_point:
            raise TypeError(f"{name} must be a 2-D floating-point torch tensor (samples in rows)")
    if x.shape[0] != z_marginal.shape[0]:
        raise ValueError(
            f"x and z_marginal must have the same number of samples, got {x.shape[0]} and {z_marginal.shape[0]}"
        )
    if n_batches % n_groups:
        raise ValueError(f"n_batches={n_batches} must be a multiple of n_groups={n_groups}")
    if rule == "ema" and 5 / ema_rate > 1e6:
        raise ValueError(
            f"ema_rate={ema_rate} needs a burn-in of 5 / ema_rate = {5 / ema_rate:.1e} batches before the average "
            "forgets its start: use ema_rate >= 5e-6"
        )


def log_term_gradient_bias(
    net: StatisticsNetwork,
    x: torch.Tensor,
    z_marginal: torch.Tensor,
    batch_size: int,
    rule: str = "biased",
    ema_rate: float = 0.01,
    n_batches: int = 4000,
    n_groups: int = 20,
    seed: int = 0,
) -> GradientBias:
    r"""Bias of the minibatch gradient of :math:`\log\hat{\mathbb{E}}_B[e^{T}]` for one network.

    ``x``, ``z_marginal``: a pool of samples of the product of marginals (pairs already shuffled).
    ``rule``: ``"biased"`` (plain minibatch gradient) or ``"ema"`` (moving average of rate ``ema_rate``
    in the denominator, run over the batches in order after a burn-in of ``5 / ema_rate`` batches).
    """
    _check(x, z_marginal, batch_size, rule, ema_rate, n_batches, n_groups, seed)
    n_pool = x.shape[0]

    def critic(idx: torch.Tensor) -> torch.Tensor:  # T on the pool rows idx, shaped like idx
        return net(x[idx].reshape(-1, x.shape[1]), z_marginal[idx].reshape(-1, z_marginal.shape[1]))[0].reshape(
            idx.shape
        )

    full = _flat_grad(net, log_mean_exp(net(x, z_marginal)[0]))
    direction = full / full.norm()
    gen = torch.Generator(x.device).manual_seed(seed)
    burn_in = int(5 / ema_rate) if rule == "ema" else 0
    idx = torch.randint(n_pool, (burn_in + n_batches, batch_size), generator=gen, device=x.device)
    log_ma = None
    if rule == "ema":  # the moving average as training sees it: updated with each batch before it is used
        with torch.no_grad():
            lme = log_mean_exp(critic(idx))
        history = []
        for value in lme:
            log_ma = update_log_ema(log_ma, value, ema_rate)
            history.append(log_ma)
        log_ma = torch.stack(history[burn_in:])
        idx = idx[burn_in:]
    projections = []
    for g_idx, g_ma in zip(idx.chunk(n_groups), log_ma.chunk(n_groups) if log_ma is not None else [None] * n_groups):
        t = critic(g_idx)
        value = ema_log_mean_exp(t, g_ma) if rule == "ema" else log_mean_exp(t)
        mean_grad = _flat_grad(net, value.mean())
        projections.append(float((mean_grad - full) @ direction / full.norm()))
    p = np.array(projections)
    return GradientBias(
        batch_size, rule, ema_rate if rule == "ema" else None, float(p.mean()), float(p.std(ddof=1) / np.sqrt(n_groups))
    )
