r"""ALI / BiGAN + MINE: better reconstructions by maximising :math:`I_q(x, z)` (paper §5.2).

ALI (Dumoulin et al., 2017) and BiGAN (Donahue et al., 2017) learn an encoder :math:`E: x \to z` and a
generator :math:`G: z \to x` together. A discriminator :math:`D(x, z)` tells the *encoder's* pairs
:math:`(x, E(x))`, :math:`x` from the data, from the *generator's* pairs :math:`(G(z), z)`, :math:`z` from the
prior :math:`\mathcal N(0, I)`; at the optimum the joints :math:`q(x, z) = q(x)\,q(z\mid x)` and
:math:`p(x, z) = p(z)\,p(x\mid z)` agree and :math:`G` inverts :math:`E`. In practice the reconstructions
:math:`G(E(x))` are often poor. The paper bounds the reconstruction error by

.. math:: \mathcal R \le \mathrm{KL}\big(q(x, z)\,\|\,p(x, z)\big) - I_q(x, z) + H_q(z),

so adding :math:`\beta\, I_q(x, z)`, estimated by MINE on the pairs :math:`(x, E(x))`, to what the encoder
maximises tightens the bound. Three updates alternate, each with its own optimiser:

* :math:`D` on binary cross-entropy, encoder pairs labelled 1, generator pairs labelled 0 (both detached);
* the MI term's statistics network on the DV bound of detached pairs :math:`(x, E(x))` (:class:`~minelib.MITerm`);
* :math:`E` and :math:`G` together on the non-saturating loss with the labels swapped
  (:math:`E` makes its pairs look generated, :math:`G` makes its pairs look real) minus
  :math:`\beta\,\hat I(x; E(x))`. The MI term's gradient reaches the encoder only (:math:`x` is data).
  With ``clip=True`` the encoder's MI gradient is never longer than its adversarial gradient
  (:func:`~minelib.adaptive_gradient_clip`).

Two kinds of data, told apart by their dimension: 2-D points (the 25 Gaussians of
:mod:`minelib.applications.toy`, a linear generator output) and images flattened to pixels in [0, 1] (MNIST,
784 pixels, a sigmoid generator output; :func:`mnist_sampler`). All networks are MLPs; pixels enter the
encoder and the discriminator centred, as :math:`2x - 1`.

References
----------
M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, §5.2. V. Dumoulin et al.,
"Adversarially Learned Inference", ICLR 2017. J. Donahue et al., "Adversarial Feature Learning", ICLR 2017.
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
    derived_seed,
    device_value,
    flag,
    in_interval,
    in_open_interval,
    non_negative,
    positive_int,
    sampled_batch,
    seed_value,
    seeded,
    torch_generator,
    widths,
)
from minelib.applications.classifier import DigitCNN, predict
from minelib.applications.toy import GRID
from minelib.mi_term import MITerm
from minelib.mnist import MNIST
from minelib.nets import StatisticsNetwork, mlp
from minelib.train import DeviceLog, divergence_message


class Encoder(nn.Module):
    r""":math:`q(z\mid x) = \mathcal N(\mu(x), \mathrm{diag}\,\sigma(x)^2)`: an MLP ``x_dim -> hidden -> 2 z_dim``,
    :math:`\sigma = \mathrm{softplus}(\cdot) + 10^{-4}`. ``forward`` draws :math:`z = \mu + \sigma\varepsilon`
    (reparameterised, so gradients flow into the encoder); ``mean`` gives :math:`\mu`. ``leaky``: LeakyReLU
    (slope 0.2) instead of ReLU; ``pixels``: inputs are pixels in [0, 1], fed to the MLP as :math:`2x - 1`."""

    def __init__(
        self, x_dim: int, z_dim: int, hidden: Sequence[int] = (128, 128), leaky: bool = False, pixels: bool = False
    ):
        super().__init__()
        self.z_dim, self.pixels = positive_int("z_dim", z_dim), bool(pixels)
        self.net = mlp([positive_int("x_dim", x_dim), *widths("hidden", hidden), 2 * z_dim], leaky=leaky)

    def moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, raw = self.net(2 * x - 1 if self.pixels else x).chunk(2, dim=-1)
        return mu, nn.functional.softplus(raw) + 1e-4

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.moments(x)[0]

    def forward(self, x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        mu, sigma = self.moments(x)
        eps = torch.randn(mu.shape, generator=gen).to(mu.device)
        return mu + sigma * eps


class Decoder(nn.Module):
    """The generator :math:`G(z)`: an MLP ``z_dim -> hidden -> x_dim``, with a sigmoid output for pixels in [0, 1]
    and, with ``batch_norm``, batch norm before each hidden ReLU (in ``eval()`` mode its running statistics)."""

    def __init__(
        self, z_dim: int, x_dim: int, hidden: Sequence[int] = (128, 128), pixels: bool = False, batch_norm: bool = False
    ):
        super().__init__()
        self.pixels = bool(pixels)
        sizes = [positive_int("z_dim", z_dim), *widths("hidden", hidden), positive_int("x_dim", x_dim)]
        self.net = mlp(sizes, batch_norm=batch_norm)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net(z)
        return torch.sigmoid(out) if self.pixels else out


class JointDiscriminator(nn.Module):
    """:math:`D(x, z)`, one logit per pair: an MLP on ``[embed(x), embed(z)]``, each embedding one linear layer
    of ``hidden[0]`` units with ReLU (LeakyReLU, slope 0.2, if ``leaky``) and dropout, then ``hidden[1:]`` and
    the logit. ``pixels``: ``x`` holds pixels in [0, 1], embedded as :math:`2x - 1`."""

    def __init__(
        self,
        x_dim: int,
        z_dim: int,
        hidden: Sequence[int] = (128, 128),
        dropout: float = 0.2,
        leaky: bool = False,
        pixels: bool = False,
    ):
        super().__init__()
        hidden = widths("hidden", hidden)
        if not hidden:
            raise ValueError("hidden must hold at least one width (the size of the embeddings)")
        self.pixels = bool(pixels)

        def embed(dim: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Linear(dim, hidden[0]), nn.LeakyReLU(0.2) if leaky else nn.ReLU(), nn.Dropout(dropout)
            )

        self.embed_x, self.embed_z = embed(positive_int("x_dim", x_dim)), embed(positive_int("z_dim", z_dim))
        self.joint = mlp([2 * hidden[0], *hidden[1:], 1], leaky=leaky)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = 2 * x - 1 if self.pixels else x
        return self.joint(torch.cat([self.embed_x(x), self.embed_z(z)], -1)).squeeze(-1)


@dataclass(frozen=True)
class ALIConfig:
    r"""Settings of :func:`train_ali`. ``beta = 0`` (or ``mi=False``) trains plain ALI.

    For MNIST take ``z_dim`` around 32, wider ``hidden``, ``lr = critic_lr = 2e-4``, batches of 100 and
    ``leaky=True`` (LeakyReLU, slope 0.2, in the encoder and the discriminator) and ``batch_norm=True`` (batch
    norm in the generator): without the last two the discriminator wins within a few hundred steps and the
    generator collapses onto one digit.

    Parameters
    ----------
    steps : int
        Training steps; each is one step of the discriminator, of the MI term's critic and of the encoder and
        generator together.
    batch_size : int
        Samples per batch; at least 2 (the MI term pairs samples).
    lr : float
        Adam's learning rate for the discriminator and for the encoder and generator (betas 0.5 and 0.999, as in
        :mod:`~minelib.applications.gan`). ``1e-3`` trains the small MLPs of the 25 Gaussians within a few
        thousand CPU steps; ALI's own 1e-4 or DCGAN's 2e-4 suit long image runs.
    beta : float
        :math:`\beta \ge 0`, the weight of :math:`I_q(x, z)` in what the encoder maximises.
    mi : bool
        Whether the MI term is used at all.
    clip : bool
        Clip the encoder's MI gradient to its adversarial gradient (:func:`~minelib.adaptive_gradient_clip`)
        instead of summing them. Off by default: on the 25 Gaussians (3,000 steps, seeds 0 and 1) ALI + MINE
        reconstructed better with the plain sum of the two gradients than with the MI gradient clipped to the
        adversarial one.
    z_dim : int
        Coordinates of the code :math:`z`.
    hidden : tuple of int
        Hidden widths of the encoder, the generator and the discriminator (at least one; ``hidden[0]`` is the
        size of the discriminator's embeddings).
    critic_hidden : tuple of int
        Hidden widths of the MI term's statistics network.
    critic_lr : float
        The learning rate of the MI term's statistics network (its own optimiser, :class:`~minelib.MITerm`).
    dropout : float
        Dropout of the discriminator's embeddings, in [0, 1).
    leaky : bool
        LeakyReLU (slope 0.2) instead of ReLU in the encoder and the discriminator.
    batch_norm : bool
        Batch norm before each hidden ReLU of the generator.
    seed : int or None
        Seeds torch's global generator during training (initialisations, dropout, the re-pairings), the data's
        ``rng`` and, through a seed derived from it, the draws of :math:`z` (``None``: fresh).

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, §5.2. V. Dumoulin et al.,
    "Adversarially Learned Inference", ICLR 2017. J. Donahue et al., "Adversarial Feature Learning", ICLR 2017.
    """

    steps: int = 5000
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 1.0
    mi: bool = True
    clip: bool = False
    z_dim: int = 2
    hidden: tuple[int, ...] = (128, 128)
    critic_hidden: tuple[int, ...] = (128, 128)
    critic_lr: float = 1e-3
    dropout: float = 0.2
    leaky: bool = False
    batch_norm: bool = False
    seed: int | None = 0

    def __post_init__(self):
        positive_int("steps", self.steps)
        positive_int("batch_size", self.batch_size)
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be at least 2 (the MI term pairs samples), got {self.batch_size}")
        in_open_interval("lr", self.lr, 0.0, math.inf)
        in_open_interval("critic_lr", self.critic_lr, 0.0, math.inf)
        non_negative("beta", self.beta)
        for name in ("mi", "clip", "leaky", "batch_norm"):
            flag(name, getattr(self, name))
        positive_int("z_dim", self.z_dim)
        if not widths("hidden", self.hidden):
            raise ValueError("hidden must hold at least one width")
        widths("critic_hidden", self.critic_hidden)
        in_interval("dropout", self.dropout, 0.0, 1.0, closed="left")
        seed_value("seed", self.seed)

    @property
    def uses_mi(self) -> bool:
        return self.mi and self.beta > 0


@dataclass
class ALIRun:
    """A trained encoder and generator and what happened: per step ``d_loss``, ``eg_loss`` and ``mi`` (the MI
    term's DV estimate on the batch in nats, NaN without the MI term) in ``history``. ``mi_term``: the trained
    :class:`~minelib.MITerm` (``None`` for plain ALI)."""

    encoder: Encoder
    generator: Decoder
    discriminator: JointDiscriminator
    config: ALIConfig
    mi_term: MITerm | None = None
    history: dict[str, np.ndarray] = field(default_factory=dict)

    def _input(self, x) -> torch.Tensor:
        device = next(self.encoder.parameters()).device
        x_dim = self.encoder.net[0].in_features
        a = np.asarray(x, dtype=np.float64).reshape(len(x), -1) if np.ndim(x) >= 2 else np.asarray(x)
        if a.ndim != 2 or a.shape[1] != x_dim or not np.all(np.isfinite(a)):
            raise ValueError(f"x must be (n, {x_dim}) finite values (images may be (n, 28, 28)), got {np.shape(x)}")
        return torch.as_tensor(a, dtype=torch.float32, device=device)

    @torch.no_grad()
    def encode(self, x: np.ndarray, sample: bool = False, seed: int | None = None) -> np.ndarray:
        """The codes of ``x`` (``(n, x_dim)``, images may be ``(n, 28, 28)``): the encoder's mean :math:`\\mu(x)`,
        or with ``sample=True`` a draw :math:`\\mu + \\sigma\\varepsilon`. ``(n, z_dim)``."""
        x = self._input(x)
        z = self.encoder(x, torch_generator(seed)) if sample else self.encoder.mean(x)
        return z.cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\hat x = G(\\mu(x))`, through the encoder's **mean** (deterministic), in ``x``'s shape."""
        x_hat = self.generator(self.encoder.mean(self._input(x))).cpu().numpy().astype(np.float64)
        return x_hat.reshape(np.shape(x))

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` generated points :math:`G(z)`, :math:`z \\sim \\mathcal N(0, I)`: ``(n, x_dim)``."""
        device = next(self.generator.parameters()).device
        z = torch.randn(positive_int("n", n), self.config.z_dim, generator=torch_generator(seed)).to(device)
        return self.generator(z).cpu().numpy().astype(np.float64)


def mnist_sampler(data: MNIST) -> Callable[[int, np.random.Generator], np.ndarray]:
    """``draw(n, rng) -> (n, 784)``: digits of ``data`` drawn with replacement, pixels / 255 in [0, 1]."""
    if not isinstance(data, MNIST):
        raise TypeError(f"data must be an MNIST split from minelib.mnist.load_mnist, got {type(data).__name__}")
    pixels = data.images.reshape(len(data.images), -1).astype(np.float64) / 255.0
    return lambda n, rng: pixels[rng.integers(len(pixels), size=n)]


def train_ali(
    sample_data: Callable[[int, np.random.Generator], np.ndarray],
    config: ALIConfig = ALIConfig(),
    *,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> ALIRun:
    """Train ALI (``beta = 0``) or ALI + MINE on data from ``sample_data``.

    Each step: a discriminator step, a step of the MI term's critic on :math:`(x, E(x))` detached, an
    encoder-and-generator step (module docstring).

    Parameters
    ----------
    sample_data : *callable*
        ``sample_data(n, rng) -> (n, dim)`` data, ``rng`` a ``numpy.random.Generator``: 2-D points, or any other
        ``dim`` of pixels in [0, 1] (e.g. :func:`mnist_sampler`).
    config : ALIConfig
        The settings.
    device : str or *torch.device* or None
        Where to train (``None``: CUDA if present, else the CPU).
    progress : bool
        A tqdm bar.

    Returns
    -------
    ALIRun
        The trained encoder, generator and discriminator (in ``eval()`` mode), ``config``, the MI term
        (``mi_term``, ``None`` for plain ALI) and per step in ``history`` ``"d_loss"``, ``"eg_loss"`` and
        ``"mi"``.

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018, §5.2. V. Dumoulin et al.,
    "Adversarially Learned Inference", ICLR 2017. J. Donahue et al., "Adversarial Feature Learning", ICLR 2017.
    """
    if not isinstance(config, ALIConfig):
        raise TypeError(f"config must be an ALIConfig, got {type(config).__name__}")
    if not callable(sample_data):
        raise TypeError(f"sample_data must be a function (n, rng) -> (n, dim) array, got {type(sample_data).__name__}")
    device = device_value("device", device)
    with seeded(config.seed, device):  # torch's global generator: initialisations, dropout, the re-pairings
        return _train(sample_data, config, device, progress)


def _train(sample_data, config: ALIConfig, device: torch.device, progress: bool) -> ALIRun:
    rng = np.random.default_rng(config.seed)
    b = config.batch_size
    first = _batch(sample_data, rng, b, None)  # the data's dimension picks the networks
    E, G, D, mi = _networks(config, first.shape[1], device)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr, betas=(0.5, 0.999))
    opt_eg = torch.optim.Adam([*E.parameters(), *G.parameters()], lr=config.lr, betas=(0.5, 0.999))
    gen = torch_generator(derived_seed(config.seed, 1))
    history = DeviceLog(("d_loss", "eg_loss", "mi"), config.steps, device, watch=("d_loss", "eg_loss"),
                        explain=divergence_message("ALI", lr=config.lr, beta=config.beta))  # fmt: skip
    for step in trange(config.steps, disable=not progress, desc="ALI + MINE" if mi else "ALI", leave=False):
        batch = first if step == 0 else _batch(sample_data, rng, b, first.shape[1])
        x = torch.as_tensor(batch, dtype=torch.float32, device=device)
        z_enc = E(x, gen)  # (x, E(x)): the encoder's pairs
        z_prior = torch.randn(b, config.z_dim, generator=gen).to(device)
        x_gen = G(z_prior)  # (G(z), z): the generator's pairs
        d_loss = _bce(D(x, z_enc.detach()), 1.0) + _bce(D(x_gen.detach(), z_prior), 0.0)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        opt_eg.zero_grad(set_to_none=True)
        value, eg_loss = _eg_gradients((E, G, D), mi, config, (x, z_enc), (x_gen, z_prior))
        opt_eg.step()
        history.record(step, mi=value, d_loss=d_loss, eg_loss=eg_loss)
        history.check(step)
    if mi is not None:
        mi.check()
    return ALIRun(E.eval(), G.eval(), D.eval(), config, mi, history.numpy())


def _networks(config: ALIConfig, x_dim: int, device) -> tuple[Encoder, Decoder, JointDiscriminator, MITerm | None]:
    """The encoder, generator, discriminator and (with ``config.uses_mi``) the MI term, in this order of
    initialisation; pixels unless the data are 2-D points."""
    pixels = x_dim != 2
    E = Encoder(x_dim, config.z_dim, config.hidden, leaky=config.leaky, pixels=pixels).to(device)
    G = Decoder(config.z_dim, x_dim, config.hidden, pixels=pixels, batch_norm=config.batch_norm).to(device)
    D = JointDiscriminator(x_dim, config.z_dim, config.hidden, config.dropout, leaky=config.leaky, pixels=pixels)
    mi = None
    if config.uses_mi:
        mi = MITerm(StatisticsNetwork(x_dim, config.z_dim, config.critic_hidden), lr=config.critic_lr).to(device)
    return E, G, D.to(device), mi


def _bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    """Binary cross-entropy of ``logits`` against one ``label`` for every pair."""
    return nn.functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def _eg_gradients(nets, mi: MITerm | None, config: ALIConfig, encoder_pairs, generator_pairs) -> tuple:
    """Set the gradients of the encoder-and-generator step (the MI term's critic stepped first); return the
    critic's DV value (NaN without the MI term) and the sum of the two adversarial losses."""
    E, G, D = nets
    losses = []

    def e_loss() -> torch.Tensor:  # called after the critic's step: D's dropout draws follow its re-pairing
        # labels swapped: the two losses touch disjoint networks (E's pairs hold no G, G's pairs no E)
        losses.extend([_bce(D(*encoder_pairs), 0.0), _bce(D(*generator_pairs), 1.0)])
        losses[1].backward(inputs=list(G.parameters()))
        return losses[0]

    if mi is None:
        e_loss().backward(inputs=list(E.parameters()))
        value = math.nan
    else:  # the MI term's gradient reaches the encoder only (x is data)
        value = mi.step(
            *encoder_pairs, weight=-config.beta, params=E.parameters(), model_loss=e_loss, clip=config.clip
        )[0]
    return value, losses[0].detach().double() + losses[1].detach().double()


def _batch(sample_data, rng: np.random.Generator, n: int, dim: int | None) -> np.ndarray:
    """A checked batch of ``n`` samples (of ``dim`` coordinates, once known); other than 2-D points, pixels."""
    a = sampled_batch("sample_data(n, rng)", sample_data(n, rng), (n, dim))
    if a.shape[1] != 2 and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"sample_data(n, rng): {a.shape[1]}-D data are taken as pixels and must lie in [0, 1]")
    return a


# ------------------------------------------------------------------------------------------------ metrics
def _pair(x, x_hat) -> tuple[np.ndarray, np.ndarray]:
    a, b = (np.asarray(v, dtype=np.float64) for v in (x, x_hat))
    if a.ndim < 2 or a.shape[0] == 0:
        raise ValueError(f"x must hold n >= 1 samples in rows, got shape {a.shape}")
    if a.shape != b.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {a.shape} and {b.shape}")
    for name, v in (("x", a), ("x_hat", b)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} contains NaN or infinite values")
    return a.reshape(len(a), -1), b.reshape(len(b), -1)


def reconstruction_error(x, x_hat) -> float:
    r"""The mean over samples of the squared Euclidean distance, :math:`\frac1n\sum_i \lVert x_i - \hat x_i\rVert^2`.

    For images (pixels in [0, 1], ``(n, 28, 28)`` or ``(n, 784)``) the inner sum runs over the 784 pixels;
    for 2-D points over the two coordinates. ``x`` and ``x_hat`` have the same shape, samples in rows."""
    a, b = _pair(x, x_hat)
    return float(np.mean(np.sum((a - b) ** 2, axis=1)))


def reconstruction_accuracy(model: DigitCNN, x_hat, labels) -> float:
    """The share of reconstructions ``x_hat`` (``(n, 28, 28)`` or ``(n, 784)``, pixels in [0, 1]) that the
    shared classifier ``model`` (:func:`~minelib.applications.classifier.classifier`) assigns to the *label*
    of their input, ``labels`` ``(n,)``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be the shared MNIST classifier (a torch module), got {type(model).__name__}")
    images, labels = np.asarray(x_hat, dtype=np.float64), np.asarray(labels)
    if images.ndim not in (2, 3) or images.shape[1:] not in ((784,), (28, 28)):
        raise ValueError(f"x_hat must be (n, 28, 28) or (n, 784) images, got shape {images.shape}")
    if not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1:
        raise ValueError("x_hat must hold finite pixels in [0, 1]")
    if labels.shape != (len(images),) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be ({len(images)},) integers, got shape {labels.shape} of {labels.dtype}")
    return float(np.mean(predict(model, images.reshape(-1, 28, 28)) == labels))


def mode_accuracy(x, x_hat, centers=GRID) -> float:
    """For 2-D toy data: the share of reconstructions whose nearest mode (of ``centers``, default the 25
    Gaussians' grid) is the nearest mode of their input."""
    a, b = _pair(x, x_hat)
    c = np.asarray(centers, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != a.shape[1] or len(c) == 0:
        raise ValueError(f"centers must be (K, {a.shape[1]}) modes, got shape {c.shape}")

    def nearest(p):
        return np.linalg.norm(p[:, None, :] - c[None, :, :], axis=-1).argmin(1)

    return float(np.mean(nearest(a) == nearest(b)))
