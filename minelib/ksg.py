r"""The Kraskov–Stögbauer–Grassberger estimator of mutual information (KSG estimator 1, 2004).

With :math:`\epsilon_i` the max-norm distance from sample :math:`i` to its :math:`k`-th neighbour in the
joint space, and :math:`n_x(i)`, :math:`n_z(i)` the numbers of other samples strictly within
:math:`\epsilon_i` in each marginal space,

.. math:: \hat I_{\mathrm{KSG}} = \psi(k) + \psi(N) - \frac{1}{N}\sum_{i}\big[\psi(n_x(i)+1) + \psi(n_z(i)+1)\big].

Both counts are at least :math:`k - 1`: the :math:`k`-th neighbour sets :math:`\epsilon_i` in one of the two
spaces, so the :math:`k - 1` nearer neighbours lie strictly within it there, and in the other space they are
closer still. Hence :math:`\psi(n_x + 1) + \psi(n_z + 1) \ge 2\psi(k)`, the estimate never exceeds
:math:`\psi(N) - \psi(k)`, and in high dimension it is biased downwards.

Each variable is standardized first by default (``preprocess``, :mod:`minelib.preprocess`): the max-norm
mixes coordinates, so without it the estimate depends on the units of each coordinate. KSG assumes
continuous data; duplicated rows or heavily tied values inflate it, and a warning says how many there are.

Every search below is exact: it finds the same :math:`\epsilon_i`, :math:`n_x(i)`, :math:`n_z(i)` as
:func:`ksg_mi_bruteforce`, compares the same floating-point distances, and only skips points whose
distance is provably too large. Which search is fastest depends on the dimension (``bench/ksg.py``):

* joint dimension below ``BLOCKED_FROM_DIM``: a k-d tree finds :math:`\epsilon_i`; the marginal counts
  come from one sort in 1-D, otherwise from leaves of a median split, each compared with the points
  inside its bounding box widened by its largest radius;
* from ``BLOCKED_FROM_DIM`` on, trees prune almost nothing (a radius spans most of every axis), and all
  pairwise distances, in blocks of up to 64 rows, give :math:`\epsilon_i` and both counts in one pass.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.special import digamma

from minelib._checks import ArrayLike, MINEWarning, choice, positive_int
from minelib.preprocess import PREPROCESS, checked_pair, prepare
from minelib.trust import column_problems, radius_problems, tie_problems, warn

BLOCKED_FROM_DIM = 16  # joint dimension from which all pairwise distances beat a k-d tree (bench/ksg.py)
_ROWS = 64  # rows per block of pairwise distances (fewer above 32,768 samples: a block holds at most 2**21)
_LEAF = 128  # points per leaf when counting in a marginal space
_RADIUS_WEIGHT = 8.0  # leaves also split on the radius, so a leaf's points share similar radii


_PAIRS_WARN = 5e10  # pairwise distances (times joint dimension) above which a warning gives the expected cost
_BRUTE_MEMORY = 2**31  # bytes a brute-force chunk may take


def ksg_inputs(x: ArrayLike, z: ArrayLike, k: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """What every KSG does first: validate, preprocess each variable and warn about ties.

    Shared by :func:`~minelib.ksg_mi`, :func:`~minelib.ksg_mi_bruteforce` and
    :func:`~minelib.ksg_torch.ksg_mi_torch`; the preprocessing is :func:`~minelib.preprocess.prepare`'s, and ties
    give a :class:`~minelib.MINEWarning`.

    Parameters
    ----------
    x, z : *array-like*
        Paired samples in rows, as :func:`~minelib.ksg_mi` takes them.
    k : int
        The neighbour that sets each radius; there must be more than ``k`` samples.
    kind : str
        The preprocessing: ``"standardize"``, ``"copula"`` or ``"none"`` (``preprocess`` of :func:`~minelib.ksg_mi`).

    Returns
    -------
    x, z : *numpy.ndarray*
        The preprocessed samples, ``float64`` arrays ``(n, d_x)`` and ``(n, d_z)``.
    """
    choice("preprocess", kind, PREPROCESS)
    x, z = checked_pair(x, z)
    positive_int("k", k)
    if k >= len(x):
        raise ValueError(f"k={k} neighbours need more than k samples, got {len(x)}")
    warn(column_problems(x, z, kind, estimator="KSG"))
    x, z = prepare(x, z, kind).splits["all"]
    warn(tie_problems(x, z))
    return x, z


def _threads(workers: int) -> int:
    if workers == -1:
        return os.cpu_count() or 1
    return positive_int("workers", workers)


def _map(fn: Callable, items: Iterable, threads: int) -> list:
    """``[fn(item) for item in items]``, on ``threads`` threads (scipy and numpy release the GIL here)."""
    if threads == 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, items))


def ksg_from_counts(n: int, k: int, nx: np.ndarray, nz: np.ndarray) -> float:
    r"""The KSG formula from the marginal neighbour counts (module docstring).

    Parameters
    ----------
    n : int
        The number of samples :math:`N`.
    k : int
        The neighbour that set each radius :math:`\epsilon_i`.
    nx, nz : *numpy.ndarray*
        Per sample, :math:`n_x(i)` and :math:`n_z(i)`: the other samples strictly within :math:`\epsilon_i` in
        each marginal space.

    Returns
    -------
    float
        :math:`\psi(k) + \psi(N) - \frac{1}{N}\sum_{i}\big[\psi(n_x(i)+1) + \psi(n_z(i)+1)\big]`, in nats.

    References
    ----------
    Kraskov, A., H. Stögbauer, P. Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).
    """
    return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(nz + 1)))


def _strictly_within(distances: np.ndarray, eps: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Per row, the number of other points closer than ``eps`` (the row's own point sits at distance 0)."""
    closer = np.less(distances, eps[:, None], out=out).view(np.uint8)  # summing bytes beats count_nonzero
    return np.add.reduce(closer, axis=1, dtype=np.int32) - 1


