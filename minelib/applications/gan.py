r"""GAN + MINE against mode dropping (paper §5.1): two-dimensional data, or images with ``networks=``.

The generator takes noise :math:`\varepsilon` and a code :math:`c` and is trained on

.. math:: \max_G\; \mathbb{E}\big[\log D(G([\varepsilon, c]))\big] + \beta\, I\big(G([\varepsilon, c]); c\big),

the mutual information estimated by MINE (:class:`~minelib.MITerm`). A generator that ignores part of the
code, or maps several codes to one mode, has a low :math:`I(G; c)`; the MI term pushes it to spread the codes
over distinct outputs, which fights mode collapse. Three networks train in turn, each with **its own**
optimiser: the discriminator on the usual GAN loss, the statistics network (inside the MI term) on the DV
bound of detached samples, the generator on the non-saturating GAN loss minus :math:`\beta\hat I`. With
``clip=True`` the generator's two gradients are combined by the paper's adaptive clipping
(:func:`~minelib.adaptive_gradient_clip`): the MI gradient is never longer than the GAN gradient.

The code :math:`c` is a one-hot vector of ``code_dim`` categories (``code="categorical"``; with
``code_groups`` > 1, that many independent one-hot vectors side by side) or a standard Gaussian vector
(``code="gaussian"``, ``code_dim × code_groups`` coordinates).

The networks are MLPs for two-dimensional data (:func:`mlp_networks`, the default) or any triple
``(generator, discriminator, critic)`` built by a ``networks(config)`` function, e.g.
:func:`minelib.applications.dcgan.dcgan_networks` for Stacked MNIST. A generator has an ``out_shape``;
the data's batches must have that shape; the MI term sees the samples flattened.

References
----------
M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, §5.1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import trange

from minelib._checks import (
    choice,
    derived_seed,
    device_value,
    flag,
    in_open_interval,
    non_negative,
    positive_int,
    sampled_batch,
    seed_value,
    seeded,
    torch_generator,
    widths,
)
from minelib.mi_term import MITerm
from minelib.nets import StatisticsNetwork, mlp
from minelib.train import DeviceLog, divergence_message

CODES = ("categorical", "gaussian")


class Generator(nn.Module):
    """:math:`G([\\varepsilon, c])`: an MLP from noise and code to ``out_dim`` coordinates."""

    def __init__(self, noise_dim: int, code_dim: int, hidden: Sequence[int] = (128, 128), out_dim: int = 2):
        super().__init__()
        self.noise_dim, self.code_dim = positive_int("noise_dim", noise_dim), positive_int("code_dim", code_dim)
        self.net = mlp([noise_dim + code_dim, *widths("hidden", hidden), positive_int("out_dim", out_dim)])
        self.out_shape = (out_dim,)

    def forward(self, eps: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([eps, c], 1))


class Discriminator(nn.Module):
    """An MLP with one logit per sample: :math:`\\log\\frac{D}{1-D}`."""

    def __init__(self, in_dim: int = 2, hidden: Sequence[int] = (128, 128)):
        super().__init__()
        self.net = mlp([positive_int("in_dim", in_dim), *widths("hidden", hidden), 1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


@dataclass(frozen=True)
class GANConfig:
    r"""Settings of :func:`train_gan`. ``beta = 0`` (or ``mi=False``) trains a plain GAN.

    Parameters
    ----------
    steps : int
        Training steps; each is one step of the discriminator, of the MI term's critic and of the generator.
    batch_size : int
        Real and generated samples per batch; at least 2 (the MI term re-pairs a batch).
    lr : float
        Adam's learning rate for the generator and the discriminator (betas 0.5 and 0.999).
    critic_lr : float
        The learning rate of the MI term's statistics network (its own optimiser, :class:`~minelib.MITerm`).
    beta : float
        :math:`\beta \ge 0`, the weight of the MI term in the generator's objective.
    mi : bool
        Whether the MI term is used at all.
    clip : bool
        Combine the generator's two gradients by the paper's adaptive clipping
        (:func:`~minelib.adaptive_gradient_clip`) instead of summing them.
    code : str
        ``"categorical"`` (one-hot vectors of ``code_dim`` categories) or ``"gaussian"`` (a standard Gaussian
        vector).
    code_dim : int
        Categories of each one-hot vector, or Gaussian coordinates per group.
    code_groups : int
        Independent codes side by side: the code has ``code_dim * code_groups`` coordinates.
    noise_dim : int
        Coordinates of the noise :math:`\varepsilon`.
    hidden : tuple of int
        Hidden widths of the MLP generator, discriminator and statistics network (:func:`mlp_networks`).
    seed : int or None
        Seeds torch's global generator during training (initialisations, the MI term's re-pairings), the data's
        ``rng`` and, through a seed derived from it, the noise and codes (``None``: fresh).

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, §5.1.
    """

    steps: int = 5000
    batch_size: int = 256
    lr: float = 1e-3
    critic_lr: float = 1e-3
    beta: float = 1.0
    mi: bool = True
    clip: bool = True
    code: str = "categorical"
    code_dim: int = 25
    code_groups: int = 1
    noise_dim: int = 2
    hidden: tuple[int, ...] = (128, 128)
    seed: int | None = 0

    def __post_init__(self):
        positive_int("steps", self.steps)
        if positive_int("batch_size", self.batch_size) < 2:
            raise ValueError(f"batch_size must be at least 2 (the MI term re-pairs a batch), got {self.batch_size}")
        in_open_interval("lr", self.lr, 0.0, math.inf)
        in_open_interval("critic_lr", self.critic_lr, 0.0, math.inf)
        non_negative("beta", self.beta)
        flag("mi", self.mi)
        flag("clip", self.clip)
        choice("code", self.code, CODES)
        positive_int("code_dim", self.code_dim)
        positive_int("code_groups", self.code_groups)
        positive_int("noise_dim", self.noise_dim)
        widths("hidden", self.hidden)
        seed_value("seed", self.seed)


@dataclass
class GANRun:
    """A trained generator and what happened: per step the losses and the MI estimate (``history``)."""

    generator: nn.Module
    config: GANConfig
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` generated samples, ``(n, *generator.out_shape)``, with fresh noise and codes (in batches)."""
        gen = torch_generator(seed)
        device = next(self.generator.parameters()).device
        eps, c = _noise_and_code(positive_int("n", n), self.config, gen, device)
        training = self.generator.training
        self.generator.eval()  # batch normalisation (DCGAN) uses its running statistics
        try:
            out = [self.generator(eps[i : i + 4096], c[i : i + 4096]).cpu() for i in range(0, n, 4096)]
        finally:
            self.generator.train(training)
        return torch.cat(out).numpy().astype(np.float64)


