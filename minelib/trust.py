r"""When not to trust an estimate: the checks behind every :class:`~minelib.MINEWarning`, as functions of arrays.

Each check takes plain arrays (samples, a training history, estimates and their standard errors) and returns
the problems it finds as messages that say why and what to do; :func:`warn` emits them. The estimators call
them (:class:`~minelib.MINE` before and after training, :func:`~minelib.ksg_mi` on its inputs); tests call them
on synthetic arrays.

* before any work: heavy-tailed or (without preprocessing) offset coordinates (:func:`column_problems`), and for
  KSG duplicated rows or tied values (:func:`tie_problems`);
* after training (:func:`fit_problems`): non-finite values, a collapsing validation curve, a test estimate below
  zero by more than its noise, one above what the test split can certify (:math:`\ln` of its number of
  re-paired pairs, McAllester & Stratos 2020), one near a bound's own cap (InfoNCE's :math:`\ln b`).
"""

from __future__ import annotations

import math
import os
import sys
import warnings

import numpy as np

from minelib._checks import MINEWarning
from minelib.preprocess import heavy_tailed_columns, offset_columns

_PACKAGE = os.path.dirname(os.path.abspath(__file__))

HEAVY_TAILS = (
    "is heavy-tailed (kurtosis {:.0f}; a Gaussian has 3): MINE's critic sees rare huge values and its estimate can "
    "be far off. preprocess='copula' maps each coordinate to normal scores of its ranks, which leaves the MI "
    "unchanged."
)
OFFSET = (
    "sits {:.0e} standard deviations from zero: the network sees nearly the same large input for every sample (and "
    "float32 keeps few of its digits), so it can learn nothing. Use preprocess='standardize'."
)


def warn(problems: list[str]) -> None:
    """Emit each problem as a :class:`~minelib.MINEWarning` attributed to the caller's line outside minelib."""
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is warn's caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back
    for problem in problems:
        warnings.warn(problem, MINEWarning, stacklevel=level)


def members(bad: np.ndarray) -> str:
    """`` (ensemble members [...])`` naming the flagged members of an ensemble; empty for a single model."""
    return "" if bad.size == 1 else f" (ensemble members {np.flatnonzero(bad).tolist()})"


def column_problems(x: np.ndarray, z: np.ndarray, preprocess: str) -> list[str]:
    """Before training: heavy tails (unless the copula is used) and, without preprocessing, large offsets."""
    checks = [] if preprocess == "copula" else [(heavy_tailed_columns, HEAVY_TAILS)]
    if preprocess == "none":
        checks.append((offset_columns, OFFSET))
    problems = []
    for check, message in checks:
        for name, a in (("x", x), ("z", z)):
            found = check(a)
            if found:
                problems.append(f"{name} column {found[0]} " + message.format(found[1]))
    return problems


def _duplicated(a: np.ndarray) -> int:
    """How many rows of ``a`` equal another row."""
    _, inverse, counts = np.unique(a, axis=0, return_inverse=True, return_counts=True)
    return int((counts[inverse.ravel()] > 1).sum())


def tie_problems(x: np.ndarray, z: np.ndarray) -> list[str]:
    """KSG assumes continuous data: duplicated ``(x, z)`` rows, or more than 1% tied values in one variable."""
    n = len(x)
    joint = _duplicated(np.hstack([x, z]))
    if joint:
        return [
            f"{joint} of {n} samples duplicate another (x, z) row: KSG assumes continuous data, and each duplicate "
            "is a neighbour at distance 0, which inflates the estimate. Remove the duplicates, or add noise far "
            "below the data's resolution if they are an artefact of rounding."
        ]
    problems = []
    for name, a in (("x", x), ("z", z)):
        tied = _duplicated(a)
        if tied > 0.01 * n:
            problems.append(
                f"{tied} of {n} samples share their {name} value with another sample: {name} looks discrete "
                "or rounded, and KSG's neighbour counts are biased on tied values."
            )
    return problems


