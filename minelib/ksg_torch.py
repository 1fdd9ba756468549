r"""The KSG estimator on a GPU: every pairwise max-norm distance, in blocks of rows, equal to :func:`minelib.ksg_mi`.

The same estimator as :func:`minelib.ksg_mi`, with the same validation and preprocessing, found the
brute-force way: for a block of rows, the distances to all :math:`N` points in each marginal space (the
maximum over coordinates of :math:`|a_j - b_j|`, one broadcast subtraction a coordinate: ``torch.cdist`` with
``p = inf`` launches one thread block per distance on CUDA and is two orders of magnitude slower), their
maximum in the joint space, the :math:`(k+1)` smallest of each row with ``topk`` (the point itself is the
first), the :math:`(k+1)`-th as :math:`\epsilon_i`, and the counts strictly inside it. It costs
:math:`O(N^2 d)` operations and :math:`O(\text{rows} \cdot N)` memory: on a CPU the tree and sort searches of
:func:`~minelib.ksg_mi` are faster; on a GPU the arithmetic is cheap enough that the exhaustive search wins.

**Exact in float32.** ``precision="mixed"`` (the default) computes the distances in float32, at twice the
speed and half the memory of float64, and then makes the answer the float64 one. A float32 distance is within
:math:`e = 2^{-22} M` of the float64 one (:math:`M`, the largest absolute coordinate: each input rounds by at
most :math:`2^{-24}M`, the subtraction by :math:`2^{-23}M`; the absolute value and maximum are exact), so
:math:`\epsilon_i` is recomputed in float64 from the ``k + 9`` nearest float32 candidates (enough whenever the
last of them lies :math:`2e` beyond the float32 radius; other rows are redone in float64), and a point is
counted from its float32 distance when it lies more than :math:`e` from :math:`\epsilon_i` on either side, and
from its float64 distance otherwise (a few pairs a row at most); the code takes twice :math:`e` for margin.
``precision="float64"`` computes every distance in float64.
"""

from __future__ import annotations

import torch

from minelib._checks import ArrayLike, choice, device_value, positive_int
from minelib.ksg import ksg_from_counts, ksg_inputs
from minelib.trust import radius_problems, warn

_BLOCK_BYTES = 2**30  # memory of one block's distance matrices and comparisons (1 GiB)
_SPARE = 8  # float32 candidates beyond the k + 1 nearest, from which the float64 radius is taken
PRECISIONS = ("mixed", "float64")


