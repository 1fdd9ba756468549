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
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from minelib._checks import MINEWarning
from minelib.preprocess import heavy_tailed_columns, offset_columns

_PACKAGE = os.path.dirname(os.path.abspath(__file__))

HEAVY_TAILS = (
    "is heavy-tailed (kurtosis {:.0f}; a Gaussian has 3): {}. preprocess='copula' maps each coordinate to normal "
    "scores of its ranks, which leaves the MI unchanged."
)
WHY_HEAVY = {
    "MINE": "MINE's critic sees rare huge values and its estimate can be far off",
    "KSG": "a few extreme values set the scale, the other points crowd together and KSG's neighbour counts lose "
    "their resolution, so its estimate can be far off (one outlier among 300 took it from 0.55 to 0.003 nats; "
    "exp(3x) cost it half the MI)",
    "KSG, none": "its values span many scales, so KSG's neighbourhoods are far from uniform where they spread out and "
    "the estimate is biased (at n = 2,000, rho = 0.9: sinh(2x) read 11% low, exp(3x) 17% low)",
}
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


def overflow_advice(name: str, dtype, preprocess: str) -> str:
    """The error for samples that overflow the training dtype once preprocessed, advising what is not in use."""
    instead = {
        "none": "preprocess='standardize' or 'copula', or ",
        "standardize": "preprocess='copula' (a value far beyond the training split's range), or ",
    }.get(preprocess, "")
    return f"{name} overflows {dtype} after preprocess={preprocess!r}: use {instead}dtype=torch.float64"


_NAMES: ContextVar[list[str] | None] = ContextVar("member_names", default=None)


@contextmanager
def member_names(names):
    """Inside, the warnings name an ensemble's members by ``names`` (e.g. ``"nwj on data set 3"``) rather than by
    their index: what :func:`~minelib.estimate_many` knows and its caller understands."""
    token = _NAMES.set(list(names))
    try:
        yield
    finally:
        _NAMES.reset(token)


def members(bad: np.ndarray) -> str:
    """`` (ensemble members [...])`` naming the flagged members of an ensemble; empty for a single model."""
    if bad.size == 1:
        return ""
    index, names = np.flatnonzero(bad).tolist(), _NAMES.get()
    if names is not None and len(names) == bad.size:
        return f" ({', '.join(names[i] for i in index)})"
    return f" (ensemble members {index})"


def column_problems(x: np.ndarray, z: np.ndarray, preprocess: str, estimator: str = "MINE") -> list[str]:
    """Before any work: heavy tails or outliers (unless the copula is used) and, for MINE without preprocessing,
    large offsets (KSG's distances do not see offsets)."""
    why = WHY_HEAVY.get(f"{estimator}, {preprocess}", WHY_HEAVY[estimator])
    checks = [] if preprocess == "copula" else [(heavy_tailed_columns, HEAVY_TAILS, why)]
    if preprocess == "none" and estimator == "MINE":
        checks.append((offset_columns, OFFSET, None))
    problems = []
    for check, message, why in checks:
        for name, a in (("x", x), ("z", z)):
            found = check(a)
            if found:
                problems.append(f"{name} column {found[0]} " + message.format(found[1], why))
    return problems


WIDE = 0.5  # standard deviations: the median k-th neighbour distance above which KSG is biased (see radius_problems)


def radius_problems(
    eps: np.ndarray, x: np.ndarray, z: np.ndarray, k: int, preprocess: str = "standardize"
) -> list[str]:
    """KSG assumes the density is nearly constant inside each point's neighbourhood. In high dimension the k-th
    neighbour is far away in every coordinate and the estimate falls well below the truth. Measured on correlated
    Gaussians (1,000 and 4,000 samples, k = 3, standardized; ``bench/ksg_radius.py``): with a median radius up to
    0.41 standard deviations (1 + 1 and 2 + 2 dimensions) every estimate was within 10% of the truth; from 0.53 on
    (5 + 5 dimensions and more) every one was 20% to 88% low. ``WIDE`` sits between."""
    spread = np.hstack([x, z]).std(0)
    spread = spread[spread > 0].min() if (spread > 0).any() else 1.0
    width = float(np.median(eps)) / spread
    if width <= WIDE:
        return []
    return [
        f"KSG's neighbourhoods are wide: the median distance to the k-th neighbour (k = {k}) is {width:.2f} standard "
        f"deviations in the {x.shape[1] + z.shape[1]} joint dimensions (above {WIDE}), so the density is not "
        "constant inside them and the estimate is biased downwards, the more so the larger the MI (on Gaussians: "
        "20-50% low at 5 + 5 dimensions, 75-88% low at 20 + 20; a reading near zero does not show independence); "
        "use more samples, fewer dimensions, or MINE"
        + (
            " (without preprocessing, the coordinate in the largest unit decides every distance: "
            "preprocess='standardize')"
            if preprocess == "none"
            else ""
        )  # fmt: skip
    ]


