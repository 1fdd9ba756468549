r"""The information bottleneck with MINE (paper §5.3): a classifier whose representation forgets its input.

An encoder maps an image :math:`x` to a representation :math:`Z`, a linear decoder predicts the label
:math:`Y` from :math:`Z`, and both minimise

.. math:: \underbrace{\mathbb{E}[-\log q(y \mid z)]}_{\text{cross-entropy} \;\ge\; H(Y \mid Z)}
          + \beta\, I(X; Z).

Three methods (``IBConfig.method``):

* ``"baseline"``: a deterministic encoder, :math:`z = \mu(x)`, trained on the cross-entropy alone;
* ``"vib"``: deep VIB. :math:`Z \sim \mathcal{N}(\mu(x), \operatorname{diag}\sigma(x)^2)` and :math:`I(X;Z)` is
  replaced by its variational upper bound :math:`\mathbb{E}_x\,\mathrm{KL}(\mathcal{N}(\mu, \sigma^2) \,\|\,
  \mathcal{N}(0, I))` (:func:`kl_to_standard_normal`);
* ``"mine"``: the same stochastic encoder, :math:`I(X;Z)` estimated by MINE (:class:`~minelib.MITerm`). Its
  statistics network ascends the DV bound on detached :math:`(x, z)` with **its own** optimiser; the encoder
  descends :math:`\beta\hat I(X;Z)` with the critic held fixed. One shared optimiser would do the opposite:
  it would train the critic to *lower* its own bound and never penalise the encoder.

Every epoch goes into the *information plane* (``IBRun.history``): a lower bound on :math:`I(X;Z)` from
a monitoring MINE critic (the same for all three methods, so they are comparable; it never touches the
encoder's gradients) and the lower bound :math:`I(Z;Y) \ge H(Y) - \text{cross-entropy}`.

The protocol is deep VIB's, which the paper follows: encoder 784–1024–1024–2·256 (ReLU),
:math:`\sigma = \operatorname{softplus}(\text{raw} - 5)`, decoder one linear layer to 10 logits, Adam (lr
1e-4, :math:`\beta_1 = 0.5`) decayed by 0.97 every 2 epochs, batches of 100, :math:`\beta = 10^{-3}`, Polyak
averaging (decay 0.999) of the weights for evaluation, the softmax averaged over 12 draws of :math:`z` at test
time. The paper trains on 60,000 digits; errors on the 8,000-digit offline subset are higher and not
comparable with its table.

References
----------
M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, §5.3.
A. A. Alemi, I. Fischer, J. V. Dillon, K. Murphy, "Deep Variational Information Bottleneck", ICLR 2017.
N. Tishby, F. C. Pereira, W. Bialek, "The information bottleneck method", 1999.
D. McAllester, K. Stratos, "Formal limitations on the measurement of mutual information", AISTATS 2020.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import torch
from torch import nn
from tqdm.auto import trange

from minelib._checks import (
    choice,
    derived_seed,
    device_value,
    in_interval,
    in_open_interval,
    non_negative,
    positive_int,
    seed_value,
    seeded,
    torch_generator,
    widths,
)
from minelib.mi_term import MITerm
from minelib.mnist import MNIST
from minelib.nets import StatisticsNetwork, mlp

METHODS = ("baseline", "vib", "mine")
IN_DIM, N_CLASSES = 784, 10


class StochasticEncoder(nn.Module):
    """An MLP (ReLU) from ``in_dim`` pixels to the mean and scale of :math:`Z`, each of size ``z_dim``."""

    def __init__(self, in_dim: int = IN_DIM, hidden: Sequence[int] = (1024, 1024), z_dim: int = 256):
        super().__init__()
        self.in_dim, self.z_dim = positive_int("in_dim", in_dim), positive_int("z_dim", z_dim)
        self.net = mlp([in_dim, *widths("hidden", hidden), 2 * z_dim])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, sigma)``, each ``(n, z_dim)``; :math:`\\sigma = \\operatorname{softplus}(\\text{raw} - 5)`
        starts near 0.007, so training begins almost deterministic (deep VIB's choice)."""
        mu, raw = self.net(x).chunk(2, dim=-1)
        return mu, nn.functional.softplus(raw - 5.0)

    def sample(self, x: torch.Tensor, k: int | None = None, *, generator: torch.Generator | None = None):
        """Reparameterised draws :math:`z = \\mu(x) + \\sigma(x)\\,\\varepsilon`: ``(n, z_dim)``, or
        ``(k, n, z_dim)`` with ``k`` draws per input."""
        return reparameterize(*self(x), k, generator=generator)


