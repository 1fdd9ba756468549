"""One call for readers: ``estimate_mi(x, z, method=...)``."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from minelib._checks import ArrayLike, as_samples, choice, same_rows
from minelib.ksg import ksg_mi
from minelib.mine import MINE

METHODS = {
    "mine": {"objective": "dv", "gradient": "ema"},
    "mine-biased": {"objective": "dv", "gradient": "biased"},
    "mine-f": {"objective": "f", "gradient": "biased"},
    "nwj": {"objective": "f", "gradient": "biased"},  # MINE-f is the NWJ bound
    "js": {"objective": "js", "gradient": "biased"},
    "smile": {"objective": "smile", "gradient": "biased"},
    "infonce": {"objective": "infonce", "gradient": "biased"},
    "ksg": {},
}
# Defaults a method brings and a caller may override: InfoNCE scores all b^2 pairs of a batch, which only
# the separable critic makes cheap (2b network evaluations instead of b^2).
DEFAULTS = {"infonce": {"critic": "separable"}}


@dataclass
class MIResult:
    """An estimate of mutual information in nats, with how it was made."""

    estimate: float
    method: str
    settings: dict = field(default_factory=dict)
    history: dict[str, np.ndarray] = field(default_factory=dict)
    stderr: float | None = None  #: standard error of a MINE test-split estimate (None for KSG)
    step: int | None = None  #: the training step whose network gave the estimate (MINE)

    def __repr__(self) -> str:
        se = f" ± {self.stderr:.4f}" if self.stderr is not None else ""
        at = f", step {self.step}" if self.step is not None else ""
        return f"MIResult(method={self.method!r}, estimate={self.estimate:.4f}{se} nats{at})"


# Set by ``method`` (or by the ensemble itself): never options of estimate_mi / estimate_many.
_FIXED = {"objective", "gradient", "n_models"}


def _split_options(options: dict, *targets) -> list[dict]:
    names = [set(inspect.signature(t).parameters) - {"self", "x", "z", "x_dim", "z_dim"} - _FIXED for t in targets]
    fixed = _FIXED & set(options)
    if fixed:
        raise TypeError(f"{sorted(fixed)} cannot be set here: the method chooses them (e.g. method='mine-f')")
    unknown = set(options) - set().union(*names)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; allowed: {sorted(set().union(*names))}")
    return [{k: v for k, v in options.items() if k in n} for n in names]


def estimate_mi(x: ArrayLike, z: ArrayLike, method: str = "mine", **options) -> MIResult:
    r"""Estimate :math:`I(X;Z)` in nats from paired samples.

    ``x``, ``z``: paired samples in rows: numpy arrays, torch tensors (detached first), pandas objects or
    lists. ``method``: ``"mine"`` (DV bound, moving-average gradient), ``"mine-biased"`` (DV bound, plain
    minibatch gradient), ``"mine-f"`` or ``"nwj"`` (f-divergence bound), ``"js"`` (trained on the
    Jensen–Shannon signal, NWJ value), ``"smile"`` (JS training, DV value with marginal scores clipped to
    ``[-tau, tau]``), ``"infonce"`` (the multi-sample bound, at most :math:`\ln` ``batch_size``; separable
    critic unless ``critic="concat"``) or ``"ksg"``. ``options`` go to
    :class:`~minelib.MINE` and :meth:`~minelib.MINE.fit` (e.g. ``steps``, ``batch_size``, ``hidden``,
    ``preprocess``, ``seed``) or to :func:`~minelib.ksg_mi` (``k``, ``preprocess``). MINE estimates are
    test-split values of the best checkpoint on the validation split.

    Examples
    --------
    >>> import minelib as m
    >>> x, z = m.sample_correlated_gaussians(5000, dim=1, rho=0.9, seed=0)
    >>> result = m.estimate_mi(x * 1e4, z, method="ksg")  # units do not matter: each variable is standardized
    >>> round(result.estimate, 1), round(m.gaussian_mi(0.9), 1)
    (0.8, 0.8)
    """
    choice("method", method, list(METHODS))
    x, z = as_samples("x", x), as_samples("z", z)
    same_rows(x, z)
    if method == "ksg":
        (opts,) = _split_options(options, ksg_mi)
        return MIResult(ksg_mi(x, z, **opts), method, opts)
    init, fit = _split_options(options, MINE.__init__, MINE.fit)
    init = {**DEFAULTS.get(method, {}), **init}
    mine = MINE(x.shape[1], z.shape[1], **METHODS[method], **init).fit(x, z, **fit)
    return MIResult(
        mine.estimate_, method, {**METHODS[method], **init, **fit}, mine.history, mine.stderr_, mine.best_step_
    )


def estimate_many(
    pairs: Sequence[tuple[ArrayLike, ArrayLike]], methods: Sequence[str] = ("mine",), **options
) -> dict[str, np.ndarray]:
    """Estimate MI on many data sets with several methods; the neural methods train as batched ensembles.

    The per-pair bounds (``mine``, ``mine-biased``, ``mine-f``/``nwj``, ``js``, ``smile``) with the same
    critic train as **one** ensemble; ``infonce``, which scores every pair of a batch, as another.

    ``pairs``: data sets ``(x, z)`` of equal shapes (e.g. one per correlation and seed). Returns, for each
    method, an array of estimates in the order of ``pairs``. ``options`` as in :func:`estimate_mi`;
    ``k`` goes to KSG, the rest to :class:`~minelib.MINE` and :meth:`~minelib.MINE.fit`.
    """
    if isinstance(methods, str):
        raise TypeError(f"methods must be a list of method names, e.g. [{methods!r}], got the string {methods!r}")
    for method in methods:
        choice("method", method, list(METHODS))
    if not pairs:
        raise ValueError("pairs is empty")
    checked = [(as_samples("x", x), as_samples("z", z)) for x, z in pairs]
    for x, z in checked:
        same_rows(x, z)
        if x.shape != checked[0][0].shape or z.shape != checked[0][1].shape:
            raise ValueError(
                f"all data sets must have the same shapes, got {tuple(x.shape)} and {tuple(checked[0][0].shape)}"
            )
    ksg_options, init, fit = _split_options(options, ksg_mi, MINE.__init__, MINE.fit)
    results = {m: np.array([ksg_mi(x, z, **ksg_options) for x, z in checked]) for m in methods if m == "ksg"}
    # One ensemble per shape of work: the per-pair bounds share one; InfoNCE (b x b scores) trains apart.
    groups: dict[tuple, list[str]] = {}
    for m in methods:
        if m != "ksg":
            critic = init.get("critic", DEFAULTS.get(m, {}).get("critic", "concat"))
            groups.setdefault((critic, m == "infonce"), []).append(m)
    for (critic, _), neural in groups.items():
        x = np.stack([x for x, _ in checked] * len(neural))
        z = np.stack([z for _, z in checked] * len(neural))
        kinds = [METHODS[m] for m in neural for _ in checked]
        mine = MINE(
            x.shape[-1],
            z.shape[-1],
            n_models=len(kinds),
            objective=[k["objective"] for k in kinds],
            gradient=[k["gradient"] for k in kinds],
            **{**init, "critic": critic},
        ).fit(x, z, **fit)
        for i, m in enumerate(neural):
            results[m] = np.atleast_1d(mine.estimate_)[i * len(checked) : (i + 1) * len(checked)]
    return {m: results[m] for m in methods}