_ROW_HASH = np.random.default_rng(0).integers(1, 2**63, size=4096, dtype=np.uint64) | np.uint64(1)


def _duplicated(a: np.ndarray) -> int:
    """How many rows of ``a`` equal another row.

    One sort of a 1-D key, not a sort of rows (``np.unique(axis=0)`` sorted rows lexicographically and cost
    three times the KSG estimate itself): the key is the value for one column, else a hash of the rows' bits
    (``-0.0`` made ``0.0`` first, so the equality is that of floats); rows whose hash is shared are then
    compared exactly, so a hash collision cannot count a row twice or miss one.
    """
    a = np.ascontiguousarray(a, dtype=np.float64) + 0.0
    if a.shape[1] == 1:
        return _equal_neighbours(a[:, 0])[0]
    weights = _ROW_HASH[np.arange(a.shape[1]) % len(_ROW_HASH)]
    key = (a.view(np.uint64) * weights).sum(axis=1, dtype=np.uint64)  # wraps modulo 2**64
    count, candidates = _equal_neighbours(key)
    if not count:
        return 0
    _, inverse, counts = np.unique(a[candidates], axis=0, return_inverse=True, return_counts=True)
    return int((counts[inverse.ravel()] > 1).sum())


def _equal_neighbours(key: np.ndarray) -> tuple[int, np.ndarray]:
    """How many entries of ``key`` equal another, and their indices (one sort)."""
    order = np.argsort(key, kind="stable")
    same = key[order[1:]] == key[order[:-1]]
    shared = np.zeros(len(key), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    return int(shared.sum()), order[shared]


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
    lr: float | None = None,
    kept: np.ndarray | None = None,
    eval_step: np.ndarray | None = None,
) -> list[str]:
    """After training: what is wrong with the test estimates ``values`` (``(n_models,)``, standard errors ``se``).

    ``train``: the recorded training values ``(steps, n_models)``; ``val``: the validation values
    ``(n_evals, n_models)``; ``n_marginal``: the re-paired test pairs behind each value; ``caps``: each member's
    own cap (``inf`` for none, e.g. :math:`\\ln b` for InfoNCE). ``lr`` (named in the advice), ``kept`` (each
    member's kept step) and ``eval_step`` (the steps of ``val``) let the divergence checks say more.
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
    advice = f"lower lr (now {lr:g})" if lr is not None else "lower the learning rate"
    problems += _diverged(train, advice) + _collapse(val, checkpoint, train)
    if kept is not None and eval_step is not None:
        problems += _kept_early(val, np.atleast_1d(kept), np.asarray(eval_step), len(train), advice)
    negative = np.isfinite(values) & ((values < -(0.05 + 3 * se)) | (values < -1))
    if negative.any():
        problems.append(
            f"the test estimate {values[negative].min():.3g} nats is below zero by more than its noise "
            f"(or by more than 1 nat){members(negative)}: MI is never negative and a constant critic "
            "scores 0, so this critic is broken (diverged training, unscaled or heavy-tailed data)"
        )
    return problems + _beyond_ceiling(values, n_marginal, caps) + _near_cap(values, caps)


DIVERGED = 10.0  # nats: how far below zero (plus ten times the run's typical size) a training value may fall


def _diverged(train: np.ndarray, advice: str) -> list[str]:
    """A training value far below zero: a critic that takes one step from a constant (value 0) cannot reach it
    unless a step overshot. The threshold grows with the run's typical value (the median of |value|), so that the
    noise of a high-MI run (DV's variance grows like e^I) does not set it off."""
    finite = np.where(np.isfinite(train), train, np.nan)
    if not np.isfinite(finite).any():
        return []
    with warnings.catch_warnings():  # a member without a finite value (reported as non-finite) gives NaN here
        warnings.simplefilter("ignore", RuntimeWarning)
        scale, low = np.nanmedian(np.abs(finite), 0), np.nanmin(finite, 0)
    diverged = np.isfinite(low) & (low < -(DIVERGED + 10 * scale))
    if not diverged.any():
        return []
    step = int(np.nanargmin(finite[:, np.flatnonzero(diverged)[0]]))
    return [
        f"training diverged: the training bound fell to {low[diverged].min():.3g} nats (step {step})"
        f"{members(diverged)}, far below anything a learning critic reaches, so the network the estimate comes from "
        f"may never have recovered; {advice}"
    ]


def _kept_early(val: np.ndarray, kept: np.ndarray, eval_step: np.ndarray, steps: int, advice: str) -> list[str]:
    """The kept network comes from the first 5% of training and every later validation value was worse by more
    than half a nat: training made things worse, and the estimate is an early, barely trained network's."""
    if len(eval_step) < 4:
        return []
    early = (kept <= 0.05 * steps) & (kept < eval_step[-1])
    later = eval_step[None, :] > kept[:, None]  # (members, evals)
    with np.errstate(all="ignore"):
        best = np.nanmax(np.where(np.isfinite(val), val, np.nan), 0)
        worst_gap = np.where(later, best[:, None] - val.T, np.inf).min(1)  # the smallest drop after the kept step
    bad = early & (worst_gap > 0.5)
    if not bad.any():
        return []
    return [
        f"the estimate comes from the network of step {int(kept[bad].min())}, in the first 5% of {steps} steps, and "
        f"every later network was worse by more than 0.5 nats{members(bad)}: training did not converge; {advice}"
    ]


AGREE_SE, AGREE_NATS = 5.0, 0.5  # replicates may differ by 5 pair standard errors plus half a nat


def replicate_problems(values: np.ndarray, se: np.ndarray, groups, what: str = "members") -> list[str]:
    """Estimates that should agree (the same bound on draws of the same distribution: ``groups[i]`` labels
    estimate ``i``) but differ by more than ``AGREE_SE`` standard errors of their difference plus ``AGREE_NATS``.

    The standard error covers the test split's sampling noise only, not the optimisation's: the half nat leaves
    room for seeds that train to slightly different critics, while a critic that failed (the biased DV's
    exploding scores at high MI, a diverged seed) differs by nats."""
    values, se = np.asarray(values, float), np.asarray(se, float)
    problems = []
    for label in dict.fromkeys(groups):
        idx = [i for i, g in enumerate(groups) if g == label and np.isfinite(values[i])]
        if len(idx) < 2:
            continue
        lo, hi = idx[int(np.argmin(values[idx]))], idx[int(np.argmax(values[idx]))]
        allowed = AGREE_SE * float(np.hypot(se[lo], se[hi])) + AGREE_NATS
        if values[hi] - values[lo] > allowed:
            problems.append(
                f"{what} {lo} and {hi} ({label}) estimate the same MI but read {values[lo]:.3g} and "
                f"{values[hi]:.3g} nats, {values[hi] - values[lo]:.3g} apart where their noise allows "
                f"{allowed:.2g}: at least one critic failed (the biased DV's exploding scores at high MI, a diverged "
                "seed); look at each, or use a more stable bound ('mine', 'smile')"
            )
    return problems


def _collapse(val: np.ndarray, checkpoint: str, train: np.ndarray | None = None) -> list[str]:
    """A validation bound that fell far from its best: unstable training, or, when the training bound ended at
    least as high as that best (late steps' median), a critic that memorised its training pairs."""
    best = np.nanmax(np.where(np.isfinite(val), val, np.nan), 0, initial=-np.inf)
    last = val[-1] if len(val) else np.full(val.shape[1], np.nan)
    # the kept network: with "last", any fall of more than a nat from the best is the estimate's own loss
    floor = best - 1.0 if checkpoint == "last" else np.minimum(best - 1.0, -1.0)
    collapsed = np.isfinite(best) & ~(last >= floor)
    if not collapsed.any():
        return []
    kept = "; the estimate comes from the best checkpoint" if checkpoint == "best" else ""
    fell = f"the validation bound collapsed from {best[collapsed].min():.3g} to {np.nanmin(last[collapsed]):.3g} nats"
    late = None if train is None or not len(train) else np.nanmedian(train[-max(1, len(train) // 10) :], 0)
    if late is not None and np.all(late[collapsed] >= best[collapsed]):
        return [
            f"{fell}{members(collapsed)} while the training bound rose to {np.nanmin(late[collapsed]):.3g}: the "
            f"critic memorised its training pairs (too few for its size){kept}, which is then likely low; more "
            "samples or a smaller critic (hidden=..., fewer steps) give a less data-limited estimate"
        ]
    return [f"{fell}{members(collapsed)}: training is unstable (learning rate too high?){kept}"]


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
