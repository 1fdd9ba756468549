r"""Variational lower bounds on KL divergence and mutual information, each defined once, in one registry.

For a critic :math:`T`, samples :math:`t_P = T(\text{joint})` and :math:`t_Q = T(\text{marginal})`:

* Donsker–Varadhan: :math:`\mathrm{KL}(P\|Q) \ge \mathbb{E}_P[T] - \log\mathbb{E}_Q[e^{T}]`;
* f-divergence (MINE-f): :math:`\mathrm{KL}(P\|Q) \ge \mathbb{E}_P[T] - \mathbb{E}_Q[e^{T-1}]`.

Since :math:`\log u \le u/e` for :math:`u > 0`, the f-bound never exceeds the DV bound for the same critic.

The module has four parts: the bounds on weighted atoms (:func:`dv_bound`, :func:`f_bound`), the MINE family
as functions of critic scores (:func:`dv`, :func:`nwj`, :func:`infonce`, :func:`js`, :func:`smile`), MINE's
moving-average gradient (:func:`update_log_ema`, :func:`ema_log_mean_exp`, :class:`MovingAverage`), and the
registry :data:`BOUNDS`: one :class:`Bound` record per public name (value, training rule, standard error,
cap), which every trainer reads (:class:`~minelib.MINE`, :class:`~minelib.MITerm`,
:func:`~minelib.staircase.staircase`, :func:`~minelib.estimate_mi`). Adding a bound is a function and a record
here, and its export in ``minelib/__init__.py`` (``book/CONVENTIONS.md``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from minelib._checks import in_open_interval

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


def _with_gradient_of(value: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
    """``value`` in the forward pass, ``signal``'s gradient in the backward one (``value`` itself without autograd)."""
    if not torch.is_grad_enabled():
        return value
    return signal + (value - signal).detach()


def js(t, t_marginal=None) -> torch.Tensor:
    r"""The JS estimator (Hjelm et al., 2019; Poole et al., 2019): the critic is trained on the Jensen–Shannon
    objective :math:`\mathbb{E}_P[-\mathrm{softplus}(-T)] - \mathbb{E}_Q[\mathrm{softplus}(T)]`, which is bounded
    and well-behaved as a training signal but is not an MI value; the value returned is :func:`nwj` of
    ``T + 1`` (at the JS optimum :math:`T = \log\frac{dP}{dQ}`, so ``T + 1`` is NWJ's optimum).

    Forward: the NWJ value; backward: the JS gradient."""
    joint, marginal = _joint_and_marginal(t, t_marginal)
    signal = _js_fgan(joint, marginal)
    value = joint.mean(-1) + 1 - torch.exp(marginal).mean(-1)  # nwj(joint + 1, marginal + 1), rounded once less
    return _with_gradient_of(value, signal)


def smile(t, t_marginal=None, tau: float = 5.0) -> torch.Tensor:
    r"""SMILE (Song & Ermon, 2020): the DV value with the marginal scores clipped to :math:`[-\tau, \tau]`,
    trained with the JS gradient.

    Clipping bounds :math:`e^{T}` in :math:`\log\hat{\mathbb{E}}_Q[e^T]`, whose variance otherwise grows like
    :math:`e^{I}`; the price is a bias when the true log density ratio exceeds :math:`\tau` (the estimate
    cannot see density ratios above :math:`e^\tau` on the marginal samples). ``tau = inf`` gives :func:`dv`'s
    value. Forward: the clipped DV value; backward: the JS gradient."""
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real) or not tau > 0:
        raise ValueError(f"tau must be a positive number, got {tau!r}")
    joint, marginal = _joint_and_marginal(t, t_marginal)
    signal = _js_fgan(joint, marginal)
    value = joint.mean(-1) - log_mean_exp(torch.clamp(marginal, -tau, tau))
    return _with_gradient_of(value, signal)


def gan_dime(t, t_marginal=None) -> torch.Tensor:
    r"""GAN-DIME (Letizia, Novello & Tonello, 2024): the critic is trained as a GAN discriminator's logit, on the
    Jensen–Shannon objective of :func:`js`, whose optimum is :math:`T = \log\frac{dP}{dQ}`; the MI is read off as
    the mean log density ratio over the joint pairs, :math:`\hat{\mathbb{E}}_P[T]`.

    Not a lower bound: at the optimum it equals :math:`I` (in expectation), but an error of the critic moves it
    either way; it never looks at the marginal pairs' :math:`e^T`, so it does not have DV's variance
    :math:`\propto e^I`. Forward: :math:`\hat{\mathbb{E}}_P[T]`; backward: the JS gradient."""
    joint, marginal = _joint_and_marginal(t, t_marginal)
    return _with_gradient_of(joint.mean(-1), _js_fgan(joint, marginal))


