"""One call for readers: ``estimate_mi(x, z, method=...)``, and ``estimate_many`` for many data sets at once."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from minelib._checks import ArrayLike, choice, in_open_interval
from minelib.bounds import NAMES, get_bound
from minelib.config import FIELDS, MINEConfig, refuse_removed
from minelib.discrete import mixed_mi, plugin_mi
from minelib.ksg import ksg_mi
from minelib.mine import MINE
from minelib.preprocess import checked_pair
from minelib.trust import member_names, replicate_problems, warn

METHODS = (*NAMES, "ksg")
KSG_OPTIONS = ("k", "workers", "preprocess")  # the keywords of ksg_mi
# With a discrete variable (estimate_mi only): the estimator and its keywords
DISCRETE = {"plugin": (plugin_mi, ("correction",)), "mixed": (mixed_mi, ("k", "preprocess"))}
# What ``estimate_mi(x, z)`` does when no method is named: the most accurate candidate of the benchmark suite
# on tasks it was not chosen on (bench/default_suite.py, bench/results/default_suite.json; CHANGELOG 0.3.0).
DEFAULT_METHOD, DEFAULT_SETTINGS = "infonce", {"preprocess": "copula", "hidden": (128, 128, 128)}
# Settings a caller may not give: the method chooses the bound, and estimate_many the ensemble.
_CHOSEN = {"bound", "n_models", "fit_seed"}


@dataclass
class MIResult:
    """An estimate of mutual information in nats, with how it was made."""

    estimate: float
    method: str
    settings: dict = field(default_factory=dict)
    history: dict[str, np.ndarray] = field(default_factory=dict)
    stderr: float | None = None  #: standard error of a MINE test-split estimate (None for KSG)
    step: int | None = None  #: the training step whose network gave the estimate (MINE)

    def interval(self, level: float = 0.95) -> tuple[float, float] | None:
        r"""A two-sided confidence interval for the estimator's mean, :math:`\hat I \pm z_{(1+\text{level})/2}\,
        \text{stderr}` (``None`` without a standard error: KSG and the discrete estimators).

        The standard error is that of the test split, whose pairs the critic never saw, so the interval holds
        the test-sample noise, the bulk of the estimate's spread: over 100 fresh data sets of 5,000 pairs each,
        the default's 95% interval held the mean of the 100 estimates in 95% and 97% of them on two benchmark
        tasks (1 + 1 and 25 + 25 dimensions; ``bench/interval_coverage.py``). It does not hold the estimator's
        bias (a lower bound sits below the truth by what the critic failed to learn): it is an interval for
        what this estimator gives on data like these, not for the true MI; :func:`~minelib.sample_size_curve`
        probes the bias.
        """
        from scipy.stats import norm

        in_open_interval("level", level, 0.0, 1.0)
        if self.stderr is None:
            return None
        half = float(norm.ppf(0.5 + level / 2)) * self.stderr
        return self.estimate - half, self.estimate + half

    def __repr__(self) -> str:
        se = f" ± {self.stderr:.4f}" if self.stderr is not None else ""
        at = f", step {self.step}" if self.step is not None else ""
        return f"MIResult(method={self.method!r}, estimate={self.estimate:.4f}{se} nats{at})"


class Estimates(np.ndarray):
    """One estimate per data set, as a numpy array, with ``results``: one :class:`MIResult` per data set (its
    standard error and checkpoint step for MINE). Arrays derived from it (slices, arithmetic) are plain."""

    results: list[MIResult] | None = None

    @classmethod
    def of(cls, results: list[MIResult]) -> Estimates:
        out = np.array([r.estimate for r in results], dtype=float).view(cls)
        out.results = results
        return out

    def __array_finalize__(self, obj) -> None:
        self.results = None

    @property
    def stderr(self) -> np.ndarray | None:
        """The standard errors (``None`` for KSG, or on a derived array)."""
        if not self.results or self.results[0].stderr is None:
            return None
        return np.array([r.stderr for r in self.results])


def method_options(method: str, settings: dict, where: str) -> dict:
    """Check the keywords given for ``method``; return them (MINE's as :class:`~minelib.MINEConfig` fields)."""
    refuse_removed(settings, where)
    chosen = _CHOSEN & settings.keys()
    if chosen:
        raise TypeError(f"{sorted(chosen)} cannot be set here: the method chooses them (e.g. method='nwj')")
    allowed = KSG_OPTIONS if method == "ksg" else FIELDS - _CHOSEN
    unknown = settings.keys() - set(allowed)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)} for method={method!r}; allowed: {sorted(allowed)}")
    return dict(settings)


def _settings(method: str, options: dict) -> dict:
    """The method's defaults (InfoNCE: the separable critic, whose b x b scores are cheap), then the caller's."""
    return {"bound": method, **({"critic": "separable"} if get_bound(method).multi_sample else {}), **options}


def method_config(method: str, options: dict, n_models: int = 1) -> MINEConfig:
    """``seed`` seeds the network, the split and the batches alike."""
    return MINEConfig(**_settings(method, options), n_models=n_models, fit_seed=options.get("seed"))


def estimate_mi(x: ArrayLike, z: ArrayLike, method: str | None = None, **settings) -> MIResult:
    r"""Estimate :math:`I(X;Z)` in nats from paired samples.

    Parameters
    ----------
    x, z : *array-like*
        Paired samples in rows: numpy arrays, torch tensors (detached first), pandas objects or lists.
    method : str or None
        ``None`` (the default): the most accurate estimator on the benchmark suite of ``bench/default_suite.py``,
        on tasks it was not chosen on: ``"infonce"`` with a separable critic of three hidden layers of 128 on the
        copula of each coordinate (ranks mapped to normal scores); a ``preprocess`` or ``hidden`` given wins.
        Or by name: ``"mine"`` (DV bound, moving-average gradient; the paper's estimator), ``"dv"`` or
        ``"mine-biased"`` (DV bound, plain minibatch
        gradient), ``"nwj"`` or ``"mine-f"`` (f-divergence bound), ``"js"`` (trained on the Jensen–Shannon signal,
        NWJ value), ``"smile"`` (JS training, DV value with marginal scores clipped to ``[-tau, tau]``),
        ``"gan-dime"`` (JS training, the mean log density ratio of the joint pairs; not a bound),
        ``"infonce"`` (the multi-sample bound, at most :math:`\ln` ``batch_size``; separable critic unless
        ``critic="concat"``) or ``"ksg"`` (Kraskov et al., 2004). With a discrete variable: ``"plugin"`` (both
        ``x`` and ``z`` labels: :func:`~minelib.plugin_mi`) or ``"mixed"`` (``z`` labels:
        :func:`~minelib.mixed_mi`).
    **settings
        For MINE methods, any field of :class:`~minelib.MINEConfig` but ``bound`` and ``n_models`` (e.g.
        ``steps``, ``batch_size``, ``hidden``, ``preprocess``, ``device``, ``seed``); for ``"ksg"``, ``k``,
        ``workers`` and ``preprocess`` (:func:`~minelib.ksg_mi`).

    Returns
    -------
    MIResult
        The estimate: for MINE the test-split value of the best checkpoint on the validation split, with its
        standard error, the step kept and the training history.

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018.
    Kraskov, A., H. Stögbauer, P. Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).

    Examples
    --------
    >>> import minelib as m
    >>> x, z = m.sample_correlated_gaussians(5000, dim=1, rho=0.9, seed=0)
    >>> result = m.estimate_mi(x * 1e4, z, method="ksg")  # units do not matter: each variable is standardized
    >>> round(result.estimate, 1), round(m.gaussian_mi(0.9), 1)
    (0.8, 0.8)
    """
    method, settings = resolved(method, settings)
    choice("method", method, (*METHODS, *DISCRETE))
    if method in DISCRETE:
        return _discrete(x, z, method, settings)
    options = method_options(method, settings, "estimate_mi")
    if method == "ksg":
        return MIResult(ksg_mi(x, z, **options), method, options)
    x, z = checked_pair(x, z)
    options = _fitted_block(method, options, len(x))
    config = method_config(method, options)
    mine = MINE(x.shape[1], z.shape[1], config).fit_checked(x, z)
    settings = _settings(method, options)
    return MIResult(mine.estimate_, method, settings, mine.history, mine.stderr_, mine.best_step_)


def _fitted_block(method: str, options: dict, n: int) -> dict:
    r"""A multi-sample bound scores blocks of ``batch_size`` pairs, on the validation and test splits too: unless
    the caller sets it, the batch is the default 256 or the smaller of those splits (its cap :math:`\ln b` then
    sits at or above what those pairs can certify anyway), so small data sets need no settings."""
    if not get_bound(method).multi_sample or "batch_size" in options:
        return options
    batch = default_batch(n, options)
    if batch < 2:
        raise ValueError(
            f"{n} pairs are too few for {method!r}: its held-out splits need at least 2 pairs each (about "
            f"{math.ceil(2 / 0.1)} pairs with the default fractions); use more samples or method='ksg'"
        )
    if batch < 32:
        cap = f"ln {batch} = {math.log(batch):.2f} nats"
        warn([f"with {n} pairs, {method!r} scores blocks of {batch} held-out pairs, so its estimate can not exceed "
              f"{cap}; use more samples, or method='ksg' for small data sets"])  # fmt: skip
    return {**options, "batch_size": batch}


def default_batch(n: int, options: dict) -> int:
    """InfoNCE's automatic batch for ``n`` pairs: 256, or the smaller held-out split of ``options``' fractions."""
    fractions = {f: options.get(f, getattr(MINEConfig, f)) for f in ("val_fraction", "test_fraction")}
    held_out = min(int(round(n * in_open_interval(name, f, 0.0, 1.0))) for name, f in fractions.items())
    return min(MINEConfig.batch_size, held_out)


def resolved(method: str | None, settings: dict) -> tuple[str, dict]:
    """``method`` and ``settings``, with the benchmark-chosen default filled in when ``method`` is None."""
    return (DEFAULT_METHOD, {**DEFAULT_SETTINGS, **settings}) if method is None else (method, settings)


def _discrete(x, z, method: str, settings: dict) -> MIResult:
    estimator, allowed = DISCRETE[method]
    unknown = settings.keys() - set(allowed)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)} for method={method!r}; allowed: {sorted(allowed)}")
    return MIResult(estimator(x, z, **settings), method, dict(settings))


def estimate_many(
    pairs: Sequence[tuple[ArrayLike, ArrayLike]],
    methods: Sequence[str] = ("mine",),
    *,
    replicates: Sequence[Hashable] | None = None,
    **settings,
) -> dict[str, Estimates]:
    """Estimate MI on many data sets with several methods; the neural methods train as batched ensembles.

    Parameters
    ----------
    pairs : *sequence* of tuple
        Data sets of equal shapes (e.g. one per correlation and seed).
    methods : *sequence* of str
        Names as in :func:`estimate_mi` (default: the paper's ``"mine"``; :func:`estimate_mi`'s benchmark-chosen
        default is ``["infonce"]`` with ``preprocess="copula", hidden=(128, 128, 128)``, and here, where no
        block is chosen for the data, a ``batch_size`` of at most a tenth of the pairs). The per-pair bounds with
        the same critic train as **one** ensemble; multi-sample bounds (InfoNCE), which score every pair of a
        batch, as another.
    replicates : *sequence* or None
        One label per data set: data sets with the same label are draws of the same distribution (seeds), so each
        neural method's estimates on them should agree within their noise; a :class:`~minelib.MINEWarning` says
        when they do not (:func:`minelib.trust.replicate_problems`).
    **settings
        As in :func:`estimate_mi`; ``k`` and ``workers`` go to KSG, the rest to MINE (``preprocess`` to both).

    Returns
    -------
    dict
        For each method, an :class:`Estimates` array of the estimates in the order of ``pairs``, with one
        :class:`MIResult` per data set in ``.results`` and the standard errors in ``.stderr``.
    """
    checked = _checked_pairs(pairs, methods, replicates)
    ksg = {k: v for k, v in settings.items() if k in KSG_OPTIONS}
    neural = method_options("mine", {k: v for k, v in settings.items() if k not in ("k", "workers")}, "estimate_many")
    results = {}
    if "ksg" in methods:
        results["ksg"] = Estimates.of([MIResult(ksg_mi(x, z, **ksg), "ksg", ksg) for x, z in checked])
    for group in _ensembles([m for m in methods if m != "ksg"], neural):
        results |= _fit_ensemble(group, checked, neural)
        for m in group if replicates is not None else ():
            warn(replicate_problems(results[m], results[m].stderr, list(replicates), f"{m!r} on data sets"))
    return {m: results[m] for m in methods}


def _checked_pairs(pairs, methods, replicates) -> list[tuple[np.ndarray, np.ndarray]]:
    """``estimate_many``'s arguments checked once: the data sets validated, of one shape, with their labels."""
    if isinstance(methods, str):
        raise TypeError(f"methods must be a list of method names, e.g. [{methods!r}], got the string {methods!r}")
    for method in methods:
        choice("method", method, METHODS)
    if not isinstance(pairs, Sequence) or isinstance(pairs, str) or not pairs:
        raise ValueError(f"pairs must be a non-empty list of (x, z) pairs, got {type(pairs).__name__}")
    for i, pair in enumerate(pairs):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(
                f"pairs[{i}] must be an (x, z) pair, got {type(pair).__name__}: for one data set call "
                "estimate_mi(x, z) or estimate_many([(x, z)], ...)"
            )
    if len(set(methods)) != len(methods):
        raise ValueError(f"methods lists a method twice: {list(methods)}")
    if replicates is not None and (isinstance(replicates, str) or len(replicates) != len(pairs)):
        raise ValueError(f"replicates must hold one label per data set ({len(pairs)}), got {replicates!r:.60}")
    checked = [checked_pair(x, z) for x, z in pairs]
    for x, z in checked:
        if x.shape != checked[0][0].shape or z.shape != checked[0][1].shape:
            raise ValueError(
                f"all data sets must have the same shapes, got {tuple(x.shape)} and {tuple(checked[0][0].shape)}"
            )
    return checked


def _ensembles(methods: list[str], settings: dict) -> list[list[str]]:
    """Methods that can share one ensemble: the same critic, and all pairwise or all multi-sample."""
    groups: dict[tuple, list[str]] = {}
    for m in methods:
        multi = get_bound(m).multi_sample
        critic = settings.get("critic", "separable" if multi else "concat")
        groups.setdefault((critic, multi), []).append(m)
    return list(groups.values())


def _fit_ensemble(methods: list[str], checked: list, settings: dict) -> dict[str, Estimates]:
    n = len(checked)
    x = np.stack([x for x, _ in checked] * len(methods))
    z = np.stack([z for _, z in checked] * len(methods))
    config = method_config(methods[0], settings, n_models=len(methods) * n)
    config = config.replace(bound=[m for m in methods for _ in checked])
    with member_names([f"{m} on data set {j}" for m in methods for j in range(n)]):
        mine = MINE(x.shape[-1], z.shape[-1], config).fit_checked(x, z)
    estimate, stderr, step = (np.atleast_1d(a) for a in (mine.estimate_, mine.stderr_, mine.best_step_))
    out = {}
    for i, m in enumerate(methods):
        rows = range(i * n, (i + 1) * n)
        out[m] = Estimates.of([MIResult(float(estimate[j]), m, _settings(m, settings), {}, float(stderr[j]),
                                        int(step[j])) for j in rows])  # fmt: skip
    return out
