"""The size switch of the book: ``MINE_BUDGET`` is ``full`` (the default, stored outputs) or ``smoke`` (tests)."""

from __future__ import annotations

import atexit
import json
import os
import random
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

BUDGETS = ("full", "smoke")
T = TypeVar("T")


def budget() -> str:
    """The size profile named by the environment variable ``MINE_BUDGET`` (default ``full``)."""
    value = os.environ.get("MINE_BUDGET", "full")
    if value not in BUDGETS:
        raise ValueError(f"MINE_BUDGET must be one of {BUDGETS}, got {value!r}")
    return value


def size(full: T, smoke: T) -> T:
    """Pick the full-size or the smoke-test value of a setting, by :func:`budget`."""
    return full if budget() == "full" else smoke


def results_path(name: str) -> Path:
    """Where a chapter writes the results file ``name``.

    * ``MINE_RESULTS_DIR`` set (``book/regenerate.py`` sets it): that staging folder; the regenerator
      moves its files into ``results/`` only after the whole chapter ran and its checks passed;
    * budget ``full`` otherwise (a reader running the chapter): ``results/<name>`` next to the notebook;
    * budget ``smoke``: one temporary folder per process, removed when the process exits, so test runs
      never overwrite the stored full-size results.
    """
    if not name or Path(name).name != name:
        raise ValueError(f"name must be a plain file name, got {name!r}")
    staging = os.environ.get("MINE_RESULTS_DIR")
    if staging:
        folder = Path(staging)
    elif budget() == "full":
        folder = Path("results")
    else:
        folder = _smoke_folder()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


_SMOKE: list[Path] = []


def _smoke_folder() -> Path:
    if not _SMOKE:
        _SMOKE.append(Path(tempfile.mkdtemp(prefix="mine-smoke-")))
        atexit.register(shutil.rmtree, _SMOKE[0], ignore_errors=True)
    return _SMOKE[0]


def save_results(name: str, records) -> Path:
    """Write ``records`` as JSON to :func:`results_path` ``(name)`` atomically (a temporary file, then
    ``os.replace``): a crash or a full disk never leaves a half-written file. Returns the path."""
    path = results_path(name)
    text = json.dumps(records, indent=1, allow_nan=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the results from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def quietly(fn: Callable[..., T], *args, **kwargs) -> tuple[T, list[str]]:
    """Run ``fn(*args, **kwargs)`` recording minelib's warnings instead of showing them.

    Returns the result and the warnings' messages, for a chapter that demonstrates a failure on purpose
    and prints what ``minelib`` said (stored outputs carry no raw warnings).
    """
    from minelib import MINEWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MINEWarning)
        result = fn(*args, **kwargs)
    said = []
    for w in caught:
        if issubclass(w.category, MINEWarning):
            said.append(str(w.message))
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return result, said


@dataclass(frozen=True)
class Setup:
    """What a notebook runs on: the budget, the torch device and the seed."""

    budget: str
    device: torch.device
    seed: int
    started: float = field(default_factory=time.perf_counter, repr=False)

    def __str__(self) -> str:
        from minelib import __version__

        return (
            f"minelib {__version__} | budget {self.budget} | device {_where(self.device)} | "
            f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s) | seed {self.seed}"
        )

    def report(self) -> None:
        """Print how long the notebook has run, and where: the last line of every chapter."""
        minutes, seconds = divmod(time.perf_counter() - self.started, 60)
        print(f"This chapter ran in {int(minutes)} min {seconds:.0f} s on {_where(self.device)}, budget {self.budget}.")


def _where(device: torch.device) -> str:
    """The device as the stamp and the report print it, e.g. ``cpu (AMD EPYC, 2 cores)``."""
    return f"{device.type} ({_device_name(device)})"


def _device_name(device: torch.device) -> str:
    from minelib.book.timing import cpu_model

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()}, {os.cpu_count()} cores"


def setup(seed: int = 0) -> Setup:
    """Seed Python, numpy and torch, choose the device (CUDA when present) and print the stamp."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global generator, for readers' own np.random calls)
    torch.manual_seed(seed)
    s = Setup(budget(), torch.device("cuda" if torch.cuda.is_available() else "cpu"), seed)
    print(s)
    return s
