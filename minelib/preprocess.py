r"""Preprocessing shared by every estimator: what makes an estimate independent of the data's units.

Mutual information is unchanged by invertible maps of :math:`X` and of :math:`Z` separately, so an
estimator may transform each coordinate first; a good transform removes what estimators handle badly
(units, offsets, heavy tails) and keeps every bit of dependence.

* ``"none"``: the data as given.
* ``"standardize"``: each coordinate minus its mean, over its standard deviation, computed in
  ``float64`` before any cast to a training dtype (so ``x * 1e4`` or ``x + 1e6`` give the same numbers
  as ``x``, up to rounding).
* ``"copula"``: each coordinate mapped to the normal scores of its ranks, :math:`\Phi^{-1}(u)` with
  :math:`u = (\text{mid-rank} + 1/2) / (n + 1)`; a strictly increasing map for continuous data, so the MI is
  unchanged, and the result is standard normal in every coordinate whatever the tails were.

A transform is *fitted* on one sample (MINE: the training split) and then applied to any other; the
copula places a new value by its mid-rank among the fitted sample's values.

:func:`prepare` is what every estimator does first, once per call: validate the pairs, split them (MINE:
training, validation, test), fit the transform on the training rows (KSG: on all rows) and apply it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from minelib._checks import as_samples, choice, in_open_interval, same_rows

PREPROCESS = ("none", "standardize", "copula")
Transform = Callable[[np.ndarray], np.ndarray]


def _constant_columns(name: str, a: np.ndarray) -> None:
    spread = np.ptp(a, axis=-2)
    if np.any(spread == 0):
        column = int(np.argwhere(spread == 0)[0][-1])
        raise ValueError(
            f"{name} column {column} is constant over the {a.shape[-2]} samples it was fitted on: it carries no "
            "information (if it varies in your data, its spread is below the float64 resolution of its offset)"
        )


def fit_preprocess(name: str, kind: str, a: np.ndarray) -> Transform:
    """Fit the transform ``kind`` on samples ``a`` (``(..., n, dim)``, ``float64``) and return it.

    Raises ``ValueError`` naming ``name`` when a coordinate is constant (nothing to learn, and no scale).
    """
    choice("preprocess", kind, PREPROCESS)
    if kind == "none":
        return lambda b: b
    _constant_columns(name, a)
    if kind == "standardize":
        scale = np.abs(a).max(-2, keepdims=True)  # divided out first, so huge values cannot overflow a square
        mean, std = (a / scale).mean(-2, keepdims=True), (a / scale).std(-2, keepdims=True)
        return lambda b: (b / scale - mean) / std  # (the constant check above guarantees scale > 0)
    fitted = np.sort(a, axis=-2)
    n = a.shape[-2]

    def copula(b: np.ndarray) -> np.ndarray:
        out = np.empty_like(b)
        for index in np.ndindex(*b.shape[:-2], b.shape[-1]):  # one column (of one ensemble member) at a time
            lead, column = index[:-1], index[-1]
            s, v = fitted[(*lead, slice(None), column)], b[(*lead, slice(None), column)]
            mid_rank = 0.5 * (np.searchsorted(s, v, "left") + np.searchsorted(s, v, "right"))
            out[(*lead, slice(None), column)] = ndtri((mid_rank + 0.5) / (n + 1))
        return out

    return copula


def preprocess(name: str, kind: str, a: np.ndarray) -> np.ndarray:
    """Fit ``kind`` on ``a`` and apply it to ``a`` (what an estimator without a split, such as KSG, does)."""
    return fit_preprocess(name, kind, a)(a)


def _by_largest(a: np.ndarray) -> np.ndarray:
    """Each column divided by its largest absolute value: squares of the result cannot overflow."""
    return a / np.maximum(np.abs(a).max(-2, keepdims=True), np.finfo(float).tiny)


def heavy_tailed_columns(a: np.ndarray, threshold: float = 30.0) -> tuple[int, float] | None:
    r"""The coordinate with the largest kurtosis :math:`\mathbb{E}[(a-\mu)^4]/\sigma^4` if it exceeds
    ``threshold`` (a Gaussian has 3; samples of Student-t with 2 degrees of freedom reach hundreds)."""
    a = _by_largest(a)
    std = a.std(-2, keepdims=True)
    scaled = (a - a.mean(-2, keepdims=True)) / np.where(std > 0, std, 1.0)  # at most sqrt(n): no overflow
    kurtosis = (scaled**4).mean(-2)
    # a column of two values (a rare flag, one category of a one-hot code) has kurtosis about 1/p but no tail
    two_valued = (a == a.min(-2, keepdims=True)) | (a == a.max(-2, keepdims=True))
    return _worst(np.where(two_valued.all(-2), 0.0, kurtosis), threshold)


def offset_columns(a: np.ndarray, threshold: float = 1e3) -> tuple[int, float] | None:
    """The coordinate whose mean lies furthest from zero in standard deviations, if beyond ``threshold``:
    without preprocessing, a network sees nearly the same large input for every sample."""
    a = _by_largest(a)
    return _worst(np.abs(a.mean(-2)) / np.maximum(a.std(-2), np.finfo(float).tiny), threshold)


def _worst(score: np.ndarray, threshold: float) -> tuple[int, float] | None:
    worst = np.unravel_index(np.argmax(score), score.shape)
    return (int(worst[-1]), float(score[worst])) if score[worst] > threshold else None


@dataclass(frozen=True)
class Prepared:
    """Validated pairs, split and preprocessed: ``splits[name] = (x, z)`` float64 arrays (``"all"`` without a
    split; else ``"train"``, ``"val"``, ``"test"``), the ``transforms`` fitted on the training rows, and
    ``train_raw``: the training rows before preprocessing (what the trust checks look at)."""

    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    transforms: tuple[Transform, Transform]
    train_raw: tuple[np.ndarray, np.ndarray]


def checked_pair(x, z, *, max_ndim: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Paired samples validated once: ``float64`` arrays, samples in rows, finite, with the same rows
    (``max_ndim=3`` admits an ensemble axis in front)."""
    x, z = as_samples("x", x, max_ndim=max_ndim), as_samples("z", z, max_ndim=max_ndim)
    same_rows(x, z)
    return x, z


