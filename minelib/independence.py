r"""A test of independence with a p-value: is there any dependence between ``x`` and ``z`` at all?

MINE: the critic is trained once, on the training split; the statistic is its bound on the test pairs, and the
null distribution is the same fixed critic's bound on ``permutations`` re-pairings of the test pairs (forward
passes only). The critic and the preprocessing were fitted on data that does not include the test pairs, so
under :math:`H_0: X \perp Z` the test pairs and their re-pairings are exchangeable, and the p-value
:math:`(1 + \#\{\text{null} \ge \text{statistic}\}) / (1 + B)` is exact whatever the critic learned: a poorly
trained critic costs power, never validity. KSG: the statistic is the estimate on all pairs, the null its value
on re-pairings (each a full KSG run).

References
----------
Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018. Good, P. I., "Permutation,
Parametric, and Bootstrap Tests of Hypotheses", Springer 2005 (the permutation test's exactness).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minelib._checks import ArrayLike, choice, positive_int, seed_value
from minelib.estimate import METHODS, method_config, method_options
from minelib.ksg import ksg_mi
from minelib.mine import MINE
from minelib.preprocess import checked_pair


@dataclass
class IndependenceTest:
    """The outcome of :func:`independence_test`: the ``statistic`` (nats), its ``p_value``, the ``null`` values
    it was compared with, the ``method`` and the number of pairs the statistic was computed on (``n``)."""

    statistic: float
    p_value: float
    null: np.ndarray
    method: str
    n: int

    def __repr__(self) -> str:
        return (
            f"IndependenceTest(method={self.method!r}, statistic={self.statistic:.4f} nats, p={self.p_value:.4g}, "
            f"{len(self.null)} permutations of {self.n} pairs)"
        )


def independence_test(
    x: ArrayLike, z: ArrayLike, method: str = "mine", *, permutations: int = 200, seed: int | None = 0, **settings
) -> IndependenceTest:
    """Test whether ``x`` and ``z`` are independent, with a permutation p-value.

    Parameters
    ----------
    x, z : *array-like*
        Paired samples in rows, as for :func:`~minelib.estimate_mi`.
    method : str
        A MINE method of :func:`~minelib.estimate_mi` (the critic is trained once; the null costs forward passes
        only) or ``"ksg"`` (every permutation is a full KSG run).
    permutations : int
        Re-pairings in the null distribution; the smallest p-value is ``1 / (permutations + 1)``.
    seed : int or None
        Seeds the re-pairings, and for MINE its training as in :func:`~minelib.estimate_mi`.
    **settings
        As in :func:`~minelib.estimate_mi` for ``method``.

    Returns
    -------
    IndependenceTest
        The statistic, its p-value and the null values.

    References
    ----------
    Belghazi, M. I. et al., "Mutual Information Neural Estimation", ICML 2018.
    """
    choice("method", method, METHODS)
    permutations, seed = positive_int("permutations", permutations), seed_value("seed", seed)
    options = method_options(method, settings, "independence_test")
    rng = np.random.default_rng(seed)
    x, z = checked_pair(x, z)
    if method == "ksg":
        statistic = ksg_mi(x, z, **options)
        null = np.array([ksg_mi(x, z[rng.permutation(len(z))], **options) for _ in range(permutations)])
        return _result(statistic, null, method, len(x))
    mine = MINE(x.shape[1], z.shape[1], method_config(method, {**options, "seed": seed})).fit_checked(x, z)
    x_test, z_test = x[mine.test_rows_], z[mine.test_rows_]
    n_shuffles = mine.config.n_shuffles

    def bound(z_paired: np.ndarray) -> float:  # one fixed function of the test pairs: the same re-pairing seed
        return float(np.mean(mine.estimate(x_test, z_paired, n_shuffles=n_shuffles, seed=0)))

    statistic = bound(z_test)
    null = np.array([bound(z_test[rng.permutation(len(z_test))]) for _ in range(permutations)])
    return _result(statistic, null, method, len(x_test))


def _result(statistic: float, null: np.ndarray, method: str, n: int) -> IndependenceTest:
    p_value = (1 + int(np.sum(null >= statistic))) / (1 + len(null))
    return IndependenceTest(float(statistic), p_value, null, method, n)
