"""The settings of one MINE estimation, in one frozen, validated dataclass: :class:`MINEConfig`.

:class:`~minelib.MINE` takes the critic's settings (``MINE(x_dim, z_dim, hidden=..., bound=...)``) and
:meth:`~minelib.MINE.fit` the training settings (``fit(x, z, steps=..., batch_size=...)``);
:func:`~minelib.estimate_mi` and :func:`~minelib.estimate_many` take both as keywords. Every value is checked
once, when the config is built, with a message that names the setting.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from minelib._checks import choice, device_value, flag, in_open_interval, per_model, positive_int, seed_value, widths
from minelib.bounds import NAMES, get_bound
from minelib.preprocess import PREPROCESS
from minelib.train import CHECKPOINTS

MARGINALS = ("shuffle", "independent")
CRITICS = ("concat", "separable")

# Arguments of minelib 0.1 and what replaced them (a call that uses one fails with this advice).
REMOVED = {
    "objective": "bound= ('mine', 'dv', 'nwj', 'js', 'smile', 'infonce'; 'f' is now 'nwj')",
    "gradient": "bound= ('mine' is DV with the moving-average gradient, 'dv' the plain minibatch gradient)",
}


def refuse_removed(settings: dict, where: str) -> None:
    """A ``TypeError`` naming the replacement of an argument removed in minelib 0.2.0."""
    for name in REMOVED.keys() & settings.keys():
        raise TypeError(f"{where} no longer takes {name}= (removed in minelib 0.2.0): use {REMOVED[name]}")


@dataclass(frozen=True)
class MINEConfig:
    r"""Every setting of a MINE estimate. The critic's (the first group) go to :class:`~minelib.MINE`, the
    training's (the second) to :meth:`~minelib.MINE.fit`; :func:`~minelib.estimate_mi` takes both.

    Parameters
    ----------
    bound : str or *sequence* of str
        The estimator (:data:`minelib.bounds.BOUNDS`): ``"mine"`` (DV bound, moving-average gradient),
        ``"dv"`` (alias ``"mine-biased"``: plain gradient), ``"nwj"`` (alias ``"mine-f"``), ``"js"``,
        ``"smile"``, ``"gan-dime"``, ``"infonce"``; one per ensemble member, or one for all.
    n_models : int or None
        Members of the ensemble, trained side by side in one batched pass (default: the number of bounds given).
    critic : str
        :class:`~minelib.StatisticsNetwork` on :math:`[x, z]` (the paper's) or :class:`~minelib.SeparableCritic`
        :math:`g(x)^\top h(z)` with ``embed_dim`` coordinates (cheap :math:`b \times b` scores for InfoNCE).
    hidden, activation, embed_dim
        Hidden widths, activation (``"elu"``, ``"relu"``, ``"tanh"``, ``"softplus"``), separable embedding size.
    ema_rate : float
        Rate :math:`\alpha` of the moving average in MINE's gradient, in (0, 1).
    tau : float
        SMILE's clipping of the marginal scores to :math:`[-\tau, \tau]`.
    preprocess : str
        Applied to each coordinate, fitted on the training split (:mod:`minelib.preprocess`).
    device, dtype, seed
        Where and in which float type the critic trains; ``seed`` its initial weights (``None``: fresh).
    steps, batch_size, lr
        Adam steps, pairs per step, learning rate.
    val_fraction, test_fraction : float
        Pairs set aside to choose the checkpoint and to report the estimate; their sum is below 1.
    checkpoint : str
        Keep each member's network at its best validation value, or the last one.
    marginal : str
        Product-of-marginals pairs: ``z`` re-paired within the batch (no pair in place), or drawn independently.
    eval_every, n_shuffles : int
        Validation period; re-pairings of the test split behind the marginal term.
    progress : bool
        A tqdm bar.
    fit_seed : int or None
        The split and the batches (``fit(seed=...)``; default ``seed + 1``, fresh when ``seed`` is ``None``).

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, Algorithm 1 and §3.2.
    """

    bound: str | Sequence[str] = "mine"
    n_models: int | None = None
    critic: str = "concat"
    hidden: Sequence[int] = (128, 128)
    activation: str = "elu"
    embed_dim: int = 32
    ema_rate: float = 0.01
    tau: float = 5.0
    preprocess: str = "standardize"
    device: str | torch.device | None = None
    dtype: torch.dtype = torch.float32
    seed: int | None = None

    steps: int = 2000
    batch_size: int = 256
    lr: float = 1e-3
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    checkpoint: str = "best"
    marginal: str = "shuffle"
    eval_every: int = 100
    n_shuffles: int = 10
    progress: bool = False
    fit_seed: int | None = None

    def __post_init__(self):
        self._set("n_models", positive_int("n_models", self._members()))
        per_model("bound", self.bound, NAMES, self.n_models)
        self._set("bound", self.bound if isinstance(self.bound, str) else tuple(self.bound))
        self._set("critic", choice("critic", self.critic, CRITICS))
        self._set("hidden", widths("hidden", self.hidden))
        positive_int("embed_dim", self.embed_dim)
        in_open_interval("ema_rate", self.ema_rate, 0.0, 1.0)
        self._set("tau", in_open_interval("tau", self.tau, 0.0, math.inf))
        choice("preprocess", self.preprocess, PREPROCESS)
        if self.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {self.dtype}")
        seed_value("seed", self.seed)
        self._set("device", device_value("device", self.device))
        self._check_training()

    def _members(self) -> int:
        if self.n_models is not None:
            return self.n_models
        return 1 if isinstance(self.bound, str) or not isinstance(self.bound, Sequence) else len(self.bound)

    def _check_training(self) -> None:
        positive_int("steps", self.steps)
        if positive_int("batch_size", self.batch_size) < 2:
            raise ValueError(
                f"batch_size must be at least 2, got {self.batch_size}: each batch is re-paired (every x with another "
                "pair's z) to form samples of the product of marginals"
            )
        in_open_interval("lr", self.lr, 0.0, math.inf)
        in_open_interval("val_fraction", self.val_fraction, 0.0, 1.0)
        in_open_interval("test_fraction", self.test_fraction, 0.0, 1.0)
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"val_fraction + test_fraction must be below 1, got {self.val_fraction} + {self.test_fraction}"
            )
        choice("checkpoint", self.checkpoint, CHECKPOINTS)
        choice("marginal", self.marginal, MARGINALS)
        if self.multi_sample and self.marginal != "shuffle":
            raise ValueError("InfoNCE scores each batch against itself: it needs marginal='shuffle'")
        positive_int("eval_every", self.eval_every)
        positive_int("n_shuffles", self.n_shuffles)
        flag("progress", self.progress)
        seed_value("seed", self.fit_seed)

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    @property
    def bounds(self) -> tuple[str, ...]:
        """Each member's bound, by its public name (aliases resolved)."""
        names = [self.bound] * self.n_models if isinstance(self.bound, str) else self.bound
        return tuple(get_bound(b).name for b in names)

    @property
    def multi_sample(self) -> bool:
        """Whether any member's bound scores whole batches (InfoNCE)."""
        return any(get_bound(b).multi_sample for b in self.bounds)

    def for_critic(self, settings: dict) -> MINEConfig:
        """A copy with the critic's ``settings`` (what ``MINE(...)`` takes): a training setting is refused."""
        refuse_removed(settings, "MINE")
        _only(settings, CRITIC_FIELDS, "MINE(...)", "fit(...)")
        return self.replace(**settings)

    def for_fit(self, settings: dict) -> MINEConfig:
        """A copy with the training ``settings`` (what ``fit(...)`` takes; its ``seed`` is ``fit_seed``)."""
        refuse_removed(settings, "fit")
        settings = {("fit_seed" if k == "seed" else k): v for k, v in settings.items()}
        _only(settings, FIT_FIELDS, "fit(...)", "MINE(...)")
        return self.replace(**settings)

    def replace(self, **settings) -> MINEConfig:
        """A copy with ``settings`` changed (validated again); unknown names are refused with the known ones."""
        unknown = settings.keys() - FIELDS
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}; MINE's settings are {sorted(FIELDS)}")
        if not isinstance(settings.get("bound", ""), str) and "n_models" not in settings:
            settings["n_models"] = None  # as many members as bounds given
        return dataclasses.replace(self, **settings)


FIELDS = frozenset(f.name for f in dataclasses.fields(MINEConfig))
FIT_FIELDS = frozenset(
    ("steps", "batch_size", "lr", "val_fraction", "test_fraction", "checkpoint", "marginal", "eval_every")
    + ("n_shuffles", "progress", "fit_seed")
)
CRITIC_FIELDS = FIELDS - FIT_FIELDS


def _only(settings: dict, allowed: frozenset, here: str, there: str) -> None:
    unknown = settings.keys() - FIELDS
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)} in {here}; allowed: {sorted(allowed)}")
    elsewhere = settings.keys() - allowed
    if elsewhere:
        raise TypeError(f"{sorted(elsewhere)} cannot be set in {here}: pass them to {there} (see MINEConfig)")
