r"""MINE: Mutual Information Neural Estimation (Belghazi et al., 2018, Algorithm 1).

.. math:: \widehat{I}(X;Z)_n = \sup_{\theta}\; \mathbb{E}_{P^{(n)}_{XZ}}[T_\theta]
          - \log \mathbb{E}_{P^{(n)}_X \otimes P^{(n)}_Z}[e^{T_\theta}].

The pairs are split three ways. Training maximises the bound on minibatches of the *training* split;
samples of the product of marginals come from re-pairing ``z`` within the batch, no pair left in place
(:func:`~minelib.derangement`). Every ``eval_every``
steps the bound is evaluated on the *validation* split, and the network with the best validation value
is kept (early stopping). The reported estimate is the bound of that network on the *test* split, which
played no part in training or in choosing the checkpoint: a training-set estimate is biased upwards
(positive even at zero MI), and so is the best of many validation values.

Before training, each coordinate is preprocessed (:mod:`minelib.preprocess`, fitted on the training
split, in float64) and only then cast to the training dtype, so the estimate does not depend on the
data's units. A :class:`~minelib.MINEWarning` says when an estimate should not be trusted: heavy tails
without the copula, non-finite training values, a collapsing validation curve, a test estimate below
zero by more than its noise, or one above what the test split can certify (the log of its number of
re-paired pairs).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from minelib._checks import (
    ArrayLike,
    MINEWarning,
    as_samples,
    choice,
    device_value,
    in_open_interval,
    per_model,
    positive_int,
    same_rows,
    seed_value,
    torch_generator,
    widths,
)
from minelib.bounds import derangement, infonce, log_mean_exp
from minelib.ema import ema_log_mean_exp, update_log_ema
from minelib.nets import SeparableCritic, StatisticsNetwork
from minelib.preprocess import PREPROCESS, Transform, fit_preprocess, heavy_tailed_columns, offset_columns
from minelib.train import CHECKPOINTS, TrainConfig, train_critic

OBJECTIVES = ("dv", "f", "js", "smile", "infonce")
JS_TRAINED = ("js", "smile")  # trained on the Jensen-Shannon signal, reported as NWJ(T + 1) or clipped DV
GRADIENTS = ("biased", "ema")
MARGINALS = ("shuffle", "independent")
CRITICS = ("concat", "separable")


class MINE(nn.Module):
    r"""A MINE estimator: a statistics network, its objective and its gradient rule.

    ``objective``: ``"dv"`` (Donsker–Varadhan), ``"f"`` (MINE-f, the NWJ bound), ``"js"`` and ``"smile"``
    (trained on the Jensen–Shannon signal; reported as NWJ of :math:`T+1` and as DV with marginal scores
    clipped to ``[-tau, tau]``) or ``"infonce"`` (the multi-sample bound on the :math:`b \times b` score
    matrix of each batch; held-out values average disjoint blocks of ``batch_size`` rows, so the estimate
    never exceeds :math:`\ln b`). ``gradient``: ``"ema"`` (the moving
    average of :math:`\mathbb{E}_B[e^T]` enters the gradient, rate ``ema_rate``) or ``"biased"`` (plain
    minibatch gradient); it only matters for ``"dv"``: the f-bound's minibatch gradient is unbiased.
    ``critic``: ``"concat"`` (:class:`~minelib.StatisticsNetwork` on :math:`[x, z]`, the paper's) or
    ``"separable"`` (:class:`~minelib.SeparableCritic`, :math:`g(x)^\top h(z)` with ``embed_dim``
    coordinates); InfoNCE scores :math:`b^2` pairs a step, which only the separable critic makes cheap.
    ``preprocess``: ``"standardize"`` (default), ``"copula"`` or ``"none"`` (:mod:`minelib.preprocess`),
    fitted on the training split. With ``n_models > 1`` the estimator is an ensemble of independent
    networks trained in one batched pass; ``objective`` and ``gradient`` may then be given per member.

    References
    ----------
    M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, Algorithm 1 and §3.2.
    """

    def __init__(
        self,
        x_dim: int,
        z_dim: int,
        *,
        objective: str | Sequence[str] = "dv",
        gradient: str | Sequence[str] = "ema",
        ema_rate: float = 0.01,
        tau: float = 5.0,
        hidden: Sequence[int] = (128, 128),
        activation: str = "elu",
        critic: str = "concat",
        embed_dim: int = 32,
        preprocess: str = "standardize",
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
        self.tau = in_open_interval("tau", tau, 0.0, np.inf)
        self.preprocess = choice("preprocess", preprocess, PREPROCESS)
        self.critic = choice("critic", critic, CRITICS)
        embed_dim = positive_int("embed_dim", embed_dim)
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.seed = seed_value("seed", seed)
        device = device_value("device", device)
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            hidden = widths("hidden", hidden)
            self.T = (
                StatisticsNetwork(x_dim, z_dim, hidden, activation, n_models)
                if critic == "concat"
                else SeparableCritic(x_dim, z_dim, hidden, embed_dim, activation, n_models)
            )
        self.to(device=device, dtype=dtype)
        is_f = [o == "f" for o in self.objectives]
        is_ema = [g == "ema" and o == "dv" for o, g in zip(self.objectives, self.gradients)]
        self._any_f, self._any_ema = any(is_f), any(is_ema)
        self.register_buffer("_is_f", torch.tensor(is_f, device=self.device))
        self.register_buffer("_is_ema", torch.tensor(is_ema, device=self.device))
        is_js, is_smile = [o == "js" for o in self.objectives], [o == "smile" for o in self.objectives]
        self._any_js_trained = any(is_js) or any(is_smile)
        self.register_buffer("_is_js", torch.tensor(is_js, device=self.device))
        self.register_buffer("_is_smile", torch.tensor(is_smile, device=self.device))
        is_infonce = [o == "infonce" for o in self.objectives]
        self._any_infonce = any(is_infonce)
        self.register_buffer("_is_infonce", torch.tensor(is_infonce, device=self.device))
        self._block: int | None = None  # InfoNCE's block of held-out rows: the training batch size
        self.log_ma: torch.Tensor | None = None
        self._transforms: tuple[Transform, Transform] | None = None
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
        x, z = as_samples("x", x, max_ndim=3), as_samples("z", z, max_ndim=3)
        same_rows(x, z)
        for name, a, dim in (("x", x, self.T.x_dim), ("z", z, self.T.z_dim)):
            if a.shape[-1] != dim:
                raise ValueError(f"{name} has {a.shape[-1]} columns, the network expects {dim}")
            if a.ndim == 3 and a.shape[0] != self.n_models:
                raise ValueError(f"{name} has {a.shape[0]} ensemble members, the estimator has {self.n_models}")
        return x, z

    def _tensor(self, name: str, a: np.ndarray) -> torch.Tensor:
        """Preprocessed samples cast to the training dtype and device, ``(n_models, n, dim)``; finite after the cast."""
        t = torch.as_tensor(a).to(self.device, next(self.T.parameters()).dtype)
        if not torch.isfinite(t).all():
            raise ValueError(
                f"{name} overflows {t.dtype} after preprocess={self.preprocess!r}: use preprocess='standardize' "
                "or 'copula', or dtype=torch.float64"
            )
        return t.expand(self.n_models, *t.shape[-2:])

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

    def _js_trained_values(self, t_joint: torch.Tensor, t_marginal: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """Members trained on the JS signal report NWJ of ``T + 1`` (``"js"``) or DV with marginal scores
        clipped to ``[-tau, tau]`` (``"smile"``): :func:`minelib.bounds.js` and :func:`minelib.bounds.smile`."""
        masked = torch.where(self._is_js.unsqueeze(-1), t_marginal, torch.zeros_like(t_marginal))  # no overflow
        nwj_shifted = t_joint.mean(-1) + 1 - torch.exp(masked).mean(-1)
        smile = t_joint.mean(-1) - log_mean_exp(torch.clamp(t_marginal, -self.tau, self.tau))
        return torch.where(self._is_js, nwj_shifted, torch.where(self._is_smile, smile, value))

    def bound(
        self, t_joint: torch.Tensor, t_marginal: torch.Tensor, scores: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Each member's own bound (DV, f, JS's NWJ value, SMILE) from critic values ``(n_models, n)``;
        InfoNCE members need the batch's ``scores`` ``(n_models, n, n)``."""
        return self._with_infonce(self._pair_bound(t_joint, t_marginal), scores)

    def _pair_bound(self, t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
        value = t_joint.mean(-1) - self._second_term(t_marginal)
        return self._js_trained_values(t_joint, t_marginal, value) if self._any_js_trained else value

    def training_bound(
        self, t_joint: torch.Tensor, t_marginal: torch.Tensor, scores: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The batch bound whose gradient is each member's training gradient (MINE's for DV and f, the
        Jensen–Shannon one for ``"js"`` and ``"smile"``, InfoNCE's own); advances the moving average."""
        value = t_joint.mean(-1) - self._second_term(t_marginal, training=True)
        if self._any_js_trained:
            sp = nn.functional.softplus
            signal = -sp(-t_joint).mean(-1) - sp(t_marginal).mean(-1)
            reported = self._js_trained_values(t_joint, t_marginal, value)
            value = torch.where(self._is_js | self._is_smile, signal + (reported - signal).detach(), value)
        return self._with_infonce(value, scores)

    def _with_infonce(self, value: torch.Tensor, scores: torch.Tensor | None) -> torch.Tensor:
        if not self._any_infonce:
            return value
        if scores is None:
            raise ValueError("InfoNCE members need the batch's score matrix: pass scores=critic.scores(x, z)")
        return torch.where(self._is_infonce, infonce(scores), value)

    def _stderr(self, t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
        r"""Delta-method standard error of :meth:`bound`:
        :math:`\sqrt{\mathrm{Var}(T_P)/n + \mathrm{Var}(w)/(n\,\bar w^2)}` with :math:`w = e^{T_Q}` (DV), or
        :math:`\mathrm{Var}(e^{T_Q-1})/n` as the second term (f). The marginal
        values count as ``n`` (not ``n * n_shuffles``): the shuffles re-use the same points."""
        n = t_joint.shape[-1]
        if self._any_js_trained:  # SMILE's second term sees clipped scores; JS's is NWJ's of T + 1
            t_marginal = torch.where(self._is_smile.unsqueeze(-1), t_marginal.clamp(-self.tau, self.tau), t_marginal)
        w = torch.exp(t_marginal - t_marginal.max(-1, keepdim=True).values)
        dv = w.var(-1) / w.mean(-1) ** 2
        f_like = self._is_f | self._is_js
        shift = torch.where(self._is_js, 0.0, -1.0).unsqueeze(-1)
        f = torch.exp(torch.where(f_like.unsqueeze(-1), t_marginal, torch.zeros_like(t_marginal)) + shift).var(-1)
        return torch.sqrt((t_joint.var(-1) + torch.where(f_like, f, dv)) / n)

    def _critic(self, x: torch.Tensor, z: torch.Tensor, chunk: int = 2**16) -> torch.Tensor:
        rows = max(1, chunk // self.n_models)
        return torch.cat([self.T(x[:, i : i + rows], z[:, i : i + rows]) for i in range(0, x.shape[1], rows)], 1)

    # -------------------------------------------------------------- public
    def estimate(
        self, x: ArrayLike, z: ArrayLike, *, n_shuffles: int = 10, seed: int | None = 0, batch_size: int | None = None
    ):
        r"""The bound on the given samples: :math:`\hat{\mathbb{E}}[T]` over the pairs, and the marginal
        term over ``n_shuffles`` random re-pairings of ``z``. A float, or one value per ensemble member.
        InfoNCE members average their bound over disjoint blocks of ``batch_size`` rows (default: the
        batch size of :meth:`fit`), the block size that sets their cap :math:`\ln b`.

        The samples are preprocessed as in :meth:`fit` (with the transform fitted on the training split;
        before any fit, on these samples)."""
        positive_int("n_shuffles", n_shuffles)
        seed = seed_value("seed", seed)
        x, z = self._check(x, z)
        if x.shape[-2] < 2:
            raise ValueError("estimate needs at least 2 samples to form shuffled pairs")
        if batch_size is not None:
            self._block = positive_int("batch_size", batch_size)
        if self._any_infonce:
            if self._block is None:
                raise ValueError("InfoNCE members need batch_size (the block size of the bound) before a fit")
            if x.shape[-2] < self._block:
                raise ValueError(f"InfoNCE needs at least batch_size={self._block} samples, got {x.shape[-2]}")
        values, _ = self._estimate(*self._inputs(x, z), n_shuffles, seed)
        return self._to_output(values)

    def inputs(self, x: ArrayLike, z: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` and ``z`` as the network sees them: preprocessed with the transform fitted on the training split
        (before any fit, on these samples), cast to the network's dtype and device, ``(n_models, n, dim)``.
        Use it to evaluate ``self.T`` on your own samples."""
        return self._inputs(*self._check(x, z))

    def _inputs(self, x: np.ndarray, z: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        tx, tz = self._transforms or (fit_preprocess("x", self.preprocess, x), fit_preprocess("z", self.preprocess, z))
        return self._tensor("x", tx(x)), self._tensor("z", tz(z))

    @torch.no_grad()
    def _estimate(
        self, x: torch.Tensor, z: torch.Tensor, n_shuffles: int, seed: int | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch_generator(seed, self.device)
        members = torch.arange(self.n_models, device=self.device).unsqueeze(-1)
        shuffled = [self._critic(x, z[members, derangement(z.shape[:2], gen, self.device)]) for _ in range(n_shuffles)]
        t_joint, t_marginal = self._critic(x, z), torch.cat(shuffled, 1)
        values, se = self._pair_bound(t_joint, t_marginal), self._stderr(t_joint, t_marginal)
        if self._any_infonce:
            terms = self._infonce_terms(x, z)
            values = torch.where(self._is_infonce, terms.mean(-1), values)
            se = torch.where(self._is_infonce, terms.std(-1) / math.sqrt(terms.shape[-1]), se)
        return values, se

    def _infonce_terms(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r"""Per-row InfoNCE terms :math:`T(x_i,z_i) - \ln\frac1b\sum_j e^{T(x_i,z_j)}` over the disjoint
        blocks of ``self._block`` rows (the rest is left out): ``(n_models, blocks * b)``; their mean is the
        bound and their spread its standard error (rows of a block are treated as independent)."""
        b = self._block
        blocks = [self.T.scores(x[:, i : i + b], z[:, i : i + b]) for i in range(0, x.shape[1] - b + 1, b)]
        return torch.cat([s.diagonal(dim1=-2, dim2=-1) - log_mean_exp(s) for s in blocks], -1)

    def _to_output(self, values: torch.Tensor):
        values = values.double().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
        return values[0].item() if self.n_models == 1 else values

    def fit(
        self,
        x: ArrayLike,
        z: ArrayLike,
        *,
        steps: int = 2000,
        batch_size: int = 256,
        lr: float = 1e-3,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        checkpoint: str = "best",
        marginal: str = "shuffle",
        eval_every: int = 100,
        n_shuffles: int = 10,
        progress: bool = False,
        seed: int | None = None,
    ) -> MINE:
        """Train on the pairs left after a random ``val_fraction`` and ``test_fraction`` are set aside.

        ``x``, ``z``: ``(n, dim)`` shared by all members or ``(n_models, n, dim)``; numpy arrays, torch
        tensors (detached), pandas objects or lists. Every ``eval_every`` steps the bound is evaluated on the
        validation split; ``checkpoint="best"`` keeps each member's network at its best validation value
        (``"last"``: the final network). After the call, ``estimate_`` holds the bound of the kept network
        on the test split (float, or array per member), ``stderr_`` its standard error, ``best_step_`` the
        step kept, and ``history`` the batch bound at every step (``"train"``) and the validation bound
        (``"val"``, at ``"eval_step"``). Warns (:class:`~minelib.MINEWarning`) when the estimate should not
        be trusted.
        """
        steps, batch_size = positive_int("steps", steps), positive_int("batch_size", batch_size)
        marginal, checkpoint = choice("marginal", marginal, MARGINALS), choice("checkpoint", checkpoint, CHECKPOINTS)
        config = TrainConfig(
            steps,
            in_open_interval("lr", lr, 0.0, np.inf),
            positive_int("eval_every", eval_every),
            checkpoint,
            fused=True if self.device.type in ("cpu", "cuda") else None,  # one Adam kernel for all parameters
            progress=bool(progress),
            desc="MINE",
        )
        positive_int("n_shuffles", n_shuffles)
        in_open_interval("val_fraction", val_fraction, 0.0, 1.0)
        in_open_interval("test_fraction", test_fraction, 0.0, 1.0)
        seed = seed_value("seed", seed)
        if val_fraction + test_fraction >= 1:
            raise ValueError(f"val_fraction + test_fraction must be below 1, got {val_fraction} + {test_fraction}")
        if self._any_infonce and marginal != "shuffle":
            raise ValueError("InfoNCE scores each batch against itself: it needs marginal='shuffle'")
        x, z = self._check(x, z)
        n = x.shape[-2]
        n_val, n_test = int(round(n * val_fraction)), int(round(n * test_fraction))
        n_train = n - n_val - n_test
        least = batch_size if self._any_infonce else 2  # InfoNCE's held-out value needs a whole block
        if min(n_val, n_test) < least or n_train < batch_size:
            raise ValueError(
                f"too few samples: {n} pairs give {n_train} for training, {n_val} for validation and {n_test} "
                f"for the test; need batch_size={batch_size} for training and at least {least} in each other split"
            )
        split_seed = seed if seed is not None else None if self.seed is None else self.seed + 1
        order = np.random.default_rng(split_seed).permutation(n)
        splits = {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
        train_x, train_z = x[..., splits["train"], :], z[..., splits["train"], :]
        self._transforms = (
            fit_preprocess("x", self.preprocess, train_x),
            fit_preprocess("z", self.preprocess, train_z),
        )
        self._warn_columns(train_x, train_z)
        data = {
            split: (
                self._tensor("x", self._transforms[0](x[..., rows, :])),
                self._tensor("z", self._transforms[1](z[..., rows, :])),
            )
            for split, rows in splits.items()
        }
        self._checkpoint, self._block, self.log_ma = checkpoint, batch_size, None
        gen = torch_generator(split_seed, self.device)
        step_value = self._step_value(*data["train"], batch_size, marginal, gen)
        x_val, z_val = data["val"]
        log = train_critic(
            list(self.T.parameters()), step_value, config, lambda step: self._estimate(x_val, z_val, 1, seed=step)[0]
        )
        squeeze = (lambda a: a[:, 0]) if self.n_models == 1 else (lambda a: a)
        self.history = {"train": squeeze(log.train), "eval_step": log.eval_step, "val": squeeze(log.val)}
        self.best_step_ = int(log.best_step[0]) if self.n_models == 1 else log.best_step
        values, se = self._estimate(*data["test"], n_shuffles, seed=0)
        self.estimate_, self.stderr_ = self._to_output(values), self._to_output(se)
        self._warn_after_fit(values.double().cpu().numpy(), se.double().cpu().numpy(), len(splits["test"]) * n_shuffles)
        return self

    def _step_value(self, x_tr: torch.Tensor, z_tr: torch.Tensor, b: int, marginal: str, gen: torch.Generator):
        """The training step of :func:`~minelib.train.train_critic`: a minibatch of ``b`` training pairs per
        member, its marginal samples (``z`` shuffled along the batch, or drawn independently), the critic's
        values and each member's training bound."""
        E, n_train, dev = self.n_models, x_tr.shape[1], self.device
        members = torch.arange(E, device=dev).unsqueeze(-1)

        def step_value(step: int) -> tuple[torch.Tensor, torch.Tensor]:
            idx = torch.randint(n_train, (E, b), generator=gen, device=dev)
            xb, zb = x_tr[members, idx], z_tr[members, idx]
            if self._any_infonce:  # every pair of the batch; the shuffled pairs are b of them
                scores = self.T.scores(xb, zb)
                t_marginal = scores[members, torch.arange(b, device=dev), derangement((E, b), gen, dev)]
                value = self.training_bound(scores.diagonal(dim1=-2, dim2=-1), t_marginal, scores)
                return value, value
            if marginal == "shuffle":
                zm = zb[members, derangement((E, b), gen, dev)]  # z re-paired, none with its own x
            else:
                zm = z_tr[members, torch.randint(n_train, (E, b), generator=gen, device=dev)]
            t = self.T(torch.cat([xb, xb], 1), torch.cat([zb, zm], 1))
            value = self.training_bound(t[:, :b], t[:, b:])
            return value, value

        return step_value

    # ------------------------------------------------------------- warnings
    def _members(self, bad: np.ndarray) -> str:
        return "" if self.n_models == 1 else f" (ensemble members {np.flatnonzero(bad).tolist()})"

    def _warn_columns(self, x: np.ndarray, z: np.ndarray) -> None:
        """Before training: heavy tails (unless the copula is used) and, without preprocessing, large offsets."""
        checks = []
        if self.preprocess != "copula":
            checks.append(
                (
                    heavy_tailed_columns,
                    "is heavy-tailed (kurtosis {:.0f}; a Gaussian has 3): MINE's critic sees rare huge values and "
                    "its estimate can be far off. preprocess='copula' maps each coordinate to normal scores of its "
                    "ranks, which leaves the MI unchanged.",
                )
            )
        if self.preprocess == "none":
            checks.append(
                (
                    offset_columns,
                    "sits {:.0e} standard deviations from zero: the network sees nearly the same large input for "
                    "every sample (and float32 keeps few of its digits), so it can learn nothing. Use "
                    "preprocess='standardize'.",
                )
            )
        for check, message in checks:
            for name, a in (("x", x), ("z", z)):
                found = check(a)
                if found:
                    warnings.warn(f"{name} column {found[0]} " + message.format(found[1]), MINEWarning, stacklevel=3)

    def _warn_after_fit(self, values: np.ndarray, se: np.ndarray, n_marginal: int) -> None:
        val = np.atleast_2d(self.history["val"].T).reshape(self.n_models, -1)
        train = self.history["train"].reshape(len(self.history["train"]), -1)
        problems = []
        nonfinite = ~np.isfinite(train).all(0) | ~np.isfinite(values)
        if nonfinite.any():
            problems.append(
                f"training produced non-finite values{self._members(nonfinite)}: the network diverged "
                "(lower lr, or preprocess the data)"
            )
        best, last = np.nanmax(np.where(np.isfinite(val), val, np.nan), 1, initial=-np.inf), val[:, -1]
        collapsed = np.isfinite(best) & ~(last >= np.minimum(best - 1.0, -1.0))
        if collapsed.any():
            problems.append(
                f"the validation bound collapsed from {best[collapsed].min():.3g} to {np.nanmin(last[collapsed]):.3g} "
                f"nats{self._members(collapsed)}: training is unstable (learning rate too high?)"
                + ("; the estimate comes from the best checkpoint" if self._checkpoint == "best" else "")
            )
        negative = np.isfinite(values) & ((values < -(0.05 + 3 * se)) | (values < -1))
        if negative.any():
            problems.append(
                f"the test estimate {values[negative].min():.3g} nats is below zero by more than its noise "
                f"(or by more than 1 nat){self._members(negative)}: MI is never negative and a constant critic "
                "scores 0, so this critic is broken (diverged training, unscaled or heavy-tailed data)"
            )
        # A sample estimate above ln(number of marginal pairs) says only that the critic separates the test's
        # joint pairs from its re-paired ones: the log-mean-exp of e^T then misses the rare re-paired pairs that
        # would pull it down, and can grow without bound (no estimator certifies more than about ln N from N
        # samples: McAllester & Stratos, 2020). InfoNCE members have their own, lower cap (below).
        ceiling = math.log(n_marginal)
        beyond = np.isfinite(values) & (values > ceiling) & ~self._is_infonce.cpu().numpy()
        if beyond.any():
            problems.append(
                f"the test estimate {values[beyond].max():.3g} nats exceeds ln(number of re-paired test pairs) = "
                f"{ceiling:.3g}{self._members(beyond)}: the critic separates the joint from the re-paired test "
                "pairs, and from this many samples no estimate above that can be trusted (the true MI may be "
                "lower or higher); use more test pairs (test_fraction, n_shuffles) or report it as 'at least "
                "about' that value"
            )
        if self._any_infonce:
            cap = math.log(self._block)
            capped = self._is_infonce.cpu().numpy() & np.isfinite(values) & (values > cap - 0.5)
            if capped.any():
                problems.append(
                    f"the InfoNCE estimate {values[capped].max():.3g} nats is near its cap ln(batch_size) = "
                    f"{cap:.3g}{self._members(capped)}: InfoNCE never exceeds ln b, so the MI may be much larger "
                    "(raise batch_size, or use a bound without a cap such as 'smile')"
                )
        for problem in problems:
            warnings.warn(problem, MINEWarning, stacklevel=3)
