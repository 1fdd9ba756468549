r"""GAN + MINE against mode dropping (paper §5.1), for two-dimensional data.

The generator takes noise :math:`\varepsilon` and a code :math:`c` and is trained on

.. math:: \max_G\; \mathbb{E}\big[\log D(G([\varepsilon, c]))\big] + \beta\, I\big(G([\varepsilon, c]); c\big),

the mutual information estimated by MINE (:class:`~minelib.MITerm`). A generator that ignores part of the
code, or maps several codes to one mode, has a low :math:`I(G; c)`; the MI term pushes it to spread the codes
over distinct outputs, which fights mode collapse. Three networks train in turn, each with **its own**
optimiser: the discriminator on the usual GAN loss, the statistics network (inside the MI term) on the DV
bound of detached samples, the generator on the non-saturating GAN loss minus :math:`\beta\hat I`. With
``clip=True`` the generator's two gradients are combined by the paper's adaptive clipping
(:func:`~minelib.adaptive_gradient_clip`): the MI gradient is never longer than the GAN gradient.

The code :math:`c` is a one-hot vector of ``code_dim`` categories (``code="categorical"``) or a standard
Gaussian vector (``code="gaussian"``).

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

from minelib._checks import choice, device_value, in_open_interval, positive_int, seed_value, widths
from minelib.mi_term import MITerm, adaptive_gradient_clip
from minelib.nets import StatisticsNetwork

CODES = ("categorical", "gaussian")


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """:math:`G([\\varepsilon, c])`: an MLP from noise and code to ``out_dim`` coordinates."""

    def __init__(self, noise_dim: int, code_dim: int, hidden: Sequence[int] = (128, 128), out_dim: int = 2):
        super().__init__()
        self.noise_dim, self.code_dim = positive_int("noise_dim", noise_dim), positive_int("code_dim", code_dim)
        self.net = mlp([noise_dim + code_dim, *widths("hidden", hidden), positive_int("out_dim", out_dim)])

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
    """Settings of :func:`train_gan`. ``beta = 0`` (or ``mi=False``) trains a plain GAN."""

    steps: int = 5000
    batch_size: int = 256
    lr: float = 1e-3
    critic_lr: float = 1e-3
    beta: float = 1.0
    mi: bool = True
    clip: bool = True
    code: str = "categorical"
    code_dim: int = 25
    noise_dim: int = 2
    hidden: tuple[int, ...] = (128, 128)
    seed: int | None = 0

    def __post_init__(self):
        positive_int("steps", self.steps)
        positive_int("batch_size", self.batch_size)
        in_open_interval("lr", self.lr, 0.0, math.inf)
        in_open_interval("critic_lr", self.critic_lr, 0.0, math.inf)
        if not (isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {self.beta!r}")
        choice("code", self.code, CODES)
        positive_int("code_dim", self.code_dim)
        positive_int("noise_dim", self.noise_dim)
        widths("hidden", self.hidden)
        seed_value("seed", self.seed)


@dataclass
class GANRun:
    """A trained generator and what happened: per step the losses and the MI estimate (``history``)."""

    generator: Generator
    config: GANConfig
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` generated points, ``(n, out_dim)``, with fresh noise and codes."""
        gen = _torch_generator(seed)
        device = next(self.generator.parameters()).device
        eps, c = _noise_and_code(positive_int("n", n), self.config, gen, device)
        return self.generator(eps, c).cpu().numpy().astype(np.float64)


def _torch_generator(seed: int | None) -> torch.Generator:
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


def _noise_and_code(n: int, config: GANConfig, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
    eps = torch.randn(n, config.noise_dim, generator=gen)
    if config.code == "categorical":
        c = nn.functional.one_hot(torch.randint(config.code_dim, (n,), generator=gen), config.code_dim).float()
    else:
        c = torch.randn(n, config.code_dim, generator=gen)
    return eps.to(device), c.to(device)


def train_gan(
    sample_data: Callable[[int, np.random.Generator], np.ndarray],
    config: GANConfig = GANConfig(),
    *,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> GANRun:
    """Train a generator on ``sample_data(n, rng) -> (n, 2)`` real points, with or without the MI term.

    Each step: one discriminator step (binary cross-entropy on a real and a generated batch), one step of
    the MI term's critic on the detached generated batch and its codes, one generator step on the
    non-saturating loss :math:`-\\log D(G)` minus :math:`\\beta\\hat I(G; c)` (clipped adaptively when
    ``config.clip``). Returns a :class:`GANRun`.
    """
    if not isinstance(config, GANConfig):
        raise TypeError(f"config must be a GANConfig, got {type(config).__name__}")
    device = device_value("device", device)
    # torch's global generator (initialisations, and the MI term's re-pairings) is seeded inside and restored
    # after, so a run is reproducible and leaves the caller's random state alone
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        if config.seed is not None:
            torch.manual_seed(config.seed)
        return _train(sample_data, config, device, progress)


def _train(sample_data, config: GANConfig, device: torch.device, progress: bool) -> GANRun:
    rng = np.random.default_rng(config.seed)
    G = Generator(config.noise_dim, config.code_dim, config.hidden).to(device)
    D = Discriminator(2, config.hidden).to(device)
    use_mi = config.mi and config.beta > 0
    mi = MITerm(StatisticsNetwork(2, config.code_dim, config.hidden), lr=config.critic_lr) if use_mi else None
    if mi is not None:
        mi.to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr, betas=(0.5, 0.999))
    gen = _torch_generator(None if config.seed is None else config.seed + 1)
    bce = nn.functional.binary_cross_entropy_with_logits
    history = {k: np.full(config.steps, np.nan) for k in ("d_loss", "g_loss", "mi")}
    b = config.batch_size
    for step in trange(config.steps, disable=not progress, desc="GAN + MINE" if use_mi else "GAN", leave=False):
        real = torch.as_tensor(_checked_batch(sample_data(b, rng), b), dtype=torch.float32, device=device)
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
        else:
            history["mi"][step] = mi.update(fake.detach(), c)
            mi_loss = -config.beta * mi(fake, c)
            if config.clip:
                adaptive_gradient_clip(G.parameters(), g_loss, mi_loss)
            else:
                (g_loss + mi_loss).backward()
        opt_g.step()
        history["d_loss"][step], history["g_loss"][step] = d_loss.item(), g_loss.item()
    return GANRun(G, config, history)


def _checked_batch(batch, n: int) -> np.ndarray:
    a = np.asarray(batch, dtype=np.float64)
    if a.shape != (n, 2) or not np.all(np.isfinite(a)):
        raise ValueError(f"sample_data(n, rng) must return {n} finite 2-D points, got shape {a.shape}")
    return a
