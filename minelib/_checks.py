"""Input validation shared by every public function.

Each check raises a ``TypeError`` or ``ValueError`` that names the offending argument, and runs before
any computation, so a bad call fails fast and says why. Samples are accepted as numpy arrays, lists,
pandas Series/DataFrames and torch tensors (detached and copied to the CPU); they come back as a
``float64`` numpy array with samples in rows, which the estimators then preprocess and cast.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch


class MINEWarning(UserWarning):
    """An estimate that should not be trusted as it stands: the message says why and what to do."""


ArrayLike = np.ndarray | torch.Tensor
_TORCH_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_TORCH_INTS = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _torch_to_numpy(name: str, a: torch.Tensor) -> np.ndarray:
    if a.device.type == "meta":
        raise ValueError(f"{name} is a 'meta' tensor: it has a shape but no values to estimate MI from")
    if a.layout != torch.strided:
        raise TypeError(f"{name} must be a dense tensor, got layout {a.layout}; call .to_dense() first")
    if a.dtype not in _TORCH_FLOATS + _TORCH_INTS:
        raise TypeError(f"{name} must hold real numbers (float or integer dtype), got dtype {a.dtype}")
    return a.detach().to("cpu", torch.float64).numpy()


def _to_numpy_float64(name: str, a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return _torch_to_numpy(name, a)
    if hasattr(a, "to_numpy") and type(a).__module__.startswith("pandas"):
        a = a.to_numpy()
        if a.dtype == object:
            raise TypeError(f"{name}: the pandas object holds non-numeric columns; select numeric columns first")
    elif isinstance(a, list | tuple):
        try:
            a = np.asarray(a)
        except ValueError as e:
            raise ValueError(f"{name}: the nested lists are ragged ({e})") from None
    elif not isinstance(a, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array, a torch tensor, a pandas Series/DataFrame or a list, got {type(a).__name__}"
        )
    if a.dtype.kind not in "iuf" or a.dtype.itemsize > 8:
        raise TypeError(f"{name} must hold real numbers (float64 at most), got dtype {a.dtype}")
    return np.array(a, dtype=np.float64, copy=True)


def as_samples(name: str, a, *, max_ndim: int = 2) -> np.ndarray:
    """Return ``a`` as a ``float64`` numpy array of samples in rows (1-D becomes one column), checked finite.

    ``max_ndim = 3`` also admits an ensemble axis in front: ``(n_models, n, dim)``.
    """
    a = _to_numpy_float64(name, a)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim < 2 or a.ndim > max_ndim:
        raise ValueError(f"{name} must be 1-D or {max_ndim}-D at most (samples in rows), got shape {tuple(a.shape)}")
    if a.shape[-2] == 0 or a.shape[-1] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(a.shape)}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def same_rows(x: ArrayLike, z: ArrayLike, names: tuple[str, str] = ("x", "z")) -> int:
    """Check that ``x`` and ``z`` hold the same number of samples (and ensemble members) and return it."""
    if x.shape[:-1] != z.shape[:-1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of samples: "
            f"got shapes {tuple(x.shape)} and {tuple(z.shape)}"
        )
    return x.shape[-2]


def positive_int(name: str, v: int) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def seed_value(name: str, v: int | None) -> int | None:
    """A seed: ``None`` (fresh randomness) or an integer in ``[0, 2**63)``."""
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 0 <= v < 2**63:
        raise ValueError(f"{name} must be None or an integer in [0, 2**63), got {v!r}")
    return int(v)


def in_open_interval(name: str, v: float, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(v) or not (lo < v < hi):
        raise ValueError(f"{name} must lie strictly between {lo} and {hi}, got {v!r}")
    return float(v)


def non_negative(name: str, v: float) -> float:
    """A finite real number ``>= 0`` (``True`` and ``False`` are not numbers here), e.g. a weight ``beta``."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    return float(v)


_BRACKETS = {"neither": "()", "left": "[)", "right": "(]", "both": "[]"}