def split_rows(n: int, val_fraction: float, test_fraction: float, seed: int | None) -> dict[str, np.ndarray]:
    """A random three-way split of ``n`` rows: ``round(n * test_fraction)`` test rows, then
    ``round(n * val_fraction)`` validation rows, the rest for training."""
    in_open_interval("val_fraction", val_fraction, 0.0, 1.0)
    in_open_interval("test_fraction", test_fraction, 0.0, 1.0)
    n_val, n_test = int(round(n * val_fraction)), int(round(n * test_fraction))
    order = np.random.default_rng(seed).permutation(n)
    return {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}


def prepare(x, z, kind: str = "standardize", *, rows: dict[str, np.ndarray] | None = None) -> Prepared:
    """Split validated pairs ``x``, ``z`` (``(..., n, dim)`` float64, from :func:`checked_pair`) by ``rows``
    (from :func:`split_rows`; ``None``: no split), fit ``kind`` on the training rows and apply it to every split."""
    choice("preprocess", kind, PREPROCESS)
    rows = rows if rows is not None else {"all": slice(None)}
    train = rows.get("train", rows.get("all"))
    raw = (x[..., train, :], z[..., train, :])
    transforms = (fit_preprocess("x", kind, raw[0]), fit_preprocess("z", kind, raw[1]))
    splits = {name: (transforms[0](x[..., r, :]), transforms[1](z[..., r, :])) for name, r in rows.items()}
    return Prepared(splits, transforms, raw)