def _noise_and_code(n: int, config: GANConfig, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
    eps = torch.randn(n, config.noise_dim, generator=gen)
    k, groups = config.code_dim, config.code_groups
    if config.code == "categorical":
        c = nn.functional.one_hot(torch.randint(k, (n, groups), generator=gen), k).float().reshape(n, groups * k)
    else:
        c = torch.randn(n, groups * k, generator=gen)
    return eps.to(device), c.to(device)


def mlp_networks(config: GANConfig) -> tuple[Generator, Discriminator, StatisticsNetwork]:
    """MLP generator, discriminator and statistics network for two-dimensional data (widths ``config.hidden``)."""
    code_dim = config.code_dim * config.code_groups
    return (
        Generator(config.noise_dim, code_dim, config.hidden),
        Discriminator(2, config.hidden),
        StatisticsNetwork(2, code_dim, config.hidden),
    )


def train_gan(
    sample_data: Callable[[int, np.random.Generator], np.ndarray],
    config: GANConfig = GANConfig(),
    *,
    networks: Callable[[GANConfig], tuple[nn.Module, nn.Module, nn.Module]] = mlp_networks,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> GANRun:
    r"""Train a generator on real samples, with or without the MI term (module docstring).

    Each step: one discriminator step (binary cross-entropy on a real and a generated batch), one step of
    the MI term's critic on the detached generated batch and its codes, one generator step on the
    non-saturating loss :math:`-\log D(G)` minus :math:`\beta\hat I(G; c)` (clipped adaptively when
    ``config.clip``).

    Parameters
    ----------
    sample_data : *callable*
        ``sample_data(n, rng) -> (n, *out_shape)`` real samples, ``rng`` a ``numpy.random.Generator``.
    config : GANConfig
        The settings.
    networks : *callable*
        ``networks(config)`` builds the generator, discriminator and statistics network (default
        :func:`mlp_networks`: MLPs for 2-D points; e.g. :func:`minelib.applications.dcgan.dcgan_networks`).
    device : str or *torch.device* or None
        Where to train (``None``: CUDA if present, else the CPU).
    progress : bool
        A tqdm bar.

    Returns
    -------
    GANRun
        The trained generator, ``config``, and per step in ``history`` the losses ``"d_loss"`` and ``"g_loss"``
        and the MI estimate ``"mi"`` (NaN without the MI term).

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, §5.1.
    """
    if not isinstance(config, GANConfig):
        raise TypeError(f"config must be a GANConfig, got {type(config).__name__}")
    device = device_value("device", device)
    with seeded(config.seed, device):  # torch's global generator: initialisations, the MI term's re-pairings
        G, D, critic = networks(config)
        return _train(sample_data, config, G.to(device), D.to(device), critic, device, progress)


def _train(sample_data, config: GANConfig, G, D, critic, device: torch.device, progress: bool) -> GANRun:
    rng = np.random.default_rng(config.seed)
    use_mi = config.mi and config.beta > 0
    mi = MITerm(critic, lr=config.critic_lr).to(device) if use_mi else None
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr, betas=(0.5, 0.999))
    gen = torch_generator(derived_seed(config.seed, 1))
    bce = nn.functional.binary_cross_entropy_with_logits
    history = DeviceLog(("d_loss", "g_loss", "mi"), config.steps, device, watch=("d_loss", "g_loss"),
                        explain=divergence_message("GAN", lr=config.lr, beta=config.beta))  # fmt: skip
    b = config.batch_size
    for step in trange(config.steps, disable=not progress, desc="GAN + MINE" if use_mi else "GAN", leave=False):
        real = sampled_batch("sample_data(n, rng)", sample_data(b, rng), (b, *G.out_shape))
        real = torch.as_tensor(real, dtype=torch.float32).to(device)
        eps, c = _noise_and_code(b, config, gen, device)
        fake = G(eps, c)
        d_real, d_fake = D(real), D(fake.detach())
        d_loss = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = bce(D(fake), torch.ones(b, device=device))  # non-saturating: -log D(G)
        opt_g.zero_grad(set_to_none=True)
        if mi is None:
            g_loss.backward()
        else:  # the critic's step, then the generator's gradient of g_loss - beta I(G; c)
            value = mi.step(
                fake.flatten(1), c, weight=-config.beta, params=G.parameters(), model_loss=g_loss, clip=config.clip
            )[0]
            history.record(step, mi=value)
        opt_g.step()
        history.record(step, d_loss=d_loss, g_loss=g_loss)
        history.check(step)
    if mi is not None:
        mi.check()
    return GANRun(G, config, history.numpy())