def in_interval(name: str, v: float, lo: float, hi: float, *, closed: str = "right") -> float:
    """A real number (not a ``bool``) between ``lo`` and ``hi``; ``closed`` says which ends belong to the
    interval: ``"right"`` is :math:`(lo, hi]`, ``"left"`` :math:`[lo, hi)`, ``"both"`` or ``"neither"``."""
    left, right = _BRACKETS[choice("closed", closed, list(_BRACKETS))]
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and not math.isnan(v)
    if ok:
        ok = (lo <= v if left == "[" else lo < v) and (v <= hi if right == "]" else v < hi)
    if not ok:
        raise ValueError(f"{name} must lie in {left}{lo:g}, {hi:g}{right}, got {v!r}")
    return float(v)


def flag(name: str, v: bool) -> bool:
    """A switch: ``True`` or ``False`` only (not ``0``, ``1``, ``None`` or the string ``"False"``)."""
    if not isinstance(v, bool):
        raise TypeError(f"{name} must be True or False, got {v!r}")
    return v


def derived_seed(seed: int | None, offset: int) -> int | None:
    """The seed of a second random stream of a run seeded with ``seed``: ``seed + offset``, wrapped into
    ``[0, 2**63)`` so that every valid seed derives a valid one (None stays None)."""
    return None if seed is None else (int(seed) + offset) % 2**63


def choice(name: str, v: str, allowed: Sequence[str]) -> str:
    if not isinstance(v, str) or v not in allowed:
        raise ValueError(f"unknown {name} {v!r}; choose one of {', '.join(map(repr, allowed))}")
    return v


def widths(name: str, v: Sequence[int]) -> tuple[int, ...]:
    """Hidden-layer widths: a sequence of positive integers, e.g. ``(64, 64)``."""
    if isinstance(v, str) or not isinstance(v, Sequence):
        raise ValueError(f"{name} must be a sequence of layer widths such as (64, 64), got {v!r}")
    return tuple(positive_int(f"{name} width", h) for h in v)


def per_model(name: str, v: str | Sequence[str], allowed: Sequence[str], n_models: int) -> list[str]:
    """A setting given once for all ensemble members, or once per member."""
    values = [v] * n_models if isinstance(v, str) else list(v)
    if len(values) != n_models:
        raise ValueError(f"{name} must be one name or {n_models} names (one per model), got {len(values)}")
    return [choice(name, s, allowed) for s in values]


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def torch_generator(seed: int | None, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (checked by :func:`seed_value`), or from fresh
    entropy when ``seed`` is None: the one way every module makes its own random stream."""
    gen = torch.Generator(device)
    seed = seed_value("seed", seed)  # a plain int: manual_seed refuses numpy integers
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


@contextmanager
def seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Inside: torch's global generator seeded with ``seed`` (left as it is when ``seed`` is None), and with it
    the CUDA generator of ``device`` when that is a GPU; after: both restored, so a seeded run is reproducible
    and leaves the caller's random state alone."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def sampled_batch(name: str, batch, shape: tuple[int | None, ...]) -> np.ndarray:
    """A batch returned by a data function ``name``, as a finite ``float32`` array of ``shape`` (``None``: any
    size > 0 along that axis)."""
    a = np.asarray(batch, dtype=np.float32)
    if a.ndim != len(shape) or any(n == 0 or (want is not None and n != want) for n, want in zip(a.shape, shape)):
        want = str(tuple("dim" if n is None else n for n in shape)).replace("'", "")
        raise ValueError(f"{name} must return an array of shape {want}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} returned NaN or infinite values (in float32)")
    return a


def device_value(name: str, device: str | torch.device | None) -> torch.device:
    """A torch device that holds values and exists here (``None``: :func:`default_device`)."""
    if device is None:
        return default_device()
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"{name} must name a torch device such as 'cpu' or 'cuda', got {device!r} ({e})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name} 'cuda' was asked for, but torch sees no CUDA GPU here")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"{name} {str(device)!r} does not exist: torch sees {torch.cuda.device_count()} GPU(s)")
    if device.type == "meta":
        raise ValueError(f"{name} 'meta' holds no values: choose 'cpu' or 'cuda'")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name} 'mps' was asked for, but torch sees no Apple GPU here: choose 'cpu'")
    if device.type not in ("cpu", "cuda", "mps"):
        try:
            torch.empty(1, device=device)
        except (RuntimeError, NotImplementedError, AssertionError) as e:
            first = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
            raise ValueError(f"{name} {device.type!r} is not usable here ({first}): choose 'cpu' or 'cuda'") from None
    return device
