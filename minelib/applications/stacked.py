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
from minelib.applications.classifier import DigitCNN, predict
from minelib.mnist import MNIST


def stacked_mnist(data: MNIST, n: int, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` stacks of three digits drawn independently from ``data``: uint8 images ``(n, 3, 28, 28)`` and
    their classes ``(n, 3)``."""
    rng = np.random.default_rng(seed_value("seed", seed))
    rows = rng.integers(len(data.labels), size=(positive_int("n", n), 3))
    return data.images[rows], data.labels[rows]


def count_modes(images: np.ndarray, model: DigitCNN) -> dict:
    """Modes covered and :math:`\\mathrm{KL}(p\\,\\|\\,U_{1000})` of ``(n, 3, 28, 28)`` stacks, each channel
    classified by ``model``. Returns ``{"modes": int, "kl": float, "counts": (1000,) array}``."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (3, 28, 28):
        raise ValueError(f"images must be (n, 3, 28, 28) stacks, got shape {images.shape}")
    classes = np.stack([predict(model, images[:, k]) for k in range(3)], 1)
    counts = np.bincount(classes @ np.array([100, 10, 1]), minlength=1000)
    p = counts[counts > 0] / counts.sum()
    return {"modes": int((counts > 0).sum()), "kl": float(np.sum(p * np.log(p * 1000))), "counts": counts}