def infonce_terms(scores: torch.Tensor) -> torch.Tensor:
    r"""InfoNCE's per-row terms :math:`T(x_i, z_i) - \log\frac1b\sum_j e^{T(x_i, z_j)}`, ``(..., b)``: their mean is
    :func:`infonce`, their spread gives its standard error (the rows treated as independent)."""
    return scores.diagonal(dim1=-2, dim2=-1) - log_mean_exp(scores)


# ------------------------------------------------------------------ MINE's moving-average gradient (paper §3.2)
#
# The gradient of the DV bound on a minibatch B is E_B[grad T] - E_B[grad T e^T] / E_B[e^T]. The ratio of two
# minibatch means is a biased estimate of the ratio of the expectations (Jensen). MINE replaces the denominator
# by an exponential moving average m_t = (1 - a) m_{t-1} + a E_{B_t}[e^T] of the batch means, the current batch
# included with weight a. The second term is then the batch mean of grad T e^T (unbiased for E[grad T e^T])
# divided by m_t, which depends on the current batch only through the small weight a: the remaining bias is of
# order a and vanishes as the learning rate (hence the drift of T across the averaged batches) and a become
# small. The average is kept in log space so that it cannot overflow when T grows large (high MI).


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


class MovingAverage:
    r"""The state of MINE's gradient rule: :math:`\log\bar m`, one per member (``log``; ``None`` before the first
    batch), and its rate :math:`\alpha`. The one place where DV with the moving-average gradient is written.

    :meth:`keep_if` undoes the last update where a batch turned out non-finite, on the device (no host
    synchronisation); ``started`` (a device boolean, or ``None`` while that never happened) then says whether an
    accepted batch has started the average."""

    def __init__(self, rate: float):
        self.rate = in_open_interval("ema_rate", rate, 0.0, 1.0)
        self.log: torch.Tensor | None = None
        self.started: torch.Tensor | None = None

    def dv(self, t_joint: torch.Tensor, t_marginal: torch.Tensor, update: bool = True) -> torch.Tensor:
        """The DV value of this batch; its gradient divides by the moving average (advanced first if ``update``).
        Before any batch was averaged, the plain DV bound."""
        if update:
            batch = log_mean_exp(t_marginal)
            log = update_log_ema(self.log, batch, self.rate)
            if self.started is not None:  # an average not started yet starts at this batch's value
                log, self.started = torch.where(self.started, log, batch.detach()), torch.ones_like(self.started)
            self.log = log
        if self.log is None:
            return dv(t_joint, t_marginal)
        value = t_joint.mean(-1) - ema_log_mean_exp(t_marginal, self.log)
        return value if self.started is None else torch.where(self.started, value, dv(t_joint, t_marginal))

    def state(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """What :meth:`keep_if` needs to undo the next update."""
        return self.log, self.started

    def keep_if(self, accept: torch.Tensor, before: tuple[torch.Tensor | None, torch.Tensor | None]) -> None:
        """Keep the last update where ``accept`` (a device boolean) holds, else restore the state ``before``."""
        log, started = before
        if self.log is None or log is self.log:
            return
        if log is None:  # this was the first batch: a rejected one leaves the average not started
            self.log = torch.where(accept, self.log, torch.zeros_like(self.log))
            self.started = accept.expand_as(self.log).clone()
            return
        self.log = torch.where(accept, self.log, log)
        if started is not None:
            self.started = torch.where(accept, self.started, started)


# ------------------------------------------------------------------ standard errors (delta method)


def _se(t_joint: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    return torch.sqrt((t_joint.var(-1) + second) / t_joint.shape[-1])


def dv_stderr(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    r"""Standard error of :func:`dv`: :math:`\sqrt{(\mathrm{Var}(T_P) + \mathrm{Var}(w)/\bar w^2)/n}`,
    :math:`w = e^{T_Q}`, ``n`` the joint pairs (re-pairings of the same points do not count as more)."""
    w = torch.exp(t_marginal - t_marginal.max(-1, keepdim=True).values)
    return _se(t_joint, w.var(-1) / w.mean(-1) ** 2)


def nwj_stderr(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    r"""Standard error of :func:`nwj`: :math:`\sqrt{(\mathrm{Var}(T_P) + \mathrm{Var}(e^{T_Q - 1}))/n}`."""
    return _se(t_joint, torch.exp(t_marginal - 1.0).var(-1))


def mean_stderr(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    r"""Standard error of a mean over the joint pairs alone (:func:`gan_dime`): :math:`\sqrt{\mathrm{Var}(T_P)/n}`."""
    return _se(t_joint, torch.zeros_like(t_joint[..., 0]))


# ------------------------------------------------------------------ the registry


@dataclass(frozen=True)
class Bound:
    """One estimator of the family, defined once.

    ``value(t_joint, t_marginal, **options)`` is the reported value over the last axis (for a multi-sample
    bound ``value(scores)`` on a ``(..., b, b)`` score matrix); its gradient is the training gradient (the
    Jensen–Shannon signal for ``"js"`` and ``"smile"``). ``moving_average``: training replaces the gradient by
    MINE's moving-average rule (:class:`MovingAverage`). ``stderr(t_joint, t_marginal, **options)`` is the
    delta-method standard error (``None`` for multi-sample bounds, whose per-row ``terms`` give it). ``cap(b)``:
    the most the bound can report from blocks of ``b`` rows. ``options``: the keyword settings ``value`` takes.
    """

    name: str
    summary: str
    value: Callable[..., torch.Tensor]
    stderr: Callable[..., torch.Tensor] | None = None
    moving_average: bool = False
    multi_sample: bool = False
    terms: Callable[[torch.Tensor], torch.Tensor] | None = None
    cap: Callable[[int], float] | None = None
    options: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def limit(self, b: int) -> float:
        """``cap(b)``, or infinity for a bound without a cap."""
        return self.cap(b) if self.cap is not None else math.inf


def _smile_stderr(t_joint: torch.Tensor, t_marginal: torch.Tensor, tau: float = 5.0) -> torch.Tensor:
    return dv_stderr(t_joint, t_marginal.clamp(-tau, tau))


def _js_stderr(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    return _se(t_joint, torch.exp(t_marginal).var(-1))  # nwj_stderr of T + 1


BOUNDS: dict[str, Bound] = {
    b.name: b
    for b in (
        Bound("mine", "DV bound, moving-average gradient (MINE)", dv, dv_stderr, moving_average=True),
        Bound("dv", "DV bound, plain minibatch gradient", dv, dv_stderr, aliases=("mine-biased",)),
        Bound("nwj", "NWJ (f-divergence) bound, MINE-f", nwj, nwj_stderr, aliases=("mine-f",)),
        Bound("js", "trained on Jensen-Shannon, NWJ value of T + 1", js, _js_stderr),
        Bound(
            "smile",
            "trained on Jensen-Shannon, DV value clipped to [-tau, tau]",
            smile,
            _smile_stderr,
            options=("tau",),
        ),  # fmt: skip
        Bound(
            "gan-dime", "trained on Jensen-Shannon, mean log ratio of the joint pairs (no bound)", gan_dime, mean_stderr
        ),
        Bound(
            "infonce", "multi-sample bound, at most ln b", infonce, multi_sample=True, terms=infonce_terms, cap=math.log
        ),  # fmt: skip
    )
}
"""Every estimator of the family under its public name."""

ALIASES = {alias: b.name for b in BOUNDS.values() for alias in b.aliases}
NAMES = (*BOUNDS, *ALIASES)  # every name a caller may use


def get_bound(name: str) -> Bound:
    """The :class:`Bound` called ``name`` (a public name or an alias: ``"mine-biased"`` is ``"dv"``,
    ``"mine-f"`` is ``"nwj"``); a ``ValueError`` lists the names otherwise."""
    if not isinstance(name, str) or name not in NAMES:
        raise ValueError(f"unknown bound {name!r}; choose one of {', '.join(map(repr, NAMES))}")
    return BOUNDS[ALIASES.get(name, name)]


def bound_value(
    bound: Bound,
    t_joint: torch.Tensor | None = None,
    t_marginal: torch.Tensor | None = None,
    *,
    scores: torch.Tensor | None = None,
    average: MovingAverage | None = None,
    update: bool = False,
    **options,
) -> torch.Tensor:
    """``bound``'s value, with its training gradient, from paired scores or from a score matrix.

    Pairwise bounds take ``t_joint``/``t_marginal`` (or the diagonal and off-diagonal of ``scores``);
    multi-sample bounds take ``scores``. A moving-average bound given ``average`` uses (and, with ``update``,
    advances) it; without one it is the plain DV bound. ``options`` such as ``tau`` reach the bounds that take them.
    """
    if bound.multi_sample:
        if scores is None:
            raise ValueError(f"the {bound.name!r} bound needs the batch's score matrix (critic.scores(x, z))")
        return bound.value(scores)
    if t_joint is None:
        t_joint, t_marginal = _joint_and_marginal(scores, None)
    if bound.moving_average and average is not None:
        return average.dv(t_joint, t_marginal, update)
    return bound.value(t_joint, t_marginal, **{k: options[k] for k in bound.options if k in options})
