r"""The KSG estimator on a GPU: every pairwise max-norm distance, in blocks of rows, in float64.

The same estimator as :func:`minelib.ksg_mi`, with the same validation and preprocessing, found the
brute-force way: for a block of rows, the distances to all :math:`N` points in each marginal space
(``torch.cdist`` with ``p = inf`` computes :math:`\max_j |a_j - b_j|`, exactly as scipy does: a subtraction,
an absolute value and a maximum round nothing differently), their maximum in the joint space, the
:math:`(k+1)`-th smallest of each row (the point itself is the first) as :math:`\epsilon_i`, and the counts
strictly inside it. It costs :math:`O(N^2 d)` operations and :math:`O(\text{rows} \cdot N)` memory: on a
CPU the tree and sort searches of :func:`~minelib.ksg_mi` are faster; on a GPU the arithmetic is cheap
enough that the exhaustive search wins at large :math:`N` and in high dimension (the timing chapter).
"""

from __future__ import annotations

import torch

from minelib._checks import ArrayLike, device_value, positive_int
from minelib.ksg import ksg_from_counts, ksg_inputs
from minelib.trust import radius_problems, warn

_BLOCK_BYTES = 2**30  # memory of one block's three distance matrices and comparison (1 GiB)


def ksg_mi_torch(
    x: ArrayLike,
    z: ArrayLike,
    k: int = 3,
    *,
    device: str | torch.device | None = None,
    rows: int | None = None,
    preprocess: str = "standardize",
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
        Rows of distances per block (default: as many as fit in 1 GiB).
    preprocess : str
        ``"standardize"`` (the default), ``"copula"`` or ``"none"``, as for :func:`~minelib.ksg_mi`.

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
    n = len(x)
    rows = max(1, min(n, _BLOCK_BYTES // (25 * n))) if rows is None else positive_int("rows", rows)
    xt, zt = (torch.as_tensor(a, dtype=torch.float64, device=device) for a in (x, z))
    nx = torch.empty(n, dtype=torch.int64, device=device)
    nz = torch.empty(n, dtype=torch.int64, device=device)
    radii = torch.empty(n, dtype=torch.float64, device=device)
    zero_radius = torch.zeros((), dtype=torch.bool, device=device)
    for start in range(0, n, rows):
        block = slice(start, min(start + rows, n))
        dx = torch.cdist(xt[block], xt, p=float("inf"))
        dz = torch.cdist(zt[block], zt, p=float("inf"))
        eps = torch.maximum(dx, dz).kthvalue(k + 1, dim=1).values.unsqueeze(1)
        radii[block] = eps[:, 0]
        zero_radius |= (eps <= 0).any()
        nx[block] = (dx < eps).sum(1) - 1
        nz[block] = (dz < eps).sum(1) - 1
    if zero_radius:
        raise ValueError(f"more than k={k} identical samples: KSG needs continuous data (add tiny noise or raise k)")
    warn(radius_problems(radii.cpu().numpy(), x, z, k, preprocess))
    return ksg_from_counts(n, k, nx.cpu().numpy(), nz.cpu().numpy())


__all__ = ["ksg_mi_torch"]
