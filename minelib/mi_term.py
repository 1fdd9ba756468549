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

from minelib._checks import in_open_interval
from minelib.bounds import MovingAverage, bound_value, derangement, get_bound
from minelib.config import refuse_removed


class MITerm(nn.Module):
    r"""A differentiable estimate of :math:`I(X;Z)` whose gradient flows into ``x`` and ``z``.

    The critic is stepped by its own optimiser, ``optimizer(critic.parameters(), lr=lr)``; it is not a submodule,
    so a parent module's ``.parameters()`` does not contain it (module docstring).

    Parameters
    ----------
    critic : *torch.nn.Module*
        A network with ``critic(x, z) -> (1, n)`` scores (:class:`~minelib.StatisticsNetwork` or
        :class:`~minelib.nets.SeparableCritic` with ``n_models=1``).
    bound : str
        A name of :data:`minelib.bounds.BOUNDS`: ``"mine"`` (the default: the DV bound whose gradient divides by a
        moving average of :math:`\mathbb{E}[e^T]`, rate ``ema_rate``; the paper's bias correction, in the critic's
        and in the model's gradient), ``"dv"`` (plain gradient), ``"nwj"``, ``"infonce"``, ``"js"``, ``"smile"``.
    ema_rate : float
        Rate :math:`\alpha` of that moving average, in (0, 1).
    lr : float
        The critic's learning rate.
    optimizer : *callable*
        The critic's optimiser class (default ``torch.optim.Adam``), called as
        ``optimizer(critic.parameters(), lr=lr)``.

    Attributes
    ----------
    critic
        The critic, as given (a property: not a registered submodule).
    bound : str
        The bound's public name (aliases resolved).
    critic_optimizer
        The critic's optimiser.

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, §3.2 and §5.

    Examples
    --------
    Typical use, one iteration::

        mi.update(x.detach(), z.detach())           # the critic: one ascent step of the bound
        loss = model_loss - beta * mi(x, z)          # the model: its gradient flows into x and z only
        loss.backward(); model_optimizer.step()
    """

    def __init__(
        self,
        critic: nn.Module,
        *,
        bound: str = "mine",
        ema_rate: float = 0.01,
        lr: float = 1e-4,
        optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam,
        **removed,
    ):
        super().__init__()
        refuse_removed(removed, "MITerm")
        if removed:
            raise TypeError(f"MITerm got unexpected keyword argument(s) {sorted(removed)}")
        if not isinstance(critic, nn.Module):
            raise TypeError(f"critic must be a torch.nn.Module, got {type(critic).__name__}")
        if getattr(critic, "n_models", 1) != 1:
            raise ValueError(f"critic must be a single network (n_models=1), got n_models={critic.n_models}")
        self._bound = get_bound(bound)
        self.bound = self._bound.name
        self.average = MovingAverage(ema_rate)
        in_open_interval("lr", lr, 0.0, float("inf"))
        object.__setattr__(self, "_critic", critic)  # not a submodule: invisible to a parent's .parameters()
        self.critic_optimizer = optimizer(critic.parameters(), lr=lr)

    @property
    def critic(self) -> nn.Module:
        return self._critic

    def _apply(self, fn, *args, **kwargs):  # .to(device) / .double() move the critic too
        self._critic._apply(fn, *args, **kwargs)
        if self.average.log is not None:
            self.average.log = fn(self.average.log)
        return super()._apply(fn, *args, **kwargs)

    # --------------------------------------------------------------------------------- the bound
    def _value(self, critic: Callable, scores: Callable | None, x, z, training: bool) -> torch.Tensor:
        if x.dim() != 2 or z.dim() != 2 or x.shape[0] != z.shape[0] or x.shape[0] < 2:
            raise ValueError(
                f"x and z must be (b, dim) batches with the same b >= 2, got {tuple(x.shape)} and {tuple(z.shape)}"
            )
        if self._bound.multi_sample:
            return bound_value(self._bound, scores=scores(x, z) if scores is not None else _all_pairs(critic, x, z))[0]
        t = critic(torch.cat([x, x]), torch.cat([z, z[derangement(x.shape[0], device=x.device)]]))[0]
        t_joint, t_marginal = t[: x.shape[0]], t[x.shape[0] :]
        average = self.average if self._bound.moving_average else None  # before any critic step: the plain DV
        return bound_value(self._bound, t_joint, t_marginal, average=average, update=training)

    def update(self, x: torch.Tensor, z: torch.Tensor) -> float:
        """One ascent step of the critic on the bound of this batch (inputs detached); returns the value.

        Parameters
        ----------
        x, z : *torch.Tensor*
            ``(b, dim)`` batches with the same ``b >= 2``; detached here, so no gradient reaches them.

        Returns
        -------
        float
            The critic's bound on the batch, before its step.
        """
        scores = getattr(self._critic, "scores", None)
        value = self._value(self._critic, scores, x.detach(), z.detach(), training=True)
        self.critic_optimizer.zero_grad(set_to_none=True)
        (-value).backward()
        self.critic_optimizer.step()
        return float(value.detach())

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r"""The bound on this batch with the critic held fixed: differentiable in ``x`` and ``z`` only.

        Parameters
        ----------
        x, z : *torch.Tensor*
            ``(b, dim)`` batches with the same ``b >= 2``, through which the model's gradient flows.

        Returns
        -------
        estimate : *torch.Tensor*
            :math:`\hat I`, a 0-dimensional tensor; the critic is evaluated with detached parameters, so no loss
            of the model's reaches the critic's gradients.
        """
        frozen = {name: p.detach() for name, p in self._critic.named_parameters()}

        def critic(a, b):
            return _functional(self._critic, "forward", frozen, a, b)

        def scores(a, b):
            return _functional(self._critic, "scores", frozen, a, b)

        return self._value(critic, scores if hasattr(self._critic, "scores") else None, x, z, training=False)

    def step(
        self,
        x: torch.Tensor,
        z: torch.Tensor,
        *,
        weight: float,
        params: Iterable[torch.Tensor] | None = None,
        model_loss: torch.Tensor | Callable[[], torch.Tensor] | None = None,
        clip: bool = False,
        floor: float | None = None,
    ) -> tuple[float, torch.Tensor, torch.Tensor]:
        r"""One iteration inside another model's training: the critic's step, then the model's MI term.

        One ascent step of the critic on the detached pair (:meth:`update`), then, the critic held fixed, the
        estimate :math:`\hat I` of the batch (:meth:`forward`) and the term :math:`w\,\hat I`. Without
        ``model_loss`` the caller adds the term to its loss; with it, the model's gradients go to ``params`` here.

        Parameters
        ----------
        x, z : *torch.Tensor*
            ``(b, dim)`` batches, ``b >= 2``, through which the model's gradient flows.
        weight : float
            :math:`w`: ``-beta`` maximises the MI (a generator, an encoder), ``+beta`` penalises it (a bottleneck).
        params : *iterable* of *torch.Tensor*, or None
            The model's parameters, given with ``model_loss``; no other tensor's ``.grad`` is touched.
        model_loss : *torch.Tensor* or *callable*, or None
            The model's own loss :math:`L`, or a function returning it, called after the critic's step (like an
            optimiser's closure), so that random numbers it draws (dropout) follow the critic's re-pairing.
            Given, ``params`` get the gradient of :math:`L + w\hat I`.
        clip : bool
            With ``model_loss``: the two gradients combined by :func:`adaptive_gradient_clip` instead.
        floor : float or None
            :math:`\hat I` clamped from below before weighting: ``0.0`` for a penalty (:math:`I \ge 0`).

        Returns
        -------
        value : float
            The critic's bound on the batch before its step (as :meth:`update`).
        estimate, term : *torch.Tensor*
            :math:`\hat I` after the step (clamped at ``floor``) and :math:`w\,\hat I`; differentiable in ``x``
            and ``z``, their graph already freed with ``model_loss``.

        References
        ----------
        Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, §5 (§5.1: adaptive clipping).
        """
        for name, v in (("weight", weight), ("floor", 0.0 if floor is None else floor)):
            in_open_interval(name, v, -float("inf"), float("inf"))  # a finite real number
        if (model_loss is None) != (params is None) or (clip and model_loss is None):
            raise ValueError("model_loss and params go together (and clip=True needs both)")
        value = self.update(x, z)
        model_loss = model_loss() if callable(model_loss) else model_loss
        estimate = self(x, z) if floor is None else self(x, z).clamp(min=floor)
        term = weight * estimate
        if model_loss is not None and clip:
            adaptive_gradient_clip(params, model_loss, term)
        elif model_loss is not None:
            (model_loss + term).backward(inputs=list(params))
        return value, estimate, term


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
    r"""The paper's adaptive clipping (§5.1): set each parameter's ``.grad`` to :math:`g_u + g_a`.

    .. math:: g_a = \min(\lVert g_u\rVert, \lVert g_m\rVert)\, \frac{g_m}{\lVert g_m\rVert},

    with :math:`g_u` the gradient of the model's own ``loss`` and :math:`g_m` that of its MI term ``mi_loss``
    (e.g. :math:`-\beta\,\hat I`), both with respect to ``parameters`` (the *generator's*), norms taken over
    all of them together. The MI gradient is never larger than the model's own. Both losses' graphs are freed.

    Parameters
    ----------
    parameters : *iterable* of *torch.Tensor*
        The model's parameters; those that do not require a gradient are skipped (at least one must), and one
        that a loss does not reach counts as a zero gradient of that loss.
    loss : *torch.Tensor*
        The model's own loss, whose gradient is :math:`g_u`.
    mi_loss : *torch.Tensor*
        Its MI term, whose gradient is :math:`g_m`.

    Returns
    -------
    norm_u, norm_m : float
        :math:`(\lVert g_u\rVert, \lVert g_m\rVert)`.

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, §5.1.
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
