r"""Stacked MNIST (paper §5.1): three MNIST digits as the colour channels of one 3 × 28 × 28 image, 1,000
modes (one per triple of classes), and the mode counter of the literature.

The counter classifies each channel with the shared MNIST classifier
(:func:`minelib.applications.classifier.classifier`); a mode is a distinct triple; the number of modes
covered among the samples (26,000 in the paper) and the KL divergence of the triples' histogram from the
uniform one over 1,000, :math:`\mathrm{KL}(p_{\text{gen}}\,\|\,U)`, measure mode dropping.

References
----------
M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, §5.1 (Table 1). L. Metz et al.,
"Unrolled Generative Adversarial Networks", ICLR 2017 (Stacked MNIST).
"""

from __future__ import annotations

import numpy as np

from minelib._checks import positive_int, seed_value
from minelib.applications.classifier import DigitCNN, probabilities
from minelib.mnist import MNIST

CONFIDENT = 0.9


def stacked_mnist(data: MNIST, n: int, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` stacks of three digits drawn independently from ``data``: uint8 images ``(n, 3, 28, 28)`` and
    their classes ``(n, 3)``."""
    rng = np.random.default_rng(seed_value("seed", seed))
    rows = rng.integers(len(data.labels), size=(positive_int("n", n), 3))
    return data.images[rows], data.labels[rows]


def stacked_sampler(data: MNIST):
    """``sample_data(n, rng)`` for :func:`~minelib.applications.gan.train_gan`: ``n`` fresh stacks of ``data``'s
    digits as floats in [−1, 1], ``(n, 3, 28, 28)`` (the DCGAN generator's ``tanh`` range)."""
    if not isinstance(data, MNIST):
        raise TypeError(f"data must be an MNIST from minelib.mnist.load_mnist, got {type(data).__name__}")
    images = data.images.astype(np.float32) / 127.5 - 1.0

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        return images[rng.integers(len(images), size=(n, 3))]

    return sample


def count_modes(images: np.ndarray, model: DigitCNN) -> dict:
    """Modes covered and :math:`\\mathrm{KL}(p\\,\\|\\,U_{1000})` of ``(n, 3, 28, 28)`` stacks, each channel
    classified by ``model``: uint8 in 0..255, or floats in [0, 1] (a generator's [−1, 1] output mapped by
    ``(x + 1) / 2``). Returns ``{"modes": int, "kl": float, "confident": float, "counts": (1000,) array}``;
    ``confident`` is the share of stacks whose three channels are each classified with probability at least
    ``CONFIDENT`` (0.9): a count of modes means little when the classifier is guessing on blurry digits."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (3, 28, 28):
        raise ValueError(f"images must be (n, 3, 28, 28) stacks, got shape {images.shape}")
    probs = np.stack([probabilities(model, images[:, k]) for k in range(3)], 1)  # (n, 3, 10)
    classes = probs.argmax(2)
    counts = np.bincount(classes @ np.array([100, 10, 1]), minlength=1000)
    p = counts[counts > 0] / counts.sum()
    return {
        "modes": int((counts > 0).sum()),
        "kl": float(np.sum(p * np.log(p * 1000))),
        "confident": float(np.mean(probs.max(2).min(1) >= CONFIDENT)),
        "counts": counts,
    }
