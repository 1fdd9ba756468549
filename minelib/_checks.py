"""Input validation shared by every public function.

Each check raises a ``TypeError`` or ``ValueError`` that names the offending argument, and runs before
any computation, so a bad call fails fast and says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


def as_samples(name: str, a: ArrayLike, *, max_ndim: int = 2) -> ArrayLike:
    """Return ``a`` as a float array of samples with rows as samples (1-D becomes one column).

    ``max_ndim = 3`` also admits an ensemble axis in front: ``(n_models, n, dim)``.
    """
    if not isinstance(a, np.ndarray | torch.Tensor):
        raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(a).__name__}")
    is_numeric = (
        a.dtype.is_floating_point or (not a.dtype.is_complex and a.dtype != torch.bool)
        if isinstance(a, torch.Tensor)
        else a.dtype.kind in "iuf"
    )
    if not is_numeric:
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim < 2 or a.ndim > max_ndim:
        raise ValueError(f"{name} must be 1-D or {max_ndim}-D at most (samples in rows), got shape {tuple(a.shape)}")
    if a.shape[-2] == 0 or a.shape[-1] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(a.shape)}")
    finite = torch.isfinite(a).all() if isinstance(a, torch.Tensor) else np.isfinite(a).all()
    if not finite:
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def to_numpy(a: ArrayLike) -> np.ndarray:
    """A numpy view or copy of an array or tensor (tensors are moved to the CPU)."""
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def to_tensor(a: ArrayLike) -> torch.Tensor:
    """A tensor view or copy of an array or tensor (a read-only numpy array is copied: torch cannot view it)."""
    if isinstance(a, np.ndarray) and not a.flags.writeable:
        a = a.copy()
    return torch.as_tensor(a)


def same_rows(x: ArrayLike, z: ArrayLike, names: tuple[str, str] = ("x", "z")) -> int:
    """Check that ``x`` and ``z`` hold the same number of samples (and ensemble members) and return it."""
    if x.shape[:-1] != z.shape[:-1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of samples: "
            f"got shapes {tuple(x.shape)} and {tuple(z.shape)}"
        )
    return x.shape[-2]


def positive_int(name: str, v: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v <= 0:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def in_open_interval(name: str, v: float, lo: float, hi: float) -> float:
    if not isinstance(v, int | float | np.floating | np.integer) or not (lo < v < hi) or math.isnan(v):
        raise ValueError(f"{name} must lie strictly between {lo} and {hi}, got {v!r}")
    return float(v)


def choice(name: str, v: str, allowed: Sequence[str]) -> str:
    if v not in allowed:
        raise ValueError(f"unknown {name} {v!r}; choose one of {', '.join(map(repr, allowed))}")
    return v


def per_model(name: str, v: str | Sequence[str], allowed: Sequence[str], n_models: int) -> list[str]:
    """A setting given once for all ensemble members, or once per member."""
    values = [v] * n_models if isinstance(v, str) else list(v)
    if len(values) != n_models:
        raise ValueError(f"{name} must be one name or {n_models} names (one per model), got {len(values)}")
    return [choice(name, s, allowed) for s in values]
