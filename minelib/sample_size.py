r"""A bias diagnostic for one data set: the estimate on fractions of it, and its trend towards infinite data.

A neural lower bound trained on :math:`N` pairs sits below the truth by what its critic could not learn from
them, a bias that shrinks as :math:`N` grows; a standard error does not show it. Re-estimating on random
subsets of :math:`N/4` and :math:`N/2` pairs shows the trend: estimates that still rise with :math:`N` (beyond
their noise) say the full-data estimate is limited by the data and likely low, while a flat curve says more
pairs of the same kind would not change it. The extrapolation fits :math:`\hat I(n) = I_\infty + a/n` by
weighted least squares, as NeuralMI (Holmes & Nemenman, 2019) does for its subsampling curves; it is a
diagnostic, not a corrected estimate.

References
----------
C. M. Holmes, I. Nemenman, "Estimation of mutual information for real-valued data with error bars and
controlled bias", Phys. Rev. E 100, 022404 (2019).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from minelib._checks import ArrayLike, derived_seed, in_interval, seed_value
from minelib.bounds import get_bound
from minelib.preprocess import checked_pair


@dataclass(frozen=True)
class SampleSizeCurve:
    """Estimates (nats) on random subsets of ``n`` pairs, their standard errors, and the fit ``I_inf + a / n``."""

    n: np.ndarray
    estimates: np.ndarray
    stderr: np.ndarray
    extrapolated: float  #: :math:`I_\infty`, the fitted estimate at infinite data
    rise: float  #: the fitted rise from the smallest subset to the full data, in nats
    rise_stderr: float  #: its standard error, from the estimates' standard errors

    @property
    def still_rising(self) -> bool:
        """Whether the estimate rises with the data by more than two standard errors (then the full-data value is
        data-limited)."""
        return self.rise > 2 * self.rise_stderr


def sample_size_curve(
    x: ArrayLike,
    z: ArrayLike,
    fractions: Sequence[float] = (0.25, 0.5, 1.0),
    *,
    method: str | None = None,
    seed: int | None = 0,
    **settings,
) -> SampleSizeCurve:
    """Estimate MI on random subsets of the pairs (one per fraction; ``1.0`` is the whole data set) with
    :func:`~minelib.estimate_mi` and the same ``method`` and ``settings``, and fit :math:`I_\\infty + a/n`.

    Parameters
    ----------
    x, z : *array-like*
        Paired samples in rows, as for :func:`~minelib.estimate_mi`.
    fractions : *sequence* of float
        At least two distinct fractions in (0, 1] of the pairs.
    method, **settings
        As for :func:`~minelib.estimate_mi` (a neural method: KSG has no standard error to weigh the fit by).
        InfoNCE (the default) keeps one block size for every subset, that of the smallest, so that its cap
        :math:`\\ln b` does not grow with the subsets and pass for a trend.
    seed : int or None
        Seeds the subsets and each fit.

    Returns
    -------
    SampleSizeCurve

    References
    ----------
    Holmes, C. M., I. Nemenman, Phys. Rev. E 100, 022404 (2019).
    """
    from minelib.bounds import NAMES
    from minelib.estimate import default_batch, estimate_mi, resolved

    fractions = _fractions(fractions)
    if method is not None and method not in NAMES:
        raise ValueError(
            f"sample_size_curve needs a neural method (one of {list(NAMES)} or None), got {method!r}: KSG and the "
            "discrete estimators have no standard error to weigh the fit by"
        )
    x, z = checked_pair(x, z)
    sizes = [int(round(f * len(x))) for f in fractions]
    if len(set(sizes)) < len(sizes):
        raise ValueError(f"fractions {fractions} of {len(x)} pairs give subsets of equal sizes {sizes}: spread them")
    method, settings = resolved(method, settings)
    if get_bound(method).multi_sample and "batch_size" not in settings:  # one block size for every subset
        settings = {**settings, "batch_size": max(2, default_batch(sizes[0], settings))}
    rng = np.random.default_rng(seed_value("seed", seed))
    values, errors = [], []
    for i, (fraction, size) in enumerate(zip(fractions, sizes)):
        rows = np.sort(rng.permutation(len(x))[:size])
        try:
            result = estimate_mi(x[rows], z[rows], method, seed=derived_seed(seed, i), **settings)
        except ValueError as e:  # the smallest subset runs first: nothing is wasted
            raise ValueError(f"fractions: {fraction} of {len(x)} pairs is {size} pairs, too few here: {e}") from e
        values.append(result.estimate)
        errors.append(result.stderr)
    return _fit(np.array(sizes, dtype=float), np.array(values), np.array(errors))


def _fractions(fractions) -> list[float]:
    """At least two distinct numbers in (0, 1], sorted."""
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Iterable):
        raise TypeError(f"fractions must be a sequence of numbers in (0, 1], e.g. (0.25, 0.5, 1.0), got {fractions!r}")
    fractions = sorted({in_interval("fractions", f, 0.0, 1.0, closed="right") for f in fractions})
    if len(fractions) < 2:
        raise ValueError(f"fractions needs at least two distinct values in (0, 1], got {fractions}")
    return fractions


def _fit(n: np.ndarray, est: np.ndarray, se: np.ndarray) -> SampleSizeCurve:
    """Weighted least squares of ``est`` on ``[1, 1/n]``; the rise is ``-a (1/n_min - 1/n_max)``."""
    design = np.column_stack([np.ones_like(n), 1.0 / n])
    w = 1.0 / np.maximum(se, 1e-12) ** 2
    cov = np.linalg.pinv(design.T @ (design * w[:, None]))
    coef = cov @ design.T @ (w * est)
    span = 1.0 / n.min() - 1.0 / n.max()
    return SampleSizeCurve(n, est, se, float(coef[0]), float(-coef[1] * span), float(np.sqrt(cov[1, 1]) * span))


__all__ = ["SampleSizeCurve", "sample_size_curve"]