def fit_problems(
    train: np.ndarray,
    val: np.ndarray,
    values: np.ndarray,
    se: np.ndarray,
    n_marginal: int,
    caps: np.ndarray,
    checkpoint: str = "best",
) -> list[str]:
    """After training: what is wrong with the test estimates ``values`` (``(n_models,)``, standard errors ``se``).

    ``train``: the recorded training values ``(steps, n_models)``; ``val``: the validation values
    ``(n_evals, n_models)``; ``n_marginal``: the re-paired test pairs behind each value; ``caps``: each member's
    own cap (``inf`` for none, e.g. :math:`\\ln b` for InfoNCE).
    """
    values, se, caps = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (values, se, caps))
    train, val = np.asarray(train, float).reshape(-1, values.size), np.asarray(val, float).reshape(-1, values.size)
    problems = []
    nonfinite = ~np.isfinite(train).all(0) | ~np.isfinite(values)
    if nonfinite.any():
        problems.append(
            f"training produced non-finite values{members(nonfinite)}: the network diverged "
            "(lower lr, or preprocess the data)"
        )
    problems += _collapse(val, checkpoint)
    negative = np.isfinite(values) & ((values < -(0.05 + 3 * se)) | (values < -1))
    if negative.any():
        problems.append(
            f"the test estimate {values[negative].min():.3g} nats is below zero by more than its noise "
            f"(or by more than 1 nat){members(negative)}: MI is never negative and a constant critic "
            "scores 0, so this critic is broken (diverged training, unscaled or heavy-tailed data)"
        )
    return problems + _beyond_ceiling(values, n_marginal, caps) + _near_cap(values, caps)


def _collapse(val: np.ndarray, checkpoint: str) -> list[str]:
    best = np.nanmax(np.where(np.isfinite(val), val, np.nan), 0, initial=-np.inf)
    last = val[-1] if len(val) else np.full(val.shape[1], np.nan)
    collapsed = np.isfinite(best) & ~(last >= np.minimum(best - 1.0, -1.0))
    if not collapsed.any():
        return []
    return [
        f"the validation bound collapsed from {best[collapsed].min():.3g} to {np.nanmin(last[collapsed]):.3g} "
        f"nats{members(collapsed)}: training is unstable (learning rate too high?)"
        + ("; the estimate comes from the best checkpoint" if checkpoint == "best" else "")
    ]


def _beyond_ceiling(values: np.ndarray, n_marginal: int, caps: np.ndarray) -> list[str]:
    # A sample estimate above ln(number of marginal pairs) says only that the critic separates the test's joint
    # pairs from its re-paired ones: the log-mean-exp of e^T then misses the rare re-paired pairs that would pull
    # it down, and can grow without bound (no estimator certifies more than about ln N from N samples: McAllester
    # & Stratos, 2020). Members with a cap of their own (InfoNCE) are checked against it instead.
    ceiling = math.log(n_marginal)
    beyond = np.isfinite(values) & (values > ceiling) & ~np.isfinite(caps)
    if not beyond.any():
        return []
    return [
        f"the test estimate {values[beyond].max():.3g} nats exceeds ln(number of re-paired test pairs) = "
        f"{ceiling:.3g}{members(beyond)}: the critic separates the joint from the re-paired test "
        "pairs, and from this many samples no estimate above that can be trusted (the true MI may be "
        "lower or higher); use more test pairs (test_fraction, n_shuffles) or report it as 'at least "
        "about' that value"
    ]


def _near_cap(values: np.ndarray, caps: np.ndarray) -> list[str]:
    capped = np.isfinite(caps) & np.isfinite(values) & (values > caps - 0.5)
    if not capped.any():
        return []
    return [
        f"the InfoNCE estimate {values[capped].max():.3g} nats is near its cap ln(batch_size) = "
        f"{caps[capped].min():.3g}{members(capped)}: InfoNCE never exceeds ln b, so the MI may be much larger "
        "(raise batch_size, or use a bound without a cap such as 'smile')"
    ]