def _positive(eps: np.ndarray, k: int) -> np.ndarray:
    if not (eps > 0).all():
        raise ValueError(f"more than k={k} identical samples: KSG needs continuous data (add tiny noise or raise k)")
    return eps


def _blocked(x: np.ndarray, z: np.ndarray, k: int, threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r""":math:`n_x, n_z` and the radii :math:`\epsilon_i` from all pairwise distances, one block of rows at a time."""
    n = len(x)
    block = max(1, min(_ROWS, 2**21 // n))
    nx, nz, radii = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n)

    def work(starts: range) -> None:
        # Buffers reused across blocks: fresh multi-megabyte arrays would cost a page fault per 4 KiB.
        dx, dz, d, below = np.empty((block, n)), np.empty((block, n)), np.empty((block, n)), np.empty((block, n), bool)
        for start in starts:
            rows = slice(start, min(start + block, n))
            r = rows.stop - start
            cdist(x[rows], x, "chebyshev", out=dx[:r])
            cdist(z[rows], z, "chebyshev", out=dz[:r])
            np.maximum(dx[:r], dz[:r], out=d[:r])
            eps = radii[rows] = _positive(_kth_smallest(d[:r], k), k)  # the 0-th: the point itself
            nx[rows], nz[rows] = _strictly_within(dx[:r], eps, below[:r]), _strictly_within(dz[:r], eps, below[:r])

    starts = range(0, n, block)
    _map(work, [starts[i::threads] for i in range(threads)], threads)
    return nx, nz, radii


def _kth_smallest(d: np.ndarray, k: int) -> np.ndarray:
    """Per row of ``d``, its ``k``-th smallest entry (0-based): torch's ``topk`` (a partial sort that keeps
    the ``k + 1`` smallest) is about 7x numpy's ``partition`` (introselect) at ``k + 1 = 4`` of 5,000, and returns
    the entries themselves, so the radius is exactly numpy's."""
    return torch.from_numpy(d).topk(k + 1, dim=1, largest=False, sorted=True).values[:, k].numpy()


def _leaves(points: np.ndarray, size: int) -> list[np.ndarray]:
    """Row indices of the leaves of a median split along the widest coordinate, at most ``size`` each."""
    leaves, todo = [], [np.arange(len(points))]
    while todo:
        rows = todo.pop()
        if len(rows) <= size:
            leaves.append(rows)
            continue
        p = points[rows]
        half = len(rows) // 2
        order = np.argpartition(p[:, np.argmax(p.max(0) - p.min(0))], half)
        todo += [rows[order[:half]], rows[order[half:]]]
    return leaves


def _counts_by_leaves(a: np.ndarray, eps: np.ndarray, threads: int) -> np.ndarray:
    r"""Points strictly within ``eps`` of each point (max-norm), leaf by leaf.

    A point whose max-norm gap to a leaf's bounding box is at least the leaf's largest radius is at least
    that far from every point of the leaf (rounding is monotone, so this also holds in floating point).
    With the points sorted along the first axis, the points a leaf must look at lie in one slice.
    """
    order = np.argsort(a[:, 0], kind="stable")
    a, eps = a[order], eps[order]
    first, columns = a[:, 0], np.ascontiguousarray(a.T)  # one contiguous row per coordinate: fast tests

    def leaf(rows: np.ndarray) -> np.ndarray:
        p, reach = a[rows], eps[rows].max()
        lo, hi = p.min(0), p.max(0)
        pad = 1e-9 * (abs(lo[0]) + abs(hi[0]) + reach)  # the slice may be a little wider, never narrower
        window = slice(
            np.searchsorted(first, lo[0] - reach - pad), np.searchsorted(first, hi[0] + reach + pad, "right")
        )
        near = np.ones(window.stop - window.start, dtype=bool)
        for c, c_lo, c_hi in zip(columns[:, window], lo, hi):
            near &= (c_lo - c < reach) & (c - c_hi < reach)
        return _strictly_within(cdist(p, a[window][near], "chebyshev"), eps[rows])

    leaves = _leaves(np.column_stack([a, _RADIUS_WEIGHT * eps]), _LEAF)
    counts = np.empty(len(a), dtype=np.int64)
    for rows, c in zip(leaves, _map(leaf, leaves, threads)):
        counts[order[rows]] = c
    return counts


def _prefix_length(
    s: np.ndarray, guess: np.ndarray, inside: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """Per query, how many entries of sorted ``s`` pass ``inside`` (true on a prefix of ``s``, then false).

    ``guess`` is a ``searchsorted`` position that one rounded addition may have put a value or two off;
    ``inside(values, rows)`` tests ``values`` for the queries ``rows``. Each round moves the queries still off
    past one distinct value, and only those are searched again.
    """
    p, last = guess.copy(), len(s) - 1
    rows = np.arange(len(p))
    while rows.size:
        at = p[rows]
        after, before = s[np.minimum(at, last)], s[np.maximum(at - 1, 0)]
        grow, shrink = (at <= last) & inside(after, rows), (at > 0) & ~inside(before, rows)
        p[rows[grow]] = np.searchsorted(s, after[grow], "right")
        p[rows[shrink]] = np.searchsorted(s, before[shrink], "left")
        rows = rows[grow | shrink]
    return p


def _counts_1d(a: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Points strictly within ``eps`` of each point on a line: the ends of an interval of the sorted values.

    The queries are made in sorted order too (their ends are then nearly sorted, which ``searchsorted`` walks
    through in cache), and the counts put back in the samples' order.
    """
    order = np.argsort(a, kind="stable")
    s, e = a[order], eps[order]
    top = _prefix_length(s, np.searchsorted(s, s + e), lambda v, rows: v - s[rows] < e[rows])
    bottom = _prefix_length(s, np.searchsorted(s, s - e, "right"), lambda v, rows: ~(s[rows] - v < e[rows]))
    counts = np.empty(len(a), dtype=np.int64)
    counts[order] = top - bottom - 1
    return counts


def _marginal_counts(a: np.ndarray, eps: np.ndarray, threads: int) -> np.ndarray:
    return _counts_1d(a[:, 0], eps) if a.shape[1] == 1 else _counts_by_leaves(a, eps, threads)


def ksg_mi(x: ArrayLike, z: ArrayLike, k: int = 3, workers: int = 1, preprocess: str = "standardize") -> float:
    """KSG estimate of :math:`I(X;Z)` in nats from paired samples (rows), exact and vectorised.

    No noise is added: ties are counted as the definition says; duplicated rows give a
    :class:`~minelib.MINEWarning`, and more than ``k`` identical samples (a zero radius) a ``ValueError``.
    From ``BLOCKED_FROM_DIM`` joint dimensions on, where all pairs are compared, a
    :class:`~minelib.MINEWarning` gives the expected run time when it is long.

    Parameters
    ----------
    x, z : *array-like*
        ``x`` ``(n, d_x)`` and ``z`` ``(n, d_z)``; 1-D inputs are one column; numpy arrays, torch tensors,
        pandas objects or lists.
    k : int
        The neighbour (in the joint space) whose distance is each sample's radius; fewer than ``n``.
    workers : int
        Threads that share the work (``-1``: all cores).
    preprocess : str
        ``"standardize"`` (each coordinate, the default, as scikit-learn does), ``"copula"`` or ``"none"``
        (:mod:`minelib.preprocess`).

    Returns
    -------
    float
        The estimate, in nats.

    References
    ----------
    Kraskov, A., H. Stögbauer, P. Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).
    """
    threads = _threads(workers)
    x, z = ksg_inputs(x, z, k, preprocess)
    n, dim = len(x), x.shape[1] + z.shape[1]
    if dim >= BLOCKED_FROM_DIM and n * n * dim > _PAIRS_WARN:
        minutes = n * n * dim / 1e9 / threads / 60  # about 1e9 coordinate differences per second and core
        warnings.warn(
            f"KSG in {dim} joint dimensions compares all {n:,} x {n:,} pairs ({n * n * dim:.1e} coordinate "
            f"differences, roughly {minutes:.0f} min with {threads} thread(s)): subsample, or use workers=-1",
            MINEWarning,
            stacklevel=2,
        )
    if dim >= BLOCKED_FROM_DIM:
        nx, nz, eps = _blocked(x, z, k, threads)
    else:
        xz = np.hstack([x, z])
        eps = _positive(cKDTree(xz, leafsize=16).query(xz, k=k + 1, p=np.inf, workers=threads)[0][:, k], k)
        nx, nz = (_marginal_counts(a, eps, threads) for a in (x, z))
    warn(radius_problems(eps, x, z, k, preprocess))
    return ksg_from_counts(len(x), k, nx, nz)


def ksg_mi_bruteforce(
    x: ArrayLike, z: ArrayLike, k: int = 3, chunk: int = 256, preprocess: str = "standardize"
) -> float:
    """The same estimator from all :math:`O(n^2)` pairwise distances: a slow, obviously correct reference.

    Parameters
    ----------
    x, z, k, preprocess
        As for :func:`~minelib.ksg_mi`.
    chunk : int
        Rows compared with all others at a time; a chunk needing more than 2 GiB is refused (``ValueError``).

    Returns
    -------
    float
        The estimate, in nats, from the same neighbour counts as :func:`~minelib.ksg_mi`'s.

    References
    ----------
    Kraskov, A., H. Stögbauer, P. Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).
    """
    chunk = positive_int("chunk", chunk)
    x, z = ksg_inputs(x, z, k, preprocess)
    n = len(x)
    need = 8 * min(chunk, n) * n * (x.shape[1] + z.shape[1] + 3)
    if need > _BRUTE_MEMORY:
        raise ValueError(
            f"chunk={chunk} rows against {n:,} samples would take {need / 2**30:.1f} GiB at once: lower chunk "
            "(or use ksg_mi, which is exact and uses bounded memory)"
        )
    nx, nz = np.empty(n), np.empty(n)
    for start in range(0, n, chunk):
        rows = slice(start, start + chunk)
        dx = np.abs(x[rows, None, :] - x[None]).max(-1)
        dz = np.abs(z[rows, None, :] - z[None]).max(-1)
        eps = np.sort(np.maximum(dx, dz), axis=1)[:, k]  # column 0 is the point itself
        nx[rows] = (dx < eps[:, None]).sum(1) - 1
        nz[rows] = (dz < eps[:, None]).sum(1) - 1
    return ksg_from_counts(n, k, nx, nz)
