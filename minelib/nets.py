r"""The statistics network :math:`T_\theta(x, z)`, optionally as an ensemble of independent networks.

An ensemble holds ``n_models`` MLPs with stacked weights of shape ``(n_models, fan_in, fan_out)``; one
batched matrix product (``torch.baddbmm``) runs all of them at once. Members share nothing, and a
summed loss gives each member exactly its own gradient, so training an ensemble is training
``n_models`` networks side by side, in one pass instead of a Python loop.
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
        self.x_dim, self.z_dim = positive_int("x_dim", x_dim), positive_int("z_dim", z_dim)
        self.n_models = positive_int("n_models", n_models)
        hidden = widths("hidden", hidden)
        self.activation = choice("activation", activation, list(ACTIVATIONS))
        self._act = ACTIVATIONS[activation]
        sizes = [x_dim + z_dim, *hidden, 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1 / math.sqrt(fan_in)  # torch.nn.Linear's default initialisation
            self.weights.append(nn.Parameter(torch.empty(n_models, fan_in, fan_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(n_models, 1, fan_out).uniform_(-bound, bound)))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """:math:`T_\\theta(x, z)` for every member: ``(n, dim)`` or ``(n_models, n, dim)`` in, ``(n_models, n)``."""
        h = torch.cat([x, z], dim=-1)
        if h.dim() == 2:
            h = h.expand(self.n_models, *h.shape)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = self._act(h)
        return h.squeeze(-1)
