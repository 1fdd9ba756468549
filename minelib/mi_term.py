r"""MINE as a building block: a differentiable MI term for other models' losses (paper §5).

The paper's applications add :math:`\beta\, I(\cdot\,;\cdot)`, estimated by MINE, to another model's
objective: a GAN generator maximises :math:`I(G(\varepsilon, c); c)`, an information-bottleneck encoder
minimises :math:`I(X; Z)`. Two updates alternate:

* the **critic** ascends the bound on detached samples, with its own optimiser (:meth:`~minelib.MITerm.update`);
* the **model** gets the bound's gradient with respect to its *samples* (:meth:`~minelib.MITerm.forward`), the
  critic held fixed.

A common bug makes one optimiser step both: with a loss :math:`+\beta I` (information bottleneck) the
shared optimiser then *lowers* the critic's bound, i.e. trains the critic to under-estimate the MI, and the
encoder is never penalised. Here that cannot happen: the critic is not a registered submodule (a parent
module's ``.parameters()`` does not contain it), and :meth:`~minelib.MITerm.forward` evaluates it with detached
parameters, so no loss of the model's ever reaches the critic's gradients.

:func:`~minelib.adaptive_gradient_clip` is the paper's rule for combining the two gradients of a generator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from minelib._checks import choice, in_open_interval
from minelib.bounds import FAMILY, derangement, log_mean_exp
from minelib.ema import ema_log_mean_exp, update_log_ema

GRADIENTS = ("ema", "biased")


class MITerm(nn.Module):
    r"""A differentiable estimate of :math:`I(X;Z)` whose gradient flows into ``x`` and ``z``.

    ``critic``: a network with ``critic(x, z) -> (1, n)`` scores (:class:`~minelib.StatisticsNetwork` or
    :class:`~minelib.nets.SeparableCritic` with ``n_models=1``). ``bound``: one of
    ``minelib.bounds.FAMILY`` (``"dv"``, ``"nwj"``, ``"infonce"``, ``"js"``, ``"smile"``). ``gradient``:
    for ``"dv"``, ``"ema"`` divides by a moving average of :math:`\mathbb{E}[e^T]` (rate ``ema_rate``; the
    paper's bias correction, in the critic's and in the model's gradient) or ``"biased"``. The critic is
    stepped by its own optimiser, ``optimizer(critic.parameters(), lr=lr)``.

    Typical use, one iteration::

        mi.update(x.detach(), z.detach())           # the critic: one ascent step of the bound
        loss = model_loss - beta * mi(x, z)          # the model: its gradient flows into x and z only
        loss.backward(); model_optimizer.step()

    References
    ----------
    M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, §3.2 and §5.
    """

    def __init__(
        self,
        critic: nn.Module,
        *,
        bound: str = "dv",
        gradient: str = "ema",
        ema_rate: float = 0.01,
        lr: float = 1e-4,
        optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam,
    ):
        super().__init__()
        if not isinstance(critic, nn.Module):
            raise TypeError(f"critic must be a torch.nn.Module, got {type(critic).__name__}")
        if getattr(critic, "n_models", 1) != 1:
            raise ValueError(f"critic must be a single network (n_models=1), got n_models={critic.n_models}")
        self.bound = choice("bound", bound, list(FAMILY))
        self.gradient = choice("gradient", gradient, GRADIENTS)
        self.ema_rate = in_open_interval("ema_rate", ema_rate, 0.0, 1.0)
        in_open_interval("lr", lr, 0.0, float("inf"))
        object.__setattr__(self, "_critic", critic)  # not a submodule: invisible to a parent's .parameters()
        self.critic_optimizer = optimizer(critic.parameters(), lr=lr)
        self.log_ma: torch.Tensor | None = None

    @property
    def critic(self) -> nn.Module:
        return self._critic

    def _apply(self, fn, *args, **kwargs):  # .to(device) / .double() move the critic too
        self._critic._apply(fn, *args, **kwargs)
        if self.log_ma is not None:
            self.log_ma = fn(self.log_ma)
        return super()._apply(fn, *args, **kwargs)

    # --------------------------------------------------------------------------------- the bound
    def _value(self, critic: Callable, scores: Callable | None, x, z, training: bool) -> torch.Tensor:
        if x.dim() != 2 or z.dim() != 2 or x.shape[0] != z.shape[0] or x.shape[0] < 2:
            raise ValueError(
                f"x and z must be (b, dim) batches with the same b >= 2, got {tuple(x.shape)} and {tuple(z.shape)}"
            )
        if self.bound == "infonce":
            return FAMILY["infonce"](scores(x, z) if scores is not None else _all_pairs(critic, x, z))[0]
        t = critic(torch.cat([x, x]), torch.cat([z, z[derangement(x.shape[0], device=x.device)]]))[0]
        t_joint, t_marginal = t[: x.shape[0]], t[x.shape[0] :]
        if self.bound != "dv" or self.gradient == "biased":
            return FAMILY[self.bound](t_joint, t_marginal)
        if training:
            self.log_ma = update_log_ema(self.log_ma, log_mean_exp(t_marginal), self.ema_rate)
        if self.log_ma is None:  # no critic step yet: nothing to average
            return FAMILY["dv"](t_joint, t_marginal)
        return t_joint.mean() - ema_log_mean_exp(t_marginal, self.log_ma)

    def update(self, x: torch.Tensor, z: torch.Tensor) -> float:
        """One ascent step of the critic on the bound of this batch (inputs detached); returns the value."""
        scores = getattr(self._critic, "scores", None)
        value = self._value(self._critic, scores, x.detach(), z.detach(), training=True)
        self.critic_optimizer.zero_grad(set_to_none=True)
        (-value).backward()
        self.critic_optimizer.step()
        return float(value.detach())

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The bound on this batch with the critic held fixed: differentiable in ``x`` and ``z`` only."""
        frozen = {name: p.detach() for name, p in self._critic.named_parameters()}

        def critic(a, b):
            return _functional(self._critic, "forward", frozen, a, b)

        def scores(a, b):
            return _functional(self._critic, "scores", frozen, a, b)

        return self._value(critic, scores if hasattr(self._critic, "scores") else None, x, z, training=False)


def _all_pairs(critic: Callable, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The (1, b, b) score matrix of a critic that only scores pairs: b^2 evaluations."""
    b = x.shape[0]
    xi = x.unsqueeze(1).expand(b, b, x.shape[1]).reshape(b * b, -1)
    zj = z.unsqueeze(0).expand(b, b, z.shape[1]).reshape(b * b, -1)
    return critic(xi, zj).reshape(1, b, b)


class _Method(nn.Module):
    """Calls one method of a module as its forward, so torch.func.functional_call can swap its parameters."""

    def __init__(self, module: nn.Module, method: str):
        super().__init__()
        self.inner, self.method = module, method

    def forward(self, *args):
        return getattr(self.inner, self.method)(*args)


def _functional(module: nn.Module, method: str, params: dict, *args) -> torch.Tensor:
    """``module.method(*args)`` computed with ``params`` in place of the module's parameters."""
    return torch.func.functional_call(_Method(module, method), {f"inner.{k}": v for k, v in params.items()}, args)


def adaptive_gradient_clip(
    parameters: Iterable[torch.Tensor], loss: torch.Tensor, mi_loss: torch.Tensor
) -> tuple[float, float]:
    r"""The paper's adaptive clipping (§5.1): set each parameter's ``.grad`` to :math:`g_u + g_a`, with

    .. math:: g_a = \min(\lVert g_u\rVert, \lVert g_m\rVert)\, \frac{g_m}{\lVert g_m\rVert},

    :math:`g_u` the gradient of the model's own ``loss`` and :math:`g_m` that of its MI term ``mi_loss``
    (e.g. :math:`-\beta\,\hat I`), both with respect to ``parameters`` (the *generator's*), norms taken over
    all of them together. The MI gradient is never larger than the model's own. Returns
    :math:`(\lVert g_u\rVert, \lVert g_m\rVert)`. Both losses' graphs are freed.
    """
    params = [p for p in parameters if p.requires_grad]
    if not params:
        raise ValueError("parameters holds no tensor that requires a gradient")
    g_u = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    g_m = torch.autograd.grad(mi_loss, params, allow_unused=True)
    g_u = [torch.zeros_like(p) if g is None else g for p, g in zip(params, g_u)]
    g_m = [torch.zeros_like(p) if g is None else g for p, g in zip(params, g_m)]
    norm_u = torch.sqrt(sum((g.double() ** 2).sum() for g in g_u))  # every tensor counts, not the last one
    norm_m = torch.sqrt(sum((g.double() ** 2).sum() for g in g_m))
    scale = torch.minimum(norm_u, norm_m) / norm_m if norm_m > 0 else torch.zeros((), dtype=torch.float64)
    for p, gu, gm in zip(params, g_u, g_m):
        p.grad = gu + scale.to(gm.dtype) * gm
    return float(norm_u), float(norm_m)
