r"""A small DCGAN for 3 × 28 × 28 images (Stacked MNIST), and the statistics network of its MI term.

:func:`minelib.applications.gan.train_gan` trains these with ``networks=dcgan_networks``: the same objective,
optimisers and adaptive clipping as the two-dimensional GAN, only the three networks change.

* :class:`DCGenerator`: :math:`[\varepsilon, c]` → a linear layer to 2w × 7 × 7 → two transposed convolutions
  (stride 2: 7 → 14 → 28), batch normalisation and ReLU between them, ``tanh`` output in [−1, 1].
* :class:`DCDiscriminator`: two stride-2 convolutions (28 → 14 → 7, LeakyReLU 0.2, batch normalisation on the
  second) and a linear layer to one logit.
* :class:`ImageCodeCritic`: :math:`T(x, c)` for the MI term: a convolutional embedding of the image (the
  discriminator's layout, without batch normalisation: a critic's score must not depend on the rest of
  the batch) joined to the code, then an MLP. It takes the image *flattened*, as :class:`~minelib.MITerm`
  passes ``(b, dim)`` batches.

The widths are smaller than the usual DCGAN's (``width`` = 32 against 64) so that a short run fits on a CPU.

References
----------
A. Radford, L. Metz, S. Chintala, "Unsupervised Representation Learning with Deep Convolutional Generative
Adversarial Networks", ICLR 2016. M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, §5.1.
"""

from __future__ import annotations

import torch
from torch import nn

from minelib._checks import positive_int

IMAGE = (3, 28, 28)


def _down(channels: int, width: int, batch_norm: bool) -> list[nn.Module]:
    """28 → 14 → 7: two 4 × 4 convolutions of stride 2 with LeakyReLU(0.2), to ``2 width`` channels."""
    second = [nn.BatchNorm2d(2 * width)] if batch_norm else []
    return [
        nn.Conv2d(channels, width, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, 2, 1),
        *second,
        nn.LeakyReLU(0.2),
        nn.Flatten(),
    ]


class DCGenerator(nn.Module):
    """:math:`G([\\varepsilon, c])`: noise and code to a ``(3, 28, 28)`` image in [−1, 1]."""

    def __init__(self, noise_dim: int, code_dim: int, width: int = 32):
        super().__init__()
        self.noise_dim, self.code_dim = positive_int("noise_dim", noise_dim), positive_int("code_dim", code_dim)
        w = positive_int("width", width)
        self.out_shape = IMAGE
        self.net = nn.Sequential(
            nn.Linear(noise_dim + code_dim, 2 * w * 7 * 7),
            nn.Unflatten(1, (2 * w, 7, 7)),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.ConvTranspose2d(w, IMAGE[0], 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, eps: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([eps, c], 1))


class DCDiscriminator(nn.Module):
    """One logit per ``(3, 28, 28)`` image."""

    def __init__(self, width: int = 32):
        super().__init__()
        w = positive_int("width", width)
        self.net = nn.Sequential(*_down(IMAGE[0], w, batch_norm=True), nn.Linear(2 * w * 7 * 7, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class ImageCodeCritic(nn.Module):
    """:math:`T(x, c)` with ``x`` a flattened ``(3, 28, 28)`` image: ``critic(x, c) -> (1, n)`` scores."""

    n_models = 1

    def __init__(self, code_dim: int, width: int = 32, hidden: int = 128):
        super().__init__()
        w, hidden = positive_int("width", width), positive_int("hidden", hidden)
        self.embed = nn.Sequential(*_down(IMAGE[0], w, batch_norm=False), nn.Linear(2 * w * 7 * 7, hidden), nn.ELU())
        self.head = nn.Sequential(
            nn.Linear(hidden + positive_int("code_dim", code_dim), hidden), nn.ELU(), nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.embed(x.reshape(-1, *IMAGE))
        return self.head(torch.cat([h, c], 1)).reshape(1, -1)


def dcgan_networks(config) -> tuple[DCGenerator, DCDiscriminator, ImageCodeCritic]:
    """The three networks of a Stacked MNIST GAN for a :class:`~minelib.applications.gan.GANConfig`
    (``width`` = its first hidden width)."""
    width = config.hidden[0]
    code_dim = config.code_dim * config.code_groups
    return DCGenerator(config.noise_dim, code_dim, width), DCDiscriminator(width), ImageCodeCritic(code_dim, width)
