"""The size switch of the book: ``MINE_BUDGET`` is ``full`` (the default, stored outputs) or ``smoke`` (tests)."""

from __future__ import annotations

import os
import platform
import random
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Setup:
    """What a notebook runs on: the budget, the torch device and the seed."""

    budget: str
    device: torch.device
    seed: int

    def __str__(self) -> str:
        from minelib import __version__

        name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else platform.processor() or "CPU"
        return (
            f"minelib {__version__} | budget {self.budget} | device {self.device.type} ({name}) | "
            f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s) | seed {self.seed}"
        )


def setup(seed: int = 0) -> Setup:
    """Seed Python, numpy and torch, choose the device (CUDA when present) and print the stamp."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    s = Setup(budget(), torch.device("cuda" if torch.cuda.is_available() else "cpu"), seed)
    print(s)
    return s
