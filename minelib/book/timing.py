"""Timing that can be trusted on a CPU and on a GPU, and the record of what machine measured it.

:func:`time_call` warms up, synchronises CUDA before every clock read (kernels run asynchronously: without
it a clock measures the launch, not the work), repeats, and reports the median with its quartiles.
:func:`device_record` says what was measured on: device name, torch, CUDA and cuDNN versions, float32 matmul
precision, thread count; every timing results file carries it.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from minelib._checks import positive_int


@dataclass(frozen=True)
class Timing:
    """Seconds per call: the median of ``repeats`` timed calls and their quartiles."""

    median: float
    q25: float
    q75: float
    repeats: int


def synchronize(device: torch.device | str) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(
    fn: Callable[[], object], device: torch.device | str = "cpu", *, warmup: int = 1, repeats: int = 5
) -> Timing:
    """Time ``fn()`` on ``device``: ``warmup`` untimed calls, then ``repeats`` calls, each between two
    synchronised clock reads. Returns the median and quartiles in seconds."""
    positive_int("repeats", repeats)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative integer, got {warmup!r}")
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    q = statistics.quantiles(times, n=4, method="inclusive") if repeats > 1 else [times[0]] * 3
    return Timing(statistics.median(times), q[0], q[2], repeats)


def cpu_model() -> str:
    """The processor's model name, e.g. ``AMD EPYC 7B13``."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def device_name(device: torch.device | str) -> str:
    """``NVIDIA H200`` for a GPU, ``cpu AMD EPYC 7B13`` for a CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu {cpu_model()}"


def device_slug(name: str) -> str:
    """A folder name for a device: lowercase letters, digits and dashes (``nvidia-h200``)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def device_record(device: torch.device | str | None = None) -> dict:
    """What a measurement ran on (no host name): device, software versions, threads and the date."""
    from minelib import __version__

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = device.type == "cuda"
    return {
        "device": device_name(device),
        "device_type": device.type,
        "gpu_memory_gib": round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1) if cuda else None,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "python": platform.python_version(),
        "minelib": __version__,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
