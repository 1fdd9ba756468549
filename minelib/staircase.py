r"""The staircase experiment of Poole et al. (2019): every bound of the MINE family against a moving target.

Correlated Gaussians with ``dim`` coordinates per variable; every ``steps_per_level`` steps the correlation
jumps so that the true MI climbs a staircase (2, 4, 6, 8, 10 nats by default):
:math:`\rho = \sqrt{1 - e^{-2I/d}}`. Each step draws a fresh batch (infinite data), scores all
:math:`b^2` pairs of the batch with a critic, and takes one Adam step on each member's bound; the bound's
value on that batch is its estimate. All (bound, seed) members train as one ensemble.

Bounds (``minelib.bounds``): ``"mine"`` (DV with the moving-average gradient), ``"dv"`` (DV, biased
gradient), ``"nwj"``, ``"infonce"``, ``"js"``, ``"smile"`` (with ``tau``).

References
----------
B. Poole, S. Ozair, A. van den Oord, A. Alemi, G. Tucker, "On Variational Bounds of Mutual Information",
ICML 2019 (Figure 2). J. Song, S. Ermon, "Understanding the Limitations of Variational Mutual Information
Estimators", ICLR 2020.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from minelib._checks import (
    choice,
    derived_seed,
    device_value,
    flag,
    in_open_interval,
    positive_int,
    seed_value,
    seeded,
    torch_generator,
    widths,
)
from minelib.bounds import MovingAverage, bound_value, get_bound
from minelib.data import rho_for_mi
from minelib.nets import SeparableCritic, StatisticsNetwork
from minelib.train import TrainConfig, train_critic

BOUNDS = ("mine", "dv", "nwj", "infonce", "js", "smile")  # an explicit list: a new bound must not re-run the chapter
CRITICS = ("separable", "concat")


@dataclass(frozen=True)
class StaircaseConfig:
    r"""Settings of :func:`staircase`, validated when built (a name or a type that cannot work is refused).

    Parameters
    ----------
    levels : *sequence* of float
        The true MI of each level, in nats; the correlation is :math:`\rho = \sqrt{1 - e^{-2I/d}}`.
    steps_per_level, batch_size, dim, seeds : int
        Steps at each level; pairs :math:`b` per batch (the critic scores all :math:`b^2`); coordinates :math:`d`
        per variable; members per bound, each with its own initial weights.
    critic : str
        ``"separable"`` (:class:`~minelib.SeparableCritic`, ``hidden`` and ``embed_dim``) or ``"concat"``
        (:class:`~minelib.StatisticsNetwork` on all :math:`b^2` pairs; costly, a GPU job). ReLU activations.
    hidden : *sequence* of int
        Hidden widths of the critic.
    embed_dim : int
        Embedding size of the separable critic (unused by ``"concat"``).
    lr, tau, ema_rate : float
        Adam's learning rate; SMILE's clipping of the marginal scores to :math:`[-\tau, \tau]`; the rate of the
        moving average in MINE's gradient, in (0, 1).
    device : str or *torch.device* or None
        Where to train (``None``: CUDA if present, else the CPU).
    seed : int or None
        Seeds the initial weights, and through a seed derived from it the batches (``None``: fresh).
    progress : bool
        A tqdm bar.
    """

    levels: Sequence[float] = (2.0, 4.0, 6.0, 8.0, 10.0)
    steps_per_level: int = 4000
    batch_size: int = 64
    dim: int = 20
    seeds: int = 3
    critic: str = "separable"
    hidden: Sequence[int] = (256, 256)
    embed_dim: int = 32
    lr: float = 2e-4
    tau: float = 5.0
    ema_rate: float = 0.01
    device: str | torch.device | None = None
    seed: int | None = 0
    progress: bool = False

    def __post_init__(self):
        for name in ("steps_per_level", "batch_size", "dim", "seeds", "embed_dim"):
            positive_int(name, getattr(self, name))
        if isinstance(self.levels, str) or not isinstance(self.levels, Sequence) or not self.levels:
            raise ValueError(f"levels must be a non-empty sequence of MI values in nats, got {self.levels!r}")
        for level in self.levels:
            rho_for_mi(level, self.dim)  # each level a positive MI
        choice("critic", self.critic, CRITICS)
        object.__setattr__(self, "hidden", widths("hidden", self.hidden))
        for name, hi in (("lr", math.inf), ("tau", math.inf), ("ema_rate", 1.0)):
            in_open_interval(name, getattr(self, name), 0.0, hi)
        object.__setattr__(self, "device", device_value("device", self.device))
        seed_value("seed", self.seed)
        flag("progress", self.progress)

    def record(self) -> dict:
        """The settings a result carries (``embed_dim`` only for the separable critic)."""
        return {
            "levels": list(self.levels),
            "rhos": [rho_for_mi(level, self.dim) for level in self.levels],
            "steps_per_level": self.steps_per_level,
            "batch_size": self.batch_size,
            "dim": self.dim,
            "critic": self.critic,
            "hidden": list(self.hidden),
            "embed_dim": self.embed_dim if self.critic == "separable" else None,
            "lr": self.lr,
            "tau": self.tau,
            "ema_rate": self.ema_rate,
        }


def staircase(bounds: Sequence[str] = BOUNDS, config: StaircaseConfig | None = None, **settings) -> dict:
    """Train every (bound, seed) member on the staircase; return the estimates at every step.

    All members train as one ensemble, each step on a fresh batch of its own at the current level's correlation
    (module docstring). ``bounds``: names of :data:`minelib.bounds.BOUNDS` (default: this module's ``BOUNDS``);
    ``settings``: fields of :class:`StaircaseConfig`, as keywords or in ``config``.

    Returns
    -------
    dict
        ``"estimates"``: a ``(len(bounds) * seeds, steps)`` float64 array, each member's bound on its batch at
        every step; ``"members"``: ``[(bound, seed), ...]``, the rows' bounds (public names) and seed numbers;
        ``"truth"``: the ``(steps,)`` true MI; and the settings (:meth:`StaircaseConfig.record`).

    References
    ----------
    Poole, B., S. Ozair, A. van den Oord, A. Alemi, G. Tucker, "On Variational Bounds of Mutual Information",
    ICML 2019 (Figure 2). J. Song, S. Ermon, "Understanding the Limitations of Variational Mutual Information
    Estimators", ICLR 2020.
    """
    bounds = [get_bound(b).name for b in bounds]
    if not bounds:
        raise ValueError("bounds is empty")
    c = dataclasses.replace(config or StaircaseConfig(), **settings)
    members = [(b, s) for b in bounds for s in range(c.seeds)]
    with seeded(c.seed, torch.device("cpu")):  # the weights are drawn on the CPU, then moved
        net = (
            SeparableCritic(c.dim, c.dim, c.hidden, c.embed_dim, "relu", len(members))
            if c.critic == "separable"
            else StatisticsNetwork(c.dim, c.dim, c.hidden, "relu", len(members))
        )
    net.to(c.device)
    gen = torch_generator(derived_seed(c.seed, 1), c.device)
    step_value = _step_value(net, members, c.record(), gen, c.device)
    steps = TrainConfig(c.steps_per_level * len(c.levels), c.lr, progress=c.progress, desc="staircase")
    log = train_critic(net.parameters(), step_value, steps)
    truth = np.repeat(np.asarray(c.levels, dtype=float), c.steps_per_level)
    return {"estimates": log.train.T.astype(np.float64), "members": members, "truth": truth, **c.record()}


def _step_value(net, members: list, settings: dict, gen: torch.Generator, device: torch.device):
    """One step: a fresh batch at the current level's correlation, every pair scored, each member's bound."""
    n_models, b, dim = len(members), settings["batch_size"], settings["dim"]
    names = dict.fromkeys(name for name, _ in members)
    groups = {n: torch.tensor([i for i, (m, _) in enumerate(members) if m == n], device=device) for n in names}
    average = MovingAverage(settings["ema_rate"])

    def step_value(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rho = settings["rhos"][step // settings["steps_per_level"]]
        x = torch.randn(n_models, b, dim, generator=gen, device=device)
        z = rho * x + math.sqrt(1 - rho**2) * torch.randn(n_models, b, dim, generator=gen, device=device)
        scores = net.scores(x, z)
        training = torch.empty(n_models, device=device)
        for name, idx in groups.items():
            bound = get_bound(name)
            training[idx] = bound_value(bound, scores=scores[idx], average=average, update=True, tau=settings["tau"])
        return training, training.detach()

    return step_value


def level_summary(result: dict, last: int = 1000) -> list[dict]:
    """Per bound and level, the estimates at the end of the level: their mean, spread over seeds and variance.

    Parameters
    ----------
    result : dict
        What :func:`staircase` returns.
    last : int
        The steps at the end of each level that count (at most ``steps_per_level``).

    Returns
    -------
    list of dict
        One row per bound and level: ``"bound"``, ``"truth"`` (the level's MI), ``"mean"`` (the mean over seeds of
        each seed's average over the level's last ``last`` steps), ``"seed_sd"`` (the spread of those averages
        over seeds: their standard deviation, 0 with one seed), ``"step_variance"`` (the variance of the per-step
        estimates over those steps, averaged over seeds) and ``"seeds"`` (how many).

    References
    ----------
    Poole, B., S. Ozair, A. van den Oord, A. Alemi, G. Tucker, "On Variational Bounds of Mutual Information",
    ICML 2019 (Figure 2).
    """
    est, spl = result["estimates"], result["steps_per_level"]
    last = min(positive_int("last", last), spl)
    rows = []
    for bound in dict.fromkeys(b for b, _ in result["members"]):
        idx = [i for i, (b, _) in enumerate(result["members"]) if b == bound]
        for k, level in enumerate(result["levels"]):
            window = est[idx, (k + 1) * spl - last : (k + 1) * spl]
            means = window.mean(1)
            rows.append(
                {
                    "bound": bound,
                    "truth": float(level),
                    "mean": float(means.mean()),
                    "seed_sd": float(means.std(ddof=1)) if len(idx) > 1 else 0.0,
                    "step_variance": float(window.var(1, ddof=1).mean()),
                    "seeds": len(idx),
                }
            )
    return rows