def reparameterize(mu, sigma, k: int | None = None, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """:math:`\\mu + \\sigma\\varepsilon`, :math:`\\varepsilon \\sim \\mathcal{N}(0, I)`, differentiable in ``mu`` and
    ``sigma``. ``generator``: a CPU ``torch.Generator`` (the draws are then the same on every device)."""
    shape = mu.shape if k is None else (positive_int("k", k), *mu.shape)
    if generator is None:
        eps = torch.randn(shape, dtype=mu.dtype, device=mu.device)
    else:
        eps = torch.randn(shape, dtype=mu.dtype, generator=generator).to(mu.device)
    return mu + sigma * eps


def kl_to_standard_normal(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathrm{KL}(\mathcal{N}(\mu, \operatorname{diag}\sigma^2) \,\|\, \mathcal{N}(0, I)) =
    \tfrac12 \sum_j (\mu_j^2 + \sigma_j^2 - 1 - 2\log\sigma_j)`, summed over the last axis, averaged over the
    batch: deep VIB's upper bound on :math:`I(X;Z)` (the "rate")."""
    return 0.5 * (mu**2 + sigma**2 - 1.0 - 2.0 * torch.log(sigma)).sum(-1).mean()


class IBClassifier(nn.Module):
    """:class:`StochasticEncoder` followed by one linear layer to 10 logits. ``stochastic=False``: :math:`z = \\mu`
    (the baseline; :math:`\\sigma` is then never used)."""

    def __init__(self, hidden: Sequence[int] = (1024, 1024), z_dim: int = 256, stochastic: bool = True):
        super().__init__()
        self.encoder = StochasticEncoder(IN_DIM, hidden, z_dim)
        self.decoder = nn.Linear(z_dim, N_CLASSES)
        self.stochastic = stochastic

    def represent(self, x, k: int | None = None, *, generator: torch.Generator | None = None):
        """``(z, mu, sigma)``: ``z`` is ``(n, z_dim)``, or ``(k, n, z_dim)`` when ``k`` is given."""
        mu, sigma = self.encoder(x)
        if self.stochastic:
            return reparameterize(mu, sigma, k, generator=generator), mu, sigma
        return (mu if k is None else mu.expand(positive_int("k", k), *mu.shape)), mu, sigma

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor, samples: int = 12, generator: torch.Generator | None = None):
        """The softmax averaged over ``samples`` draws of :math:`z` (one for the deterministic baseline)."""
        z = self.represent(x, samples if self.stochastic else 1, generator=generator)[0]
        return torch.softmax(self.decoder(z), -1).mean(0)


@dataclass(frozen=True)
class IBConfig:
    r"""Settings of :func:`train_ib`; the defaults are deep VIB's protocol (see the module docstring).

    ``critic_hidden`` and ``critic_lr`` set the statistics networks (the penalty's and the monitor's).

    Parameters
    ----------
    method : str
        ``"baseline"``, ``"vib"`` or ``"mine"`` (module docstring).
    beta : float
        :math:`\beta \ge 0`, the weight of :math:`I(X;Z)` (ignored by ``"baseline"``).
    epochs : int
        Passes over the training digits.
    batch_size : int
        Digits per batch; at least 2 (MINE re-pairs a batch).
    lr : float
        Adam's learning rate for the encoder and decoder (betas 0.5 and 0.999).
    lr_decay : float
        Multiplies the learning rate of the encoder (and decoder) every ``decay_every`` epochs, in (0, 1].
    decay_every : int
        Epochs between two decays.
    polyak : float
        The decay of the weight average used for evaluation, in (0, 1).
    hidden : tuple of int
        Hidden widths of the encoder (ReLU).
    z_dim : int
        Coordinates of :math:`Z`.
    test_samples : int
        Draws of :math:`z` whose softmax is averaged at test time.
    critic_hidden : tuple of int
        Hidden widths of the statistics networks.
    critic_lr : float
        Learning rate of the statistics networks (each with its own optimiser, :class:`~minelib.MITerm`).
    seed : int or None
        Seeds torch's global generator during training (initialisations, the draws of :math:`z`, the
        re-pairings) and, through seeds derived from it, the order of the digits and the evaluation's draws
        (``None``: fresh).

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, §5.3.
    Alemi, A. A., I. Fischer, J. V. Dillon, K. Murphy, "Deep Variational Information Bottleneck", ICLR 2017.
    """

    method: str = "mine"
    beta: float = 1e-3
    epochs: int = 200
    batch_size: int = 100
    lr: float = 1e-4
    lr_decay: float = 0.97
    decay_every: int = 2
    polyak: float = 0.999
    hidden: tuple[int, ...] = (1024, 1024)
    z_dim: int = 256
    test_samples: int = 12
    critic_hidden: tuple[int, ...] = (256,)
    # the critics chase a moving encoder, so they learn ten times faster than it: on the subset at widths (256, 256),
    # z_dim 64, the monitor read 2.7 nats after 3 epochs with 1e-3 against 1.1 with 1e-4 (a lagging critic
    # under-estimates I(X;Z), and the MINE penalty with it)
    critic_lr: float = 1e-3
    seed: int | None = 0

    def __post_init__(self):
        choice("method", self.method, METHODS)
        non_negative("beta", self.beta)
        positive_int("epochs", self.epochs)
        if positive_int("batch_size", self.batch_size) < 2:
            raise ValueError(f"batch_size must be at least 2 (MINE re-pairs a batch), got {self.batch_size}")
        in_open_interval("lr", self.lr, 0.0, math.inf)
        in_interval("lr_decay", self.lr_decay, 0.0, 1.0, closed="right")
        positive_int("decay_every", self.decay_every)
        in_open_interval("polyak", self.polyak, 0.0, 1.0)
        widths("hidden", self.hidden)
        positive_int("z_dim", self.z_dim)
        positive_int("test_samples", self.test_samples)
        widths("critic_hidden", self.critic_hidden)
        in_open_interval("critic_lr", self.critic_lr, 0.0, math.inf)
        seed_value("seed", self.seed)


@dataclass
class IBRun:
    """A trained bottleneck classifier: ``model`` holds the Polyak-averaged weights; ``history`` one entry per
    epoch: ``loss`` (training objective), ``ce`` (training cross-entropy), ``penalty`` (the KL for ``"vib"``,
    :math:`\\hat I` of the penalty's critic for ``"mine"``, 0 for ``"baseline"``), ``i_xz`` (the monitor's DV
    bound on :math:`I(X;Z)`), ``i_zy`` (:math:`H(Y) -` cross-entropy), ``test_error`` (NaN without ``test``),
    ``lr``. ``mi`` is the penalty's :class:`~minelib.MITerm` (``"mine"`` only), ``monitor`` the monitor's."""

    model: IBClassifier
    config: IBConfig
    history: dict[str, np.ndarray] = field(default_factory=dict)
    mi: MITerm | None = None
    monitor: MITerm | None = None

    def predict_proba(self, images: np.ndarray, *, seed: int | None = 0, batch_size: int = 1000) -> np.ndarray:
        """Class probabilities ``(n, 10)``: the softmax averaged over ``config.test_samples`` draws of :math:`z`."""
        device = next(self.model.parameters()).device
        x = _features("images", images, device)
        gen = torch_generator(seed)
        batch_size = positive_int("batch_size", batch_size)
        samples = self.config.test_samples
        chunks = [self.model.predict_proba(x[i : i + batch_size], samples, gen) for i in range(0, len(x), batch_size)]
        return torch.cat(chunks).cpu().numpy().astype(np.float64)

    def error(self, data: MNIST, *, seed: int | None = 0) -> float:
        """The share of ``data``'s digits whose most probable class is not their label."""
        _check_mnist("data", data)
        return float(np.mean(self.predict_proba(data.images, seed=seed).argmax(1) != data.labels))


def error_interval(errors: int, n: int, level: float = 0.95) -> tuple[float, float]:
    r"""Wilson score interval for an error rate measured as ``errors`` mistakes on ``n`` test digits.

    .. math:: \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}}{1 + z^2/n},
              \qquad \hat p = \frac{\text{errors}}{n},\; z = \Phi^{-1}\big(\tfrac{1 + \text{level}}{2}\big).

    Unlike :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}` it stays inside [0, 1] and is not empty at 0 errors. On
    2,000 test digits at about 3% error the half-width is about 0.75 points: differences of a few tenths of a
    point between methods (the paper's table: 1.38% against 1.11% on 10,000 digits) are not resolved there.
    """
    if isinstance(errors, bool) or not isinstance(errors, (int, np.integer)) or errors < 0:
        raise ValueError(f"errors must be a non-negative integer, got {errors!r}")
    n = positive_int("n", n)
    if errors > n:
        raise ValueError(f"errors must be at most n = {n}, got {errors}")
    z = NormalDist().inv_cdf(0.5 + in_open_interval("level", level, 0.0, 1.0) / 2)
    p, z2 = errors / n, z * z
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def mcnemar(wrong_a, wrong_b) -> tuple[int, int, float]:
    r"""McNemar's exact test of two classifiers scored on the *same* test digits: ``wrong_a``, ``wrong_b`` are
    boolean arrays (True where the classifier errs). Returns ``(b, c, p)``: ``b`` digits only ``a`` gets wrong,
    ``c`` digits only ``b`` gets wrong, and the two-sided p-value of :math:`b` under
    :math:`\mathrm{Binomial}(b + c, \tfrac12)` (no difference between the two). Digits both get right or both get
    wrong say nothing about which is better, so the paired test is sharper than comparing two intervals.
    """
    from scipy.stats import binomtest

    a, b_ = np.asarray(wrong_a), np.asarray(wrong_b)
    if a.dtype != bool or b_.dtype != bool or a.shape != b_.shape or a.ndim != 1:
        raise ValueError(
            f"wrong_a and wrong_b must be boolean arrays of the same length, got {a.dtype} {a.shape} and "
            f"{b_.dtype} {b_.shape}"
        )
    only_a, only_b = int(np.sum(a & ~b_)), int(np.sum(~a & b_))
    p = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    return only_a, only_b, p


def _check_mnist(name: str, data) -> MNIST:
    if not isinstance(data, MNIST):
        raise TypeError(f"{name} must be an MNIST split from minelib.mnist.load_mnist, got {type(data).__name__}")
    if len(data.images) != len(data.labels) or len(data.labels) == 0:
        raise ValueError(
            f"{name} must hold as many labels as images (at least one), got {len(data.images)} images "
            f"and {len(data.labels)} labels"
        )
    return data


def _features(name: str, images, device) -> torch.Tensor:
    """``(n, 28, 28)`` or ``(n, 784)`` images (uint8 in 0..255 or floats in [0, 1]) as ``(n, 784)`` floats:
    the pixel order is never used, as in permutation-invariant MNIST."""
    images = np.asarray(images)
    if images.ndim not in (2, 3) or math.prod(images.shape[1:]) != IN_DIM or len(images) == 0:
        raise ValueError(f"{name} must be (n, 28, 28) or (n, 784) with n >= 1, got shape {images.shape}")
    if images.dtype.kind not in "iuf":
        raise TypeError(f"{name} images must be numbers (uint8 in 0..255 or floats in [0, 1]), got {images.dtype}")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        bad = int((~np.isfinite(images.reshape(len(images), -1))).any(1).sum())
        raise ValueError(f"{name} has {bad} image(s) with NaN or infinite pixels: remove or repair them")
    x = torch.as_tensor(images.reshape(len(images), IN_DIM), dtype=torch.float32, device=device)
    return x / 255.0 if images.dtype == np.uint8 else x


def _label_entropy(labels: np.ndarray) -> float:
    """:math:`H(Y)` of the empirical label distribution, in nats (:math:`\\ln 10` for balanced classes)."""
    p = np.bincount(labels, minlength=N_CLASSES) / len(labels)
    return float(-np.sum(p[p > 0] * np.log(p[p > 0])))


def train_ib(
    train: MNIST,
    config: IBConfig = IBConfig(),
    *,
    test: MNIST | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> IBRun:
    r"""Train an :class:`IBClassifier` on ``train`` with ``config.method``.

    Each step, on a batch of pixels in [0, 1] flattened to 784 (whole batches only; the order is reshuffled
    every epoch): draw :math:`z`; step the monitoring critic on the detached :math:`(x, z)`; for ``"mine"``
    step the penalty's critic likewise, then take one encoder + decoder step on cross-entropy
    :math:`+\ \beta\,\hat I(X;Z)` with that critic held fixed (for ``"vib"`` on cross-entropy :math:`+\ \beta`
    KL); update the Polyak average.

    The information plane, per epoch: ``i_xz`` is the monitor's DV bound averaged over the epoch's batches.
    It is a *lower* bound, and a batch-limited one: DV-type estimates from batches of :math:`b` pairs saturate
    near :math:`\ln b` (:math:`\ln 100 \approx 4.6` nats; no high-confidence lower bound can exceed
    :math:`O(\ln n)`, McAllester & Stratos 2020). For the deterministic baseline :math:`I(X;Z)` is infinite in
    principle (:math:`z` is a function of a continuous :math:`x`), so its ``i_xz`` only shows the critic's
    capacity and the batch size. ``i_zy`` is :math:`H(Y) - \text{cross-entropy}`, a lower bound on
    :math:`I(Z;Y)`: on ``test`` when given (Polyak weights, one draw of :math:`z`), else on the training
    batches. The epochs' ``test_error`` uses ``config.test_samples`` draws.

    Parameters
    ----------
    train : ~minelib.mnist.MNIST
        The training digits (at least ``config.batch_size``).
    config : IBConfig
        The settings.
    test : ~minelib.mnist.MNIST or None
        Digits to evaluate on after every epoch (``i_zy`` and ``test_error``).
    device : str or *torch.device* or None
        Where to train (``None``: CUDA if present, else the CPU).
    progress : bool
        A tqdm bar.

    Returns
    -------
    IBRun
        The Polyak-averaged classifier, ``config``, the per-epoch ``history``, the penalty's MI term (``"mine"``
        only) and the monitor's.

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, §5.3.
    Alemi, A. A., I. Fischer, J. V. Dillon, K. Murphy, "Deep Variational Information Bottleneck", ICLR 2017.
    McAllester, D., K. Stratos, "Formal limitations on the measurement of mutual information", AISTATS 2020.
    """
    _check_mnist("train", train)
    if test is not None:
        _check_mnist("test", test)
    if not isinstance(config, IBConfig):
        raise TypeError(f"config must be an IBConfig, got {type(config).__name__}")
    if len(train.labels) < config.batch_size:
        raise ValueError(f"batch_size ({config.batch_size}) exceeds the {len(train.labels)} training digits")
    device = device_value("device", device)
    with seeded(config.seed, device):  # torch's global generator: initialisations, the draws of z, the re-pairings
        return _train(train, test, config, device, progress)


def _train(train: MNIST, test: MNIST | None, config: IBConfig, device: torch.device, progress: bool) -> IBRun:
    method = config.method
    model = IBClassifier(config.hidden, config.z_dim, stochastic=method != "baseline").to(device)
    average = copy.deepcopy(model)  # the Polyak average, used for evaluation only
    monitor = MITerm(StatisticsNetwork(IN_DIM, config.z_dim, config.critic_hidden), lr=config.critic_lr).to(device)
    mi = None
    if method == "mine":
        mi = MITerm(StatisticsNetwork(IN_DIM, config.z_dim, config.critic_hidden), lr=config.critic_lr).to(device)
    # the encoder's and decoder's optimiser: model.parameters() holds neither critic (MITerm keeps them apart)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.5, 0.999))
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=config.decay_every, gamma=config.lr_decay)
    x_all, y_all = _features("train", train.images, device), torch.as_tensor(train.labels, device=device).long()
    x_test = None if test is None else _features("test", test.images, device)
    order_gen = torch_generator(derived_seed(config.seed, 1))
    keys = ("loss", "ce", "penalty", "i_xz", "i_zy", "test_error", "lr")
    history = {k: np.full(config.epochs, np.nan) for k in keys}
    b, steps = config.batch_size, 0
    for epoch in trange(config.epochs, disable=not progress, desc=f"information bottleneck ({method})", leave=False):
        history["lr"][epoch] = opt.param_groups[0]["lr"]
        sums = {k: torch.zeros((), dtype=torch.float64, device=device) for k in ("loss", "ce", "penalty", "i_xz")}
        first_bad = torch.full((), -1, device=device)  # the epoch's first batch with a non-finite loss, on the device
        order = torch.randperm(len(y_all), generator=order_gen).to(device)
        n_batches = len(y_all) // b
        for i in range(n_batches):
            rows = order[i * b : (i + 1) * b]
            x, y = x_all[rows], y_all[rows]
            draw = model.represent(x)  # (z, mu, sigma)
            sums["i_xz"] += monitor.update(x, draw[0].detach()).double()
            loss, ce, penalty = _objective(model, mi, config, x, y, draw)
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss), i, first_bad)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
            _polyak_update(average, model, config.polyak, steps)
            sums["loss"], sums["ce"] = sums["loss"] + loss.detach().double(), sums["ce"] + ce.detach().double()
            sums["penalty"] += penalty.detach().double()
        schedule.step()
        _check_epoch(int(first_bad), epoch, config)  # one synchronisation an epoch
        for k, v in sums.items():
            history[k][epoch] = v.item() / n_batches
        if test is None:
            history["i_zy"][epoch] = _label_entropy(train.labels) - history["ce"][epoch]
        else:
            eval_seed = derived_seed(config.seed, 2)
            history["i_zy"][epoch], history["test_error"][epoch] = _evaluate(average, x_test, test, config, eval_seed)
    for term in (monitor, mi):  # one synchronisation: critic steps skipped on non-finite batches, if any
        if term is not None:
            term.check()
    return IBRun(average.eval(), config, history, mi, monitor)


def _check_epoch(first_bad: int, epoch: int, config: IBConfig) -> None:
    """The images were checked finite before training, so a non-finite loss means training diverged."""
    if first_bad >= 0:
        raise FloatingPointError(
            f"the {config.method} loss became non-finite at epoch {epoch}, batch {first_bad}: the images are finite "
            f"(checked before training), so training diverged; lower beta (now {config.beta}) or lr (now {config.lr})"
        )


def _objective(model: IBClassifier, mi: MITerm | None, config: IBConfig, x, y, draw) -> tuple[torch.Tensor, ...]:
    """``(loss, cross-entropy, penalty)`` of a batch ``(x, y)`` whose representation ``draw = (z, mu, sigma)``
    was drawn: the loss is cross-entropy + beta * penalty (the baseline: the cross-entropy alone)."""
    z, mu, sigma = draw
    ce = nn.functional.cross_entropy(model.decoder(z), y)
    if config.method == "vib":
        penalty = kl_to_standard_normal(mu, sigma)
        return ce + config.beta * penalty, ce, penalty
    if config.method == "mine":
        # the critic's step, with its own optimiser, then its bound, differentiable in z only and never below 0:
        # I(X;Z) >= 0, so a negative estimate is the critic lagging behind the encoder, and rewarding it lets the
        # encoder run away from the critic (at beta = 1 the estimate fell to -400 nats and training diverged)
        _, penalty, term = mi.step(x, z, weight=config.beta, floor=0.0)
        return ce + term, ce, penalty
    return ce, ce, torch.zeros((), device=x.device)


@torch.no_grad()
def _polyak_update(average: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    r"""Exponential moving average of the weights with TensorFlow's zero-debiasing (deep VIB's
    ``ExponentialMovingAverage(0.999, zero_debias=True)``): after step :math:`t` the average is
    :math:`\sum_s d^{t-s} w_s / \sum_s d^{t-s}`, so early on it is not pulled towards the initial weights."""
    weight = (1 - decay) / (1 - decay**step)
    for a, p in zip(average.parameters(), model.parameters()):
        a.lerp_(p, weight)


@torch.no_grad()
def _evaluate(model: IBClassifier, x: torch.Tensor, test: MNIST, config: IBConfig, seed) -> tuple[float, float]:
    """``(H(Y) - cross-entropy with one draw of z, error with config.test_samples draws)`` on ``test``."""
    gen = torch_generator(seed)
    y = torch.as_tensor(test.labels, device=x.device).long()
    ce, wrong = 0.0, 0
    for i in range(0, len(x), 1000):
        xb, yb = x[i : i + 1000], y[i : i + 1000]
        z = model.represent(xb, generator=gen)[0]
        ce += nn.functional.cross_entropy(model.decoder(z), yb, reduction="sum").item()
        wrong += int((model.predict_proba(xb, config.test_samples, gen).argmax(1) != yb).sum())
    return _label_entropy(test.labels) - ce / len(x), wrong / len(x)