def ksg_mi_torch(
    x: ArrayLike,
    z: ArrayLike,
    k: int = 3,
    *,
    device: str | torch.device | None = None,
    rows: int | None = None,
    preprocess: str = "standardize",
    precision: str = "mixed",
) -> float:
    """KSG estimate of :math:`I(X;Z)` in nats, computed with torch on ``device`` (default: CUDA if present).

    Equal to :func:`~minelib.ksg_mi` with the same ``k`` and ``preprocess`` (the same ties, the same
    errors and warnings).

    Parameters
    ----------
    x, z : *array-like*
        Paired samples in rows, as for :func:`~minelib.ksg_mi`: ``(n, d_x)`` and ``(n, d_z)``, 1-D inputs one
        column.
    k : int
        The neighbour (in the joint space) whose distance is each sample's radius; fewer than ``n``.
    device : str or *torch.device* or None
        Where the distances are computed (``None``: CUDA if present, else the CPU).
    rows : int or None
        Rows of distances per block (default: as many as fit in 1 GiB: four float32 or two float64 matrices).
    preprocess : str
        ``"standardize"`` (the default), ``"copula"`` or ``"none"``, as for :func:`~minelib.ksg_mi`.
    precision : str
        ``"mixed"``: float32 distances made exact where rounding could matter (module docstring); ``"float64"``:
        every distance in float64. Both equal :func:`~minelib.ksg_mi`.

    Returns
    -------
    float
        The estimate, in nats.

    References
    ----------
    Kraskov, A., H. Stögbauer, P. Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).
    """
    x, z = ksg_inputs(x, z, k, preprocess)
    device = device_value("device", device)
    choice("precision", precision, PRECISIONS)
    n = len(x)
    per_entry = 20 if precision == "mixed" else 36  # four distance matrices and a comparison, per row and point
    rows = max(1, min(n, _BLOCK_BYTES // (per_entry * n))) if rows is None else positive_int("rows", rows)
    x64, z64 = (torch.as_tensor(a, dtype=torch.float64, device=device) for a in (x, z))
    counts = torch.empty((2, n), dtype=torch.int64, device=device)
    radii = torch.empty(n, dtype=torch.float64, device=device)
    if precision == "float64":
        for start in range(0, n, rows):
            block = torch.arange(start, min(start + rows, n), device=device)
            radii[block], counts[:, block] = _exact_rows(x64, z64, block, k)
    else:
        e = 2.0**-21 * max(float(x64.abs().max()), float(z64.abs().max()))  # twice the bound (module docstring)
        x32, z32 = x64.float(), z64.float()
        for start in range(0, n, rows):
            block = torch.arange(start, min(start + rows, n), device=device)
            radii[block], counts[:, block] = _mixed_rows((x32, z32), (x64, z64), block, k, e)
    if bool((radii <= 0).any()):
        raise ValueError(f"more than k={k} identical samples: KSG needs continuous data (add tiny noise or raise k)")
    warn(radius_problems(radii.cpu().numpy(), x, z, k, preprocess))
    nx, nz = counts.cpu().numpy()
    return ksg_from_counts(n, k, nx, nz)


def max_distances(block: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``(len(block), len(points))`` max-norm distances, one broadcast subtraction per coordinate."""
    out = (block[:, None, 0] - points[None, :, 0]).abs_()
    for j in range(1, points.shape[1]):
        torch.maximum(out, (block[:, None, j] - points[None, :, j]).abs_(), out=out)
    return out


def _exact_rows(x64: torch.Tensor, z64: torch.Tensor, block: torch.Tensor, k: int):
    """Radii and counts of the rows ``block``, every distance in float64."""
    dx, dz = max_distances(x64[block], x64), max_distances(z64[block], z64)
    eps = torch.maximum(dx, dz).topk(k + 1, dim=1, largest=False).values[:, k]
    return eps, torch.stack([(d < eps[:, None]).sum(1) - 1 for d in (dx, dz)])


def _mixed_rows(low: tuple, high: tuple, block: torch.Tensor, k: int, e: float):
    """Radii and counts of the rows ``block`` from float32 distances, made exact in float64 where rounding by at
    most ``e`` a distance could change them (module docstring)."""
    (x32, z32), (x64, z64) = low, high
    dx, dz = max_distances(x32[block], x32), max_distances(z32[block], z32)
    near = torch.maximum(dx, dz).topk(min(k + 1 + _SPARE, len(x32)), dim=1, largest=False)
    cand = near.indices
    joint64 = torch.maximum(
        (x64[block, None, :] - x64[cand]).abs().amax(-1), (z64[block, None, :] - z64[cand]).abs().amax(-1)
    )
    eps = joint64.sort(dim=1).values[:, k]
    counts = torch.empty((2, len(block)), dtype=torch.int64, device=block.device)
    for c, (d, a64) in enumerate(((dx, x64), (dz, z64))):
        lo = torch.nextafter((eps - e).float(), torch.tensor(-torch.inf, device=eps.device))
        hi = torch.nextafter((eps + e).float(), torch.tensor(torch.inf, device=eps.device))
        counts[c] = (d < lo[:, None]).sum(1) - 1
        unsure = ((d >= lo[:, None]) & (d < hi[:, None])).nonzero()
        if len(unsure):
            i, j = unsure.unbind(1)
            inside = (a64[block[i]] - a64[j]).abs().amax(-1) < eps[i]
            counts[c].index_add_(0, i, inside.long())
    redo = near.values[:, -1].double() <= near.values[:, k].double() + 2 * e if cand.shape[1] < len(x32) else None
    if redo is not None and bool(redo.any()):  # ties crowd the radius: the k + 9 candidates may miss the k-th
        eps[redo], counts[:, redo] = _exact_rows(x64, z64, block[redo], k)
    return eps, counts


__all__ = ["ksg_mi_torch"]
