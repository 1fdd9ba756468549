r"""MINE: Mutual Information Neural Estimation (Belghazi et al., 2018, Algorithm 1).

.. math:: \widehat{I}(X;Z)_n = \sup_{\theta}\; \mathbb{E}_{P^{(n)}_{XZ}}[T_\theta]
          - \log \mathbb{E}_{P^{(n)}_X \otimes P^{(n)}_Z}[e^{T_\theta}].

Training maximises the bound on minibatches of the *training* split; samples of the product of
marginals come from shuffling ``z`` along the batch. The reported estimate is the bound evaluated on
the *held-out* split, so a network that memorises the training pairs is not rewarded (a training-set
estimate is biased upwards, and positive even at zero MI).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import trange

from minelib._checks import (
    ArrayLike,
    as_samples,
    choice,
    in_open_interval,
    per_model,
    positive_int,
    same_rows,
    to_tensor,
)
from minelib.bounds import log_mean_exp
from minelib.ema import ema_log_mean_exp, update_log_ema
from minelib.nets import StatisticsNetwork

OBJECTIVES = ("dv", "f")
GRADIENTS = ("biased", "ema")
MARGINALS = ("shuffle", "independent")


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _generator(device: torch.device, seed: int | None) -> torch.Generator:
    gen = torch.Generator(device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


class MINE(nn.Module):
    r"""A MINE estimator: a statistics network, its objective and its gradient rule.

    ``objective``: ``"dv"`` (Donsker–Varadhan) or ``"f"`` (MINE-f). ``gradient``: ``"ema"`` (the moving
    average of :math:`\mathbb{E}_B[e^T]` enters the gradient, rate ``ema_rate``) or ``"biased"`` (plain
    minibatch gradient); it only matters for ``"dv"``: the f-bound's minibatch gradient is unbiased.
    With ``n_models > 1`` the estimator is an ensemble of independent networks trained in one batched
    pass; ``objective`` and ``gradient`` may then be given per member.
    """

    def __init__(
        self,
        x_dim: int,
        z_dim: int,
        *,
        objective: str | Sequence[str] = "dv",
        gradient: str | Sequence[str] = "ema",
        ema_rate: float = 0.01,
        hidden: Sequence[int] = (128, 128),
        activation: str = "elu",
        n_models: int = 1,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
        seed: int | None = None,
    ):
        super().__init__()
        n_models = positive_int("n_models", n_models)
        self.objectives = per_model("objective", objective, OBJECTIVES, n_models)
        self.gradients = per_model("gradient", gradient, GRADIENTS, n_models)
        self.ema_rate = in_open_interval("ema_rate", ema_rate, 0.0, 1.0)
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.seed = seed
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.T = StatisticsNetwork(x_dim, z_dim, hidden, activation, n_models)
        self.to(device=torch.device(device) if device is not None else default_device(), dtype=dtype)
        is_f = [o == "f" for o in self.objectives]
        is_ema = [g == "ema" and o == "dv" for o, g in zip(self.objectives, self.gradients)]
        self._any_f, self._any_ema = any(is_f), any(is_ema)
        self.register_buffer("_is_f", torch.tensor(is_f, device=self.device))
        self.register_buffer("_is_ema", torch.tensor(is_ema, device=self.device))
        self.log_ma: torch.Tensor | None = None
        self.history: dict[str, np.ndarray] = {}
        self.estimate_: float | np.ndarray | None = None

    @property
    def device(self) -> torch.device:
        return self.T.weights[0].device

    @property
    def n_models(self) -> int:
        return self.T.n_models

    # ----------------------------------------------------------------- data
    def _prepare(self, x: ArrayLike, z: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
        """Validate and return ``(n_models, n, dim)`` tensors on the estimator's device and dtype."""
        x, z = as_samples("x", x, max_ndim=3), as_samples("z", z, max_ndim=3)
        same_rows(x, z)
        for name, a, dim in (("x", x, self.T.x_dim), ("z", z, self.T.z_dim)):
            if a.shape[-1] != dim:
                raise ValueError(f"{name} has {a.shape[-1]} columns, the network expects {dim}")
            if a.ndim == 3 and a.shape[0] != self.n_models:
                raise ValueError(f"{name} has {a.shape[0]} ensemble members, the estimator has {self.n_models}")
        dtype = self.T.weights[0].dtype
        x, z = (to_tensor(a).to(self.device, dtype) for a in (x, z))
        return tuple(a.expand(self.n_models, *a.shape[-2:]) for a in (x, z))

    # ------------------------------------------------------------ objective
    def _second_term(self, t_marginal: torch.Tensor, training: bool = False) -> torch.Tensor:
        r"""Each member's :math:`\log\hat{\mathbb{E}}_Q[e^T]` (DV) or :math:`\hat{\mathbb{E}}_Q[e^{T-1}]` (f).

        In training, DV members with the ``"ema"`` rule get the moving-average gradient.
        """
        term = log_mean_exp(t_marginal)
        if training and self._any_ema:
            self.log_ma = update_log_ema(self.log_ma, term, self.ema_rate)
            term = torch.where(self._is_ema, ema_log_mean_exp(t_marginal, self.log_ma), term)
        if self._any_f:
            # DV members are zeroed first, so that a large T of theirs cannot overflow into a NaN gradient.
            t = torch.where(self._is_f.unsqueeze(-1), t_marginal, torch.zeros_like(t_marginal))
            term = torch.where(self._is_f, torch.exp(t - 1).mean(-1), term)
        return term

    def bound(self, t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
        """Each member's own bound (DV or f) from critic values of shape ``(n_models, n)``."""
        return t_joint.mean(-1) - self._second_term(t_marginal)

    def training_bound(self, t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
        """The batch bound whose gradient is each member's MINE gradient; advances the moving average."""
        return t_joint.mean(-1) - self._second_term(t_marginal, training=True)

    def _critic(self, x: torch.Tensor, z: torch.Tensor, chunk: int = 2**16) -> torch.Tensor:
        rows = max(1, chunk // self.n_models)
        return torch.cat([self.T(x[:, i : i + rows], z[:, i : i + rows]) for i in range(0, x.shape[1], rows)], 1)

    # -------------------------------------------------------------- public
    def estimate(self, x: ArrayLike, z: ArrayLike, *, n_shuffles: int = 10, seed: int | None = 0):
        r"""The bound on the given samples: :math:`\hat{\mathbb{E}}[T]` over the pairs, and the marginal
        term over ``n_shuffles`` random re-pairings of ``z``. A float, or one value per ensemble member."""
        positive_int("n_shuffles", n_shuffles)
        x, z = self._prepare(x, z)
        if x.shape[1] < 2:
            raise ValueError("estimate needs at least 2 samples to form shuffled pairs")
        return self._to_output(self._estimate(x, z, n_shuffles, seed))

    @torch.no_grad()
    def _estimate(self, x: torch.Tensor, z: torch.Tensor, n_shuffles: int, seed: int | None) -> torch.Tensor:
        gen = _generator(self.device, seed)
        members = torch.arange(self.n_models, device=self.device).unsqueeze(-1)
        shuffled = [
            self._critic(x, z[members, torch.rand(z.shape[:2], generator=gen, device=self.device).argsort(1)])
            for _ in range(n_shuffles)
        ]
        return self.bound(self._critic(x, z), torch.cat(shuffled, 1))

    def _to_output(self, values: torch.Tensor):
        values = values.double().cpu().numpy()
        return float(values[0]) if self.n_models == 1 else values

    def fit(
        self,
        x: ArrayLike,
        z: ArrayLike,
        *,
        steps: int = 2000,
        batch_size: int = 256,
        lr: float = 1e-3,
        val_fraction: float = 0.2,
        marginal: str = "shuffle",
        eval_every: int = 100,
        n_shuffles: int = 10,
        progress: bool = False,
        seed: int | None = None,
    ) -> MINE:
        """Train on a random ``1 - val_fraction`` of the pairs; report the bound on the rest.

        ``x``, ``z``: ``(n, dim)`` shared by all members or ``(n_models, n, dim)``. After the call,
        ``estimate_`` holds the held-out estimate (float, or array per member) and ``history`` the
        batch bound at every step (``"train"``) and the held-out bound every ``eval_every`` steps
        (``"val"``, at ``"eval_step"``).
        """
        steps, batch_size = positive_int("steps", steps), positive_int("batch_size", batch_size)
        eval_every, n_shuffles = positive_int("eval_every", eval_every), positive_int("n_shuffles", n_shuffles)
        in_open_interval("lr", lr, 0.0, np.inf)
        in_open_interval("val_fraction", val_fraction, 0.0, 1.0)
        choice("marginal", marginal, MARGINALS)
        x, z = self._prepare(x, z)
        n = x.shape[1]
        n_val = int(round(n * val_fraction))
        if n_val < 2 or n - n_val < batch_size:
            raise ValueError(
                f"too few samples: {n} pairs give {n - n_val} for training and {n_val} held out; "
                f"need batch_size={batch_size} for training and at least 2 held out"
            )
        gen = _generator(self.device, seed if seed is not None else None if self.seed is None else self.seed + 1)
        order = torch.randperm(n, generator=gen, device=self.device)
        x_tr, z_tr, x_val, z_val = x[:, order[n_val:]], z[:, order[n_val:]], x[:, order[:n_val]], z[:, order[:n_val]]
        self._train(x_tr, z_tr, x_val, z_val, steps, batch_size, lr, marginal, eval_every, progress, gen)
        self.estimate_ = self._to_output(self._estimate(x_val, z_val, n_shuffles, seed=0))
        return self

    def _train(self, x_tr, z_tr, x_val, z_val, steps, batch_size, lr, marginal, eval_every, progress, gen) -> None:
        E, n_train, dev = self.n_models, x_tr.shape[1], self.device
        members = torch.arange(E, device=dev).unsqueeze(-1)
        opt = torch.optim.Adam(self.T.parameters(), lr=lr, fused=True)  # one kernel for all parameters
        self.log_ma = None
        train = torch.empty(steps, E, device=dev)
        evals, eval_steps = [], []
        for step in trange(steps, disable=not progress, desc="MINE", leave=False):
            idx = torch.randint(n_train, (E, batch_size), generator=gen, device=dev)
            xb, zb = x_tr[members, idx], z_tr[members, idx]
            if marginal == "shuffle":
                zm = zb[members, torch.rand(E, batch_size, generator=gen, device=dev).argsort(1)]
            else:
                zm = z_tr[members, torch.randint(n_train, (E, batch_size), generator=gen, device=dev)]
            t = self.T(torch.cat([xb, xb], 1), torch.cat([zb, zm], 1))
            value = self.training_bound(t[:, :batch_size], t[:, batch_size:])
            train[step] = value.detach()
            opt.zero_grad(set_to_none=True)
            (-value.sum()).backward()
            opt.step()
            if (step + 1) % eval_every == 0 or step + 1 == steps:
                evals.append(self._estimate(x_val, z_val, 1, seed=step))
                eval_steps.append(step + 1)
        train, val = train.cpu().numpy(), torch.stack(evals).double().cpu().numpy()
        if E == 1:
            train, val = train[:, 0], val[:, 0]
        self.history = {"train": train, "eval_step": np.array(eval_steps), "val": val}
