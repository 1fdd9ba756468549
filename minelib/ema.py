r"""The moving-average correction of MINE's gradient (paper §3.2).

The gradient of the DV bound on a minibatch :math:`B` is

.. math:: \hat G_B = \mathbb{E}_B[\nabla_\theta T_\theta]
          - \frac{\mathbb{E}_B[\nabla_\theta T_\theta\, e^{T_\theta}]}{\mathbb{E}_B[e^{T_\theta}]}.

The ratio of two minibatch means is a biased estimate of the ratio of the expectations (Jensen). MINE
replaces the denominator by an exponential moving average
:math:`\bar m_t = (1-\alpha)\bar m_{t-1} + \alpha\,\hat{\mathbb{E}}_{B_t}[e^{T}]` of the batch means, the
current batch included with weight :math:`\alpha`. The second term is then the batch mean of
:math:`\nabla T e^T` (unbiased for :math:`\mathbb{E}[\nabla T e^T]`) divided by :math:`\bar m_t`, which
depends on the current batch only through the small weight :math:`\alpha`: the remaining bias is of order
:math:`\alpha` and vanishes as the learning rate (hence the drift of :math:`T` across the averaged batches)
and :math:`\alpha` become small. The average is kept in log space so that it cannot overflow when :math:`T`
grows large (high MI).
"""

from __future__ import annotations

import math

import torch

from minelib._checks import in_open_interval
from minelib.bounds import log_mean_exp


def update_log_ema(log_ma: torch.Tensor | None, log_value: torch.Tensor, rate: float) -> torch.Tensor:
    r""":math:`\bar m \leftarrow (1-\alpha)\bar m + \alpha\, m`, in log space; starts at the first value.

    ``log_ma``: :math:`\log\bar m` (or ``None`` before the first batch); ``log_value``: :math:`\log m`;
    ``rate``: :math:`\alpha`, strictly between 0 and 1.
    """
    in_open_interval("rate", rate, 0.0, 1.0)
    if not isinstance(log_value, torch.Tensor):
        raise TypeError(f"log_value must be a torch tensor, got {type(log_value).__name__}")
    log_value = log_value.detach()
    if log_ma is None:
        return log_value
    return torch.logaddexp(log_ma + math.log1p(-rate), log_value + math.log(rate))


class _EMALogMeanExp(torch.autograd.Function):
    """Forward: the batch log-mean-exp. Backward: weights :math:`e^{t_i} / (n \\bar m)` instead of softmax."""

    @staticmethod
    def forward(ctx, t: torch.Tensor, log_ma: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(t, log_ma)
        return log_mean_exp(t)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        t, log_ma = ctx.saved_tensors
        weights = torch.exp(t - log_ma.unsqueeze(-1)) / t.shape[-1]
        return grad.unsqueeze(-1) * weights, None


def ema_log_mean_exp(t: torch.Tensor, log_ma: torch.Tensor) -> torch.Tensor:
    r"""Batch :math:`\log\hat{\mathbb{E}}_B[e^{t}]` over the last axis, whose gradient divides by the moving average.

    ``log_ma`` holds :math:`\log\bar m` (one per leading index, no gradient). The value is the plain
    log-mean-exp; the gradient is :math:`\mathbb{E}_B[\nabla t\, e^{t}] / \bar m`.
    """
    return _EMALogMeanExp.apply(t, log_ma.detach())


def ema_log_mean_exp_surrogate(t: torch.Tensor, log_ma: torch.Tensor) -> torch.Tensor:
    r"""The same value and gradient as :func:`ema_log_mean_exp`, written as a surrogate loss.

    :math:`\hat{\mathbb{E}}_B[e^{t}]/\bar m` has the wanted gradient; adding and subtracting its
    detached value leaves the forward value equal to the batch log-mean-exp.
    """
    ratio = torch.exp(t - log_ma.detach().unsqueeze(-1)).mean(-1)
    return log_mean_exp(t).detach() + ratio - ratio.detach()
