r"""MINE: Mutual Information Neural Estimation (Belghazi et al., 2018, Algorithm 1).

.. math:: \widehat{I}(X;Z)_n = \sup_{\theta}\; \mathbb{E}_{P^{(n)}_{XZ}}[T_\theta]
          - \log \mathbb{E}_{P^{(n)}_X \otimes P^{(n)}_Z}[e^{T_\theta}].

The pairs are split three ways. Training maximises the bound on minibatches of the *training* split, the
product of marginals coming from re-pairing ``z`` within the batch, no pair left in place
(:func:`~minelib.derangement`). Every ``eval_every`` steps the bound is evaluated on the *validation* split, and
the network with the best value is kept. The estimate is that network's bound on the *test* split, which played
no part in training or in choosing the checkpoint: a training-set estimate is biased upwards (positive even at
zero MI), and so is the best of many validation values. Each coordinate is preprocessed first
(:mod:`minelib.preprocess`, fitted on the training split, in float64), so units do not matter; a
:class:`~minelib.MINEWarning` (:mod:`minelib.trust`) says when not to trust the estimate. The bound and its
gradient rule come from :data:`minelib.bounds.BOUNDS`: this class only trains a critic and evaluates it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from minelib._checks import ArrayLike, derived_seed, positive_int, seed_value, seeded, torch_generator
from minelib.bounds import MovingAverage, bound_value, derangement, get_bound
from minelib.config import MINEConfig
from minelib.nets import SeparableCritic, StatisticsNetwork
from minelib.preprocess import Prepared, checked_pair, fit_preprocess, prepare, split_rows
from minelib.train import TrainConfig, train_critic
from minelib.trust import column_problems, fit_problems, overflow_advice, replicate_problems, warn


class MINE(nn.Module):
    r"""A MINE estimator: a statistics network ``T`` (an ensemble of ``n_models``) trained on its bound.

    With several members, ``bound`` may name one bound per member; members sharing a bound are evaluated together.

    Parameters
    ----------
    x_dim, z_dim : int
        Coordinates of ``x`` and of ``z``: the columns the network expects.
    config : MINEConfig or None
        The settings to start from (``None``: the defaults of :class:`~minelib.MINEConfig`).
    **settings
        The critic's settings of :class:`~minelib.MINEConfig` (``bound``, ``n_models``, ``critic``, ``hidden``,
        ``activation``, ``embed_dim``, ``ema_rate``, ``tau``, ``preprocess``, ``device``, ``dtype``, ``seed``),
        replacing those of ``config``; the training settings go to :meth:`fit`.

    Attributes
    ----------
    T
        The statistics network of every member: :class:`~minelib.StatisticsNetwork` on :math:`[x, z]`
        (``critic="concat"``) or :class:`~minelib.SeparableCritic` (``critic="separable"``).
    config : ~minelib.MINEConfig
        Every setting; :meth:`fit` replaces the training ones.
    groups : dict
        Each bound's public name, mapped to the indices of its members.
    estimate_, stderr_, best_step_
        After :meth:`fit` (``None`` before): the kept network's bound on the test split in nats, its standard
        error, and the step kept; a number, or an array with one value per member.
    history : dict
        After :meth:`fit`: the batch bound at every step (``"train"``), the validation bound (``"val"``) at the
        steps ``"eval_step"``; a last axis per member when there are several.

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, Algorithm 1 and §3.2.
    """

    def __init__(self, x_dim: int, z_dim: int, config: MINEConfig | None = None, **settings):
        super().__init__()
        self.config = c = (config or MINEConfig()).for_critic(settings)
        with seeded(c.seed, torch.device("cpu")):  # the weights are drawn on the CPU, then moved
            self.T = (
                StatisticsNetwork(x_dim, z_dim, c.hidden, c.activation, c.n_models)
                if c.critic == "concat"
                else SeparableCritic(x_dim, z_dim, c.hidden, c.embed_dim, c.activation, c.n_models)
            )
        self.to(device=c.device, dtype=c.dtype)
        self.groups = {
            b: torch.tensor([i for i, n in enumerate(c.bounds) if n == b], device=c.device) for b in c.bounds
        }
        self._block: int | None = None  # InfoNCE's block of held-out rows: the training batch size
        self.average = MovingAverage(c.ema_rate)
        self._transforms = None
        self.history: dict[str, np.ndarray] = {}
        self.estimate_: float | np.ndarray | None = None
        self.stderr_: float | np.ndarray | None = None
        self.best_step_: int | np.ndarray | None = None

    @property
    def device(self) -> torch.device:
        return next(self.T.parameters()).device

    @property
    def n_models(self) -> int:
        return self.T.n_models

    # ----------------------------------------------------------------- data
    def _check(self, x, z) -> tuple[np.ndarray, np.ndarray]:
        """Validate; return float64 arrays ``(n, dim)`` or ``(n_models, n, dim)``."""
        x, z = checked_pair(x, z, max_ndim=3)
        for name, a, dim in (("x", x, self.T.x_dim), ("z", z, self.T.z_dim)):
            if a.shape[-1] != dim:
                raise ValueError(f"{name} has {a.shape[-1]} columns, the network expects {dim}")
            if a.ndim == 3 and a.shape[0] != self.n_models:
                raise ValueError(f"{name} has {a.shape[0]} ensemble members, the estimator has {self.n_models}")
        return x, z

    def _tensor(self, name: str, a: np.ndarray) -> torch.Tensor:
        """Preprocessed samples cast to the training dtype and device, ``(n_models, n, dim)``; finite after the cast."""
        t = torch.as_tensor(a).to(self.device, self.config.dtype)
        if not torch.isfinite(t).all():
            raise ValueError(overflow_advice(name, t.dtype, self.config.preprocess))
        return t.expand(self.n_models, *t.shape[-2:])

    def inputs(self, x: ArrayLike, z: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` and ``z`` (as in :meth:`fit`) as the network sees them, to evaluate ``self.T`` on your own samples:
        preprocessed with the transform fitted on the training split (before any fit, on these samples), cast to
        the network's dtype and device, ``(n_models, n, dim)`` tensors."""
        return self._inputs(*self._check(x, z))

    def _inputs(self, x: np.ndarray, z: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        kind = self.config.preprocess
        tx, tz = self._transforms or (fit_preprocess("x", kind, x), fit_preprocess("z", kind, z))
        return self._tensor("x", tx(x)), self._tensor("z", tz(z))

    # ---------------------------------------------------------- evaluation
    def _per_group(self, fn) -> tuple[torch.Tensor, ...]:
        """``fn(bound, rows)`` for every group of members sharing a bound, assembled into ``(n_models,)`` tensors."""
        out = None
        for name, rows in self.groups.items():
            parts = fn(get_bound(name), rows)
            out = out or tuple(torch.empty(self.n_models, device=self.device, dtype=p.dtype) for p in parts)
            for o, p in zip(out, parts):
                o[rows] = p
        return out

    def _critic(self, x: torch.Tensor, z: torch.Tensor, chunk: int = 2**16) -> torch.Tensor:
        rows = max(1, chunk // self.n_models)
        return torch.cat([self.T(x[:, i : i + rows], z[:, i : i + rows]) for i in range(0, x.shape[1], rows)], 1)

    @torch.no_grad()
    def _evaluate(self, x: torch.Tensor, z: torch.Tensor, n_shuffles: int, seed: int | None):
        """Each member's bound and standard error on these pairs, ``z`` re-paired ``n_shuffles`` times; multi-sample
        bounds average disjoint blocks of the training batch size (their cap :math:`\\ln b`)."""
        gen = torch_generator(seed, self.device)
        members = torch.arange(self.n_models, device=self.device).unsqueeze(-1)
        shuffled = [self._critic(x, z[members, derangement(z.shape[:2], gen, self.device)]) for _ in range(n_shuffles)]
        t_joint, t_marginal = self._critic(x, z), torch.cat(shuffled, 1)
        b, tau = self._block, self.config.tau

        def evaluate(bound, rows):
            if bound.multi_sample:
                blocks = range(0, x.shape[1] - b + 1, b)
                terms = torch.cat(
                    [bound.terms(self.T.scores(x[:, i : i + b], z[:, i : i + b])[rows]) for i in blocks], -1
                )
                return terms.mean(-1), terms.std(-1) / math.sqrt(terms.shape[-1])
            pair, options = (t_joint[rows], t_marginal[rows]), {"tau": tau} if "tau" in bound.options else {}
            return bound.value(*pair, **options), bound.stderr(*pair, **options)

        return self._per_group(evaluate)

    def estimate(
        self, x: ArrayLike, z: ArrayLike, *, n_shuffles: int = 10, seed: int | None = 0, batch_size: int | None = None
    ):
        r"""The bound of the network, as it is now, on these samples (preprocessed as in :meth:`fit`).

        Parameters
        ----------
        x, z : *array-like*
            As in :meth:`fit`, at least 2 samples (InfoNCE: at least ``batch_size``).
        n_shuffles, seed : int
            Random re-pairings of ``z`` behind the marginal term, and their seed (``None``: fresh).
        batch_size : int or None
            InfoNCE's block of rows, which sets its cap :math:`\ln b` (default: the batch size of :meth:`fit`).

        Returns
        -------
        float or *numpy.ndarray*
            The bound in nats: a float, or one value per ensemble member.
        """
        positive_int("n_shuffles", n_shuffles)
        seed = seed_value("seed", seed)
        x, z = self._check(x, z)
        if x.shape[-2] < 2:
            raise ValueError("estimate needs at least 2 samples to form shuffled pairs")
        if batch_size is not None:
            self._block = positive_int("batch_size", batch_size)
        if self.config.multi_sample:
            if self._block is None:
                raise ValueError("InfoNCE members need batch_size (the block size of the bound) before a fit")
            if x.shape[-2] < self._block:
                raise ValueError(f"InfoNCE needs at least batch_size={self._block} samples, got {x.shape[-2]}")
        values, _ = self._evaluate(*self._inputs(x, z), n_shuffles, seed)
        return self._to_output(values)

    def _to_output(self, values: torch.Tensor):
        values = values.double().cpu().numpy()
        return values[0].item() if self.n_models == 1 else values

    # ------------------------------------------------------------ training
    def fit(self, x: ArrayLike, z: ArrayLike, **settings) -> MINE:
        """Train on the pairs left after a random ``val_fraction`` and ``test_fraction`` are set aside; warn
        (:class:`~minelib.MINEWarning`) when the estimate should not be trusted.

        Parameters
        ----------
        x, z : *array-like*
            ``(n, dim)`` shared by all members or ``(n_models, n, dim)``; numpy arrays, torch tensors
            (detached), pandas objects or lists.
        **settings
            The training settings of :class:`~minelib.MINEConfig` (``steps``, ``batch_size``, ``lr``,
            ``val_fraction``, ``test_fraction``, ``checkpoint``, ``marginal``, ``eval_every``, ``n_shuffles``,
            ``progress``, and ``seed`` for the split and batches); they replace those of ``config``.

        Returns
        -------
        MINE
            ``self``, with ``estimate_``, ``stderr_``, ``best_step_`` and ``history`` set (see the class).
        """
        self.config = self.config.for_fit(settings)
        return self.fit_checked(*self._check(x, z))

    def fit_checked(self, x: np.ndarray, z: np.ndarray) -> MINE:
        """:meth:`fit` with ``self.config``, on ``float64`` pairs already validated by
        :func:`~minelib.preprocess.checked_pair` (what :func:`~minelib.estimate_mi` does: one validation a call)."""
        c = self.config
        n, least = x.shape[-2], c.batch_size if c.multi_sample else 2  # InfoNCE's held-out value needs a block
        seed = c.fit_seed if c.fit_seed is not None else derived_seed(c.seed, 1)
        rows = split_rows(n, c.val_fraction, c.test_fraction, seed)
        if min(len(rows["val"]), len(rows["test"])) < least or len(rows["train"]) < c.batch_size:
            raise ValueError(
                f"too few samples: {n} pairs give {len(rows['train'])} for training, {len(rows['val'])} for "
                f"validation and {len(rows['test'])} for the test; need batch_size={c.batch_size} for training and "
                f"at least {least} in each other split"
            )
        self.test_rows_ = rows["test"]  # the pairs the estimate is computed on (an independence test re-pairs them)
        return self._train(prepare(x, z, c.preprocess, rows=rows), seed)

    def _train(self, prepared: Prepared, seed: int | None) -> MINE:
        c = self.config
        self._transforms = prepared.transforms
        warn(column_problems(*prepared.train_raw, c.preprocess))
        data = {split: (self._tensor("x", a), self._tensor("z", b)) for split, (a, b) in prepared.splits.items()}
        self._block, self.average = c.batch_size, MovingAverage(c.ema_rate)
        fused = True if self.device.type in ("cpu", "cuda") else None  # one Adam kernel for all parameters
        config = TrainConfig(c.steps, c.lr, c.eval_every, c.checkpoint, fused, bool(c.progress), "MINE")
        step = self._step_value(*data["train"], torch_generator(seed, self.device))
        x_val, z_val = data["val"]
        log = train_critic(list(self.T.parameters()), step, config, lambda s: self._evaluate(x_val, z_val, 1, s)[0])
        squeeze = (lambda a: a[:, 0]) if self.n_models == 1 else (lambda a: a)
        self.history = {"train": squeeze(log.train), "eval_step": log.eval_step, "val": squeeze(log.val)}
        self.best_step_ = int(log.best_step[0]) if self.n_models == 1 else log.best_step
        values, se = self._evaluate(*data["test"], c.n_shuffles, seed=0)
        self.estimate_, self.stderr_ = self._to_output(values), self._to_output(se)
        caps = np.array([get_bound(b).limit(c.batch_size) for b in c.bounds])
        n_marginal = prepared.splits["test"][0].shape[-2] * c.n_shuffles
        values, se = values.double().cpu().numpy(), se.double().cpu().numpy()
        warn(fit_problems(log.train, log.val, values, se, n_marginal, caps, c.checkpoint, c.lr, log.best_step,
                          log.eval_step))  # fmt: skip
        if prepared.splits["test"][0].ndim == 2:  # shared data: members of one bound are seeds that should agree
            warn(replicate_problems(values, se, c.bounds, "ensemble members"))
        return self

    def _step_value(self, x_tr: torch.Tensor, z_tr: torch.Tensor, gen: torch.Generator):
        """The training step of :func:`~minelib.train.train_critic`: a minibatch of ``batch_size`` training pairs
        per member, its marginal samples (``z`` re-paired within the batch, or drawn independently), the critic's
        values and each member's training bound (its value, with its training gradient)."""
        c, E, n_train, dev = self.config, self.n_models, x_tr.shape[1], self.device
        b, members = c.batch_size, torch.arange(E, device=dev).unsqueeze(-1)

        def step_value(step: int) -> tuple[torch.Tensor, torch.Tensor]:
            idx = torch.randint(n_train, (E, b), generator=gen, device=dev)
            xb, zb = x_tr[members, idx], z_tr[members, idx]
            scores = None
            if c.multi_sample:  # every pair of the batch; the re-paired ones are b of them
                scores = self.T.scores(xb, zb)
                t_joint = scores.diagonal(dim1=-2, dim2=-1)
                t_marginal = scores[members, torch.arange(b, device=dev), derangement((E, b), gen, dev)]
            else:
                if c.marginal == "shuffle":
                    zm = zb[members, derangement((E, b), gen, dev)]  # z re-paired, none with its own x
                else:
                    zm = z_tr[members, torch.randint(n_train, (E, b), generator=gen, device=dev)]
                t = self.T(torch.cat([xb, xb], 1), torch.cat([zb, zm], 1))
                t_joint, t_marginal = t[:, :b], t[:, b:]
            (value,) = self._per_group(
                lambda bound, rows: (self._train_value(bound, rows, t_joint, t_marginal, scores),)
            )
            return value, value

        return step_value

    def _train_value(self, bound, rows, t_joint, t_marginal, scores) -> torch.Tensor:
        average = self.average if bound.moving_average else None
        return bound_value(bound, t_joint[rows], t_marginal[rows], scores=None if scores is None else scores[rows],
                           average=average, update=True, tau=self.config.tau)  # fmt: skip
