r"""The statistics network :math:`T_\theta(x, z)`, optionally as an ensemble of independent networks.

An ensemble holds ``n_models`` MLPs with stacked weights of shape ``(n_models, fan_in, fan_out)``; one
batched matrix product (``torch.baddbmm``) runs all of them at once. Members share nothing, and a
summed loss gives each member exactly its own gradient, so training an ensemble is training
``n_models`` networks side by side, in one pass instead of a Python loop.

:func:`mlp` is the plain ``nn.Sequential`` MLP that the applications build their networks from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from minelib._checks import choice, positive_int, widths

ACTIVATIONS = {"relu": torch.relu, "elu": nn.functional.elu, "tanh": torch.tanh, "softplus": nn.functional.softplus}


class StatisticsNetwork(nn.Module):
    r"""MLP on the concatenation :math:`[x, z]` with scalar output :math:`T_\theta(x, z)`.

    Parameters: ``x_dim``, ``z_dim`` (input sizes), ``hidden`` (widths of the hidden layers),
    ``activation`` (one of ``ACTIVATIONS``), ``n_models`` (size of the ensemble axis).

    ``forward(x, z)`` takes ``(n, dim)`` inputs (shared by all members) or ``(n_models, n, dim)``
    (one batch per member) and returns ``(n_models, n)``.
    """

    def __init__(
        self,
        x_dim: int,
        z_dim: int,
        hidden: Sequence[int] = (128, 128),
        activation: str = "elu",
        n_models: int = 1,
    ):
        super().__init__()
        hidden = _common(self, x_dim, z_dim, hidden, activation, n_models)
        self.weights, self.biases = _stacked_mlp([x_dim + z_dim, *hidden, 1], n_models)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """:math:`T_\\theta(x, z)` for every member: ``(n, dim)`` or ``(n_models, n, dim)`` in, ``(n_models, n)``."""
        h = torch.cat([x, z], dim=-1)
        if h.dim() == 2:
            h = h.expand(self.n_models, *h.shape)
        return _run_mlp(h, self.weights, self.biases, self._act).squeeze(-1)

    def scores(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """All pairs of a batch: ``(n_models, b, b)`` with entry ``[k, i, j] = T_k(x_i, z_j)``. It costs
        :math:`b^2` network evaluations per member (a :class:`SeparableCritic` needs :math:`2b`)."""
        x = x.expand(self.n_models, *x.shape) if x.dim() == 2 else x
        z = z.expand(self.n_models, *z.shape) if z.dim() == 2 else z
        e, b = x.shape[:2]
        xi = x.unsqueeze(2).expand(e, b, b, x.shape[-1]).reshape(e, b * b, -1)
        zj = z.unsqueeze(1).expand(e, b, b, z.shape[-1]).reshape(e, b * b, -1)
        return self(xi, zj).reshape(e, b, b)


def _common(critic: nn.Module, x_dim, z_dim, hidden, activation, n_models) -> tuple[int, ...]:
    """Validate and set what every critic has (input sizes, ensemble size, activation); return the widths."""
    critic.x_dim, critic.z_dim = positive_int("x_dim", x_dim), positive_int("z_dim", z_dim)
    critic.n_models = positive_int("n_models", n_models)
    critic.activation = choice("activation", activation, list(ACTIVATIONS))
    critic._act = ACTIVATIONS[activation]
    return widths("hidden", hidden)


def _stacked_mlp(sizes: Sequence[int], n_models: int) -> tuple[nn.ParameterList, nn.ParameterList]:
    r"""Weights ``(n_models, fan_in, fan_out)`` and biases ``(n_models, 1, fan_out)`` of ``n_models`` MLPs,
    initialised like ``torch.nn.Linear`` (uniform in :math:`\pm 1/\sqrt{\text{fan\_in}}`)."""
    weights, biases = nn.ParameterList(), nn.ParameterList()
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / math.sqrt(fan_in)
        weights.append(nn.Parameter(torch.empty(n_models, fan_in, fan_out).uniform_(-bound, bound)))
        biases.append(nn.Parameter(torch.empty(n_models, 1, fan_out).uniform_(-bound, bound)))
    return weights, biases


def _run_mlp(h: torch.Tensor, weights: nn.ParameterList, biases: nn.ParameterList, act) -> torch.Tensor:
    """``(n_models, n, fan_in)`` through every member's MLP (no activation after the last layer)."""
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = torch.baddbmm(b, h, w)
        if i < last:
            h = act(h)
    return h


class SeparableCritic(nn.Module):
    r"""Separable critic :math:`T(x, z) = g(x)^\top h(z)`: two MLP embeddings of size ``embed_dim``.

    ``scores(x, z)`` gives all :math:`b^2` values :math:`T(x_i, z_j)` of a batch in one matrix product,
    ``(n_models, b, b)``, which the multi-sample bounds (InfoNCE) and the score-matrix forms of the others
    use; ``forward(x, z)`` gives the paired values :math:`T(x_i, z_i)`, ``(n_models, n)``, like
    :class:`StatisticsNetwork`. Poole et al. (2019) use it for the staircase experiments: it costs two
    embeddings of :math:`b` points instead of :math:`b^2` critic evaluations.
    """

    def __init__(
        self,
        x_dim: int,
        z_dim: int,
        hidden: Sequence[int] = (256, 256),
        embed_dim: int = 32,
        activation: str = "relu",
        n_models: int = 1,
    ):
        super().__init__()
        hidden = _common(self, x_dim, z_dim, hidden, activation, n_models)
        self.embed_dim = positive_int("embed_dim", embed_dim)
        self.g_weights, self.g_biases = _stacked_mlp([x_dim, *hidden, embed_dim], n_models)
        self.h_weights, self.h_biases = _stacked_mlp([z_dim, *hidden, embed_dim], n_models)

    def _embed(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.expand(self.n_models, *x.shape) if x.dim() == 2 else x
        z = z.expand(self.n_models, *z.shape) if z.dim() == 2 else z
        return (
            _run_mlp(x, self.g_weights, self.g_biases, self._act),
            _run_mlp(z, self.h_weights, self.h_biases, self._act),
        )

    def scores(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """All pairs: ``(n_models, b, b)`` with entry ``[k, i, j] = T_k(x_i, z_j)``."""
        gx, hz = self._embed(x, z)
        return gx @ hz.transpose(-1, -2)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The paired values ``T_k(x_i, z_i)``: ``(n_models, n)``."""
        gx, hz = self._embed(x, z)
        return (gx * hz).sum(-1)


def mlp(sizes: Sequence[int], leaky: bool = False, batch_norm: bool = False) -> nn.Sequential:
    """Linear layers of the given sizes; between them (none after the last) batch normalisation if
    ``batch_norm``, then ReLU, or LeakyReLU with slope 0.2 if ``leaky``."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.extend([nn.BatchNorm1d(fan_out)] if batch_norm else [])
            layers.append(nn.LeakyReLU(0.2) if leaky else nn.ReLU())
    return nn.Sequential(*layers)
