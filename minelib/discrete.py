r"""Mutual information with a discrete variable: two label sequences, or continuous samples and labels.

* :func:`~minelib.plugin_mi`: both variables discrete (class labels, counts). The plug-in estimate is the MI of the
  empirical joint table (:func:`~minelib.mutual_information`); it is biased upwards by about
  :math:`(m_{xz} - m_x - m_z + 1)/(2N)` for :math:`m` occupied cells, which Miller–Madow's correction removes
  to first order.
* :func:`~minelib.mixed_mi`: ``x`` continuous, ``labels`` discrete, by Ross's (2014) nearest-neighbour
  estimator: for each point, the distance :math:`d_i` to its :math:`k`-th neighbour among the points of its own
  label, the number :math:`m_i` of points of any label within :math:`d_i`, and
  :math:`\hat I = \psi(N) + \psi(k) - \langle\psi(N_{c_i})\rangle - \langle\psi(m_i)\rangle`. Points whose label
  occurs once carry no neighbour and are left out. KSG on such data would see ties (and warn); MINE can take the
  labels one-hot.

References
----------
Miller, G. A., "Note on the bias of information estimates", 1955. Ross, B. C., "Mutual information between
discrete and continuous data sets", PLoS ONE 9, e87357 (2014).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from minelib._checks import as_samples, choice, positive_int
from minelib.information import mutual_information
from minelib.preprocess import preprocess as transform


def _labels(name: str, a) -> np.ndarray:
    """Labels as one integer code per sample (any hashable values in a 1-D array or list)."""
    a = np.asarray(a)
    if a.ndim != 1 or len(a) < 2:
        raise ValueError(f"{name} must be one label per sample (1-D, at least 2), got shape {a.shape}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite labels")
    return np.unique(a, return_inverse=True)[1].ravel()


def plugin_mi(x, z, correction: str = "miller-madow") -> float:
    """MI in nats between two discrete variables from their paired labels.

    Parameters
    ----------
    x, z : *array-like*
        One label per sample (integers, strings, any values ``numpy.unique`` can sort).
    correction : str
        ``"miller-madow"`` (default) subtracts the first-order bias :math:`(m_{xz} - m_x - m_z + 1)/(2N)`;
        ``"none"`` gives the plug-in estimate.

    Returns
    -------
    float
        The estimate, in nats.

    References
    ----------
    Miller, G. A., "Note on the bias of information estimates", 1955.
    """
    x, z = _labels("x", x), _labels("z", z)
    if len(x) != len(z):
        raise ValueError(f"x and z must have the same number of samples, got {len(x)} and {len(z)}")
    choice("correction", correction, ["miller-madow", "none"])
    table = np.zeros((x.max() + 1, z.max() + 1))
    np.add.at(table, (x, z), 1.0)
    estimate = mutual_information(table / len(x))
    if correction == "none":
        return estimate
    cells, rows, cols = (table > 0).sum(), (table.sum(1) > 0).sum(), (table.sum(0) > 0).sum()
    return estimate - (cells - rows - cols + 1) / (2 * len(x))


def mixed_mi(x, labels, k: int = 3, preprocess: str = "standardize") -> float:
    """MI in nats between continuous samples ``x`` and discrete ``labels`` (Ross, 2014).

    Parameters
    ----------
    x : *array-like*
        ``(n, d)`` continuous samples (1-D is one column); distances are max-norm after ``preprocess``.
    labels : *array-like*
        One label per sample.
    k : int
        Neighbours within a label (fewer for a label with at most ``k`` points).
    preprocess : str
        ``"standardize"``, ``"copula"`` or ``"none"``, as for :func:`~minelib.ksg_mi`.

    Returns
    -------
    float
        The estimate, in nats.

    References
    ----------
    Ross, B. C., "Mutual information between discrete and continuous data sets", PLoS ONE 9, e87357 (2014).
    """
    x, labels, k = as_samples("x", x), _labels("labels", labels), positive_int("k", k)
    if len(x) != len(labels):
        raise ValueError(f"x and labels must have the same number of samples, got {len(x)} and {len(labels)}")
    x = transform("x", preprocess, x)
    counts = np.bincount(labels)
    keep = counts[labels] > 1  # a label seen once has no neighbour of its own
    x, labels = x[keep], labels[keep]
    if len(x) < 2:
        raise ValueError("mixed_mi needs a label that occurs at least twice")
    radius, k_used = np.empty(len(x)), np.empty(len(x))
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        k_used[rows] = kc = min(k, len(rows) - 1)
        radius[rows] = cKDTree(x[rows]).query(x[rows], k=kc + 1, p=np.inf)[0][:, kc]
    tree = cKDTree(x)
    # m_i: the other points, of any label, within d_i (the k-th neighbour of its own label included), as Ross counts
    within = np.array([len(tree.query_ball_point(x[i], radius[i], p=np.inf)) for i in range(len(x))]) - 1
    n_label = np.bincount(labels)[labels]
    return float(digamma(len(x)) + np.mean(digamma(k_used)) - np.mean(digamma(n_label)) - np.mean(digamma(within)))
