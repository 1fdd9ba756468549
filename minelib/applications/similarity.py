r"""MS-SSIM of MNIST digits, scaled down to 28 × 28 (paper §5.2 reports it for reconstructions).

Multi-scale structural similarity (Wang, Simoncelli & Bovik, 2003) compares two images at :math:`M` scales,
each half the size of the previous one: at scale :math:`j` the *contrast-structure* term
:math:`cs_j = \frac{2\sigma_{ab} + C_2}{\sigma_a^2 + \sigma_b^2 + C_2}` (local statistics in a sliding window,
averaged over the image), at the coarsest scale the full SSIM :math:`s_M` (which also compares the means),
and combines them as :math:`s_M^{\beta_M}\prod_{j<M} cs_j^{\beta_j}`; :math:`C_1 = (0.01 L)^2`,
:math:`C_2 = (0.03 L)^2`, :math:`L = 1` the data range. It is 1 for identical images and lower the more
their local structure differs.

The standard setting (5 scales, an 11 × 11 Gaussian window of :math:`\sigma = 1.5`, weights
:math:`\beta = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)`) needs images of at least 161 pixels a side. On
28 × 28 digits this module uses

* **3 scales** (28, 14 and 7 pixels) with the first three weights renormalised to sum to 1,
  :math:`\beta = (0.0448, 0.2856, 0.3001) / 0.6305`. torchmetrics does *not* renormalise: with the raw
  weights, whose sum is 0.63, every score :math:`s < 1` would be lifted to about :math:`s^{0.63}`;
* a **uniform 3 × 3 window** (``gaussian_kernel=False, kernel_size=3``). Beware: with torchmetrics' default
  ``gaussian_kernel=True`` the argument ``kernel_size`` only enters its size checks, and the window is an
  11 × 11 Gaussian of ``sigma=1.5`` whatever ``kernel_size`` says, wider than the 7-pixel coarsest scale;
* negative per-scale terms clipped to 0 (torchmetrics' ``normalize="relu"``, its default), so that a
  fractional power of a negative number never arises.

The values are therefore not comparable with the paper's 0.97 and 0.99 digit for digit; the ordering of
two models is what they show.

References
----------
Z. Wang, E. P. Simoncelli and A. C. Bovik, "Multiscale structural similarity for image quality
assessment", Asilomar 2003. M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, §5.2.
"""

from __future__ import annotations

import numpy as np

BETAS = (0.0448, 0.2856, 0.3001)
WEIGHTS = tuple(b / sum(BETAS) for b in BETAS)  # the exponents used: renormalised to sum to 1


def _images(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold numbers (uint8 0..255 or floats in [0, 1]), got dtype {a.dtype}")
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 3 or a.shape[1:] != (28, 28) or len(a) == 0:
        raise ValueError(f"{name} must be (n, 28, 28) or (n, 1, 28, 28) images with n >= 1, got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float64) / 255.0
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if a.min() < 0 or a.max() > 1:
        raise ValueError(f"{name} must hold pixels in [0, 1] (or uint8 0..255), got [{a.min():.3g}, {a.max():.3g}]")
    return a


def ms_ssim(a, b, *, per_image: bool = False) -> float | np.ndarray:
    """The 3-scale MS-SSIM (module docstring) of each pair ``(a[i], b[i])`` of 28 × 28 images, averaged over
    the pairs (a float), or one value per pair with ``per_image=True`` (an ``(n,)`` array).

    ``a``, ``b``: ``(n, 28, 28)`` or ``(n, 1, 28, 28)``, the same shape; uint8 0..255 or floats in [0, 1].
    Needs ``torchmetrics``.
    """
    x, y = _images("a", a), _images("b", b)
    if x.shape != y.shape:
        raise ValueError(f"a and b must hold the same number of images, got {np.shape(a)} and {np.shape(b)}")
    try:
        from torchmetrics.image import MultiScaleStructuralSimilarityIndexMeasure
    except ImportError as e:
        raise ImportError("ms_ssim needs torchmetrics: pip install torchmetrics") from e
    import torch

    metric = MultiScaleStructuralSimilarityIndexMeasure(
        gaussian_kernel=False, kernel_size=3, betas=WEIGHTS, data_range=1.0, reduction="none", normalize="relu"
    )
    with torch.no_grad():
        values = metric(torch.as_tensor(x).unsqueeze(1), torch.as_tensor(y).unsqueeze(1))
    values = values.reshape(-1).numpy().astype(np.float64)
    return values if per_image else float(values.mean())
