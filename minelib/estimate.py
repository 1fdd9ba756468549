"""One call for readers: ``estimate_mi(x, z, method=...)``."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from minelib._checks import ArrayLike, as_samples, choice, same_rows, to_numpy
from minelib.ksg import ksg_mi
from minelib.mine import MINE

METHODS = {
    "mine": {"objective": "dv", "gradient": "ema"},
    "mine-biased": {"objective": "dv", "gradient": "biased"},
    "mine-f": {"objective": "f", "gradient": "biased"},
    "ksg": {},
}


@dataclass
class MIResult:
    """An estimate of mutual information in nats, with how it was made."""

    estimate: float
    method: str
    settings: dict = field(default_factory=dict)
    history: dict[str, np.ndarray] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"MIResult(method={self.method!r}, estimate={self.estimate:.4f} nats)"


def _split_options(options: dict, *targets) -> list[dict]:
    names = [set(inspect.signature(t).parameters) - {"self", "x", "z", "x_dim", "z_dim"} for t in targets]
    unknown = set(options) - set().union(*names)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; allowed: {sorted(set().union(*names))}")
    return [{k: v for k, v in options.items() if k in n} for n in names]


def estimate_mi(x: ArrayLike, z: ArrayLike, method: str = "mine", **options) -> MIResult:
    """Estimate :math:`I(X;Z)` in nats from paired samples.

    ``method``: ``"mine"`` (DV bound, moving-average gradient), ``"mine-biased"`` (DV bound, plain
    minibatch gradient), ``"mine-f"`` (f-divergence bound) or ``"ksg"``. ``options`` go to
    :class:`~minelib.MINE` and :meth:`~minelib.MINE.fit` (e.g. ``steps``, ``batch_size``, ``hidden``,
    ``seed``) or to :func:`~minelib.ksg_mi` (``k``). MINE estimates are held-out values.
    """
    choice("method", method, list(METHODS))
    x, z = as_samples("x", x), as_samples("z", z)
    same_rows(x, z)
    if method == "ksg":
        (opts,) = _split_options(options, ksg_mi)
        return MIResult(ksg_mi(x, z, **opts), method, opts)
    init, fit = _split_options(options, MINE.__init__, MINE.fit)
    mine = MINE(x.shape[1], z.shape[1], **METHODS[method], **init).fit(x, z, **fit)
    return MIResult(mine.estimate_, method, {**METHODS[method], **init, **fit}, mine.history)


def estimate_many(
    pairs: Sequence[tuple[ArrayLike, ArrayLike]], methods: Sequence[str] = ("mine",), **options
) -> dict[str, np.ndarray]:
    """Estimate MI on many data sets with several methods; every MINE variant trains in **one** ensemble.

    ``pairs``: data sets ``(x, z)`` of equal shapes (e.g. one per correlation and seed). Returns, for each
    method, an array of estimates in the order of ``pairs``. ``options`` as in :func:`estimate_mi`;
    ``k`` goes to KSG, the rest to :class:`~minelib.MINE` and :meth:`~minelib.MINE.fit`.
    """
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
    neural = [m for m in methods if m != "ksg"]
    if neural:
        x = np.stack([to_numpy(x) for x, _ in checked] * len(neural))
        z = np.stack([to_numpy(z) for _, z in checked] * len(neural))
        kinds = [METHODS[m] for m in neural for _ in checked]
        mine = MINE(
            x.shape[-1],
            z.shape[-1],
            n_models=len(kinds),
            objective=[k["objective"] for k in kinds],
            gradient=[k["gradient"] for k in kinds],
            **init,
        ).fit(x, z, **fit)
        for i, m in enumerate(neural):
            results[m] = np.atleast_1d(mine.estimate_)[i * len(checked) : (i + 1) * len(checked)]
    return {m: results[m] for m in methods}
