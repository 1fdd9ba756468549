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

import warnings
from collections.abc import Callable, Iterable

import torch
from torch import nn

from minelib._checks import MINEWarning, in_open_interval
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
        # critic steps skipped on a non-finite batch, counted on the critic's device
        self.skipped = torch.zeros((), dtype=torch.long, device=next(critic.parameters()).device)

    @property
    def critic(self) -> nn.Module:
        return self._critic

    def _apply(self, fn, *args, **kwargs):  # .to(device) / .double() move the critic too
        self._critic._apply(fn, *args, **kwargs)
        if self.average.log is not None:
            self.average.log = fn(self.average.log)
        if self.average.started is not None:
            self.average.started = self.average.started.to(next(self._critic.parameters()).device)
        self.skipped = self.skipped.to(next(self._critic.parameters()).device)
        return super()._apply(fn, *args, **kwargs)

    # --------------------------------------------------------------------------------- the bound
    def _value(self, critic: Callable, scores: Callable | None, x, z, training: bool) -> torch.Tensor:
        self._check_batch(x, z)
        if self._bound.multi_sample:
            return bound_value(self._bound, scores=scores(x, z) if scores is not None else _all_pairs(critic, x, z))[0]
        t = _scores_row(critic(torch.cat([x, x]), torch.cat([z, z[derangement(x.shape[0], device=x.device)]])))
        t_joint, t_marginal = t[: x.shape[0]], t[x.shape[0] :]
        average = self.average if self._bound.moving_average else None  # before any critic step: the plain DV
        return bound_value(self._bound, t_joint, t_marginal, average=average, update=training)

    def _check_batch(self, x, z) -> None:
        """Shapes and dtypes, from metadata only (no host sync): what a caller can get wrong."""
        for name, a in (("x", x), ("z", z)):
            if not isinstance(a, torch.Tensor) or not a.dtype.is_floating_point:
                raise TypeError(f"{name} must be a floating-point torch tensor, got {getattr(a, 'dtype', type(a))}")
        if x.dim() != 2 or z.dim() != 2 or x.shape[0] != z.shape[0] or x.shape[0] < 2:
            raise ValueError(
                f"x and z must be (b, dim) batches with the same b >= 2, got {tuple(x.shape)} and {tuple(z.shape)}"
            )
        weight = next(self._critic.parameters())
        for name, a in (("x", x), ("z", z)):
            want = getattr(self._critic, f"{name}_dim", a.shape[1])
            if a.shape[1] != want:
                raise ValueError(f"{name} has {a.shape[1]} columns, the critic expects {want}")
            if a.dtype != weight.dtype or a.device != weight.device:
                raise TypeError(
                    f"{name} is {a.dtype} on {a.device} but the critic's parameters are {weight.dtype} on "
                    f"{weight.device}: convert the batch ({name}.to(...)) or the MI term (mi.to(...))"
                )

    def update(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """One ascent step of the critic on the bound of this batch (inputs detached); returns the value.

        A batch whose value or gradient is not finite (a NaN or inf among the inputs, or a diverging critic) takes
        no step: the parameters and the optimiser's state are kept as they were, and ``skipped`` counts it. This is
        decided on the device, with no host synchronisation; :meth:`~minelib.MITerm.check` reports the count.

        Parameters
        ----------
        x, z : *torch.Tensor*
            ``(b, dim)`` batches with the same ``b >= 2``; detached here, so no gradient reaches them.

        Returns
        -------
        value : *torch.Tensor*
            The critic's bound on the batch before its step, 0-dimensional, on the critic's device.
        """
        scores, before = getattr(self._critic, "scores", None), self.average.state()
        value = self._value(self._critic, scores, x.detach(), z.detach(), training=True)
        self.critic_optimizer.zero_grad(set_to_none=True)
        (-value).backward()
        params = [p for p in self._critic.parameters() if p.grad is not None]
        finite = torch.stack([torch.isfinite(value), *(torch.isfinite(p.grad).all() for p in params)]).all()
        _masked_step(self.critic_optimizer, params, finite)
        self.average.keep_if(finite, before)
        self.skipped += ~finite
        return value.detach()

    def check(self) -> int:
        """The number of skipped critic steps so far (one host synchronisation), with a
        :class:`~minelib.MINEWarning` when there are any. Call it every few hundred steps, not every step."""
        skipped = int(self.skipped)
        if skipped:
            warnings.warn(
                f"the MI term skipped {skipped} critic step(s) whose batch gave a non-finite value or gradient (NaN "
                "or inf in x or z, or a diverging critic): those batches were left out, the critic is intact",
                MINEWarning,
                stacklevel=2,
            )
        return skipped

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
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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
        value : *torch.Tensor*
            The critic's bound on the batch before its step (as :meth:`update`), 0-dimensional, on the device.
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


def _masked_step(optimizer: torch.optim.Optimizer, params: list[torch.Tensor], finite: torch.Tensor) -> None:
    """``optimizer.step()`` where ``finite`` (a 0-d bool tensor) holds; otherwise the parameters and the optimiser's
    state stay exactly as they were (``torch.where``: no host synchronisation). A state the rejected step created
    goes back to zeros, a fresh state for Adam, AdamW, Adamax, RMSprop and SGD (not for NAdam, Rprop or ASGD). On
    a GPU, Adam-type optimisers are switched to ``capturable`` before their first step, so that their step counts
    live on the device and the mask needs no copy to the host."""
    if finite.device.type == "cuda" and not optimizer.state:
        for group in optimizer.param_groups:
            if "capturable" in group and not group.get("fused"):
                group["capturable"] = True
    saved = [(p, p.detach().clone(), {k: v.clone() for k, v in optimizer.state[p].items() if torch.is_tensor(v)})
             for p in params]  # fmt: skip
    for p in params:  # a NaN gradient would otherwise enter Adam's moments
        p.grad = torch.where(finite, p.grad, torch.zeros_like(p.grad))
    optimizer.step()
    with torch.no_grad():
        for p, before, state in saved:
            p.copy_(torch.where(finite, p, before))
            for key, now in optimizer.state[p].items():
                if torch.is_tensor(now):  # a state created by this step goes back to zero (a fresh state)
                    now.copy_(torch.where(finite, now, state.get(key, torch.zeros_like(now))))


def _scores_row(t: torch.Tensor) -> torch.Tensor:
    """A critic's ``(1, n)`` scores as ``(n,)``; a clear error for another shape (e.g. ``(n, 1)``)."""
    if t.dim() != 2 or t.shape[0] != 1:
        raise ValueError(f"critic(x, z) must return scores of shape (1, n), got {tuple(t.shape)}")
    return t[0]


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
) -> tuple[torch.Tensor, torch.Tensor]:
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
    norm_u, norm_m : *torch.Tensor*
        :math:`(\lVert g_u\rVert, \lVert g_m\rVert)`, 0-dimensional float64 tensors on the parameters' device
        (no host synchronisation: the step stays capturable).

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
    positive = norm_m > 0
    scale = torch.where(positive, torch.minimum(norm_u, norm_m) / torch.where(positive, norm_m, 1.0), 0.0)
    for p, gu, gm in zip(params, g_u, g_m):
        p.grad = gu + scale.to(gm.dtype) * gm
    return norm_u, norm_m
