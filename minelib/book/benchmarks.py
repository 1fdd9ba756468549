"""The timing comparisons of the book, one function each, run the same way on a CPU and on a GPU.

Each function returns a list of rows (dicts), one per measurement, and stops starting new ones once a
``deadline`` (a ``time.monotonic()`` value) has passed: those rows say ``"status": "not run (budget)"``.
``bench/device_run.py`` runs them on a rented GPU and on the book's CPU and stores the rows per device;
the timing chapter plots every device side by side and runs them at a small size on the reader's device.

1. :func:`training_throughput`: MINE training steps (and pairs) per second against the batch size;
2. :func:`ensemble_speedup`: one ensemble of :math:`N` networks against :math:`N` one-at-a-time runs;
3. :func:`ksg_times`: KSG's cost against :math:`N` and the dimension (the tree searches of
   :func:`~minelib.ksg_mi` on a CPU, the exhaustive :func:`~minelib.ksg_torch.ksg_mi_torch` on a GPU);
4. :func:`time_to_accuracy`: error against wall-clock time for MINE and KSG on correlated Gaussians.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial

import numpy as np
import torch

import minelib as m
from minelib.book.timing import time_call
from minelib.ksg_torch import ksg_mi_torch

NOT_RUN = "not run (budget)"
HIDDEN = (64, 64)


def _expired(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _gaussians(n: int, dim: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return m.sample_correlated_gaussians(n, dim, rho, seed=seed)


def _once(fn, device: torch.device) -> tuple[float, object]:
    """Seconds of one synchronised call of ``fn()`` (no warm-up), and its value."""
    out = []
    t = time_call(lambda: out.append(fn()), device, warmup=0, repeats=1)
    return t.median, out[0]


def _ksg(x: np.ndarray, z: np.ndarray, device: torch.device, k: int = 3) -> float:
    """KSG as the device does it best: the exhaustive torch search on a GPU, the tree searches on a CPU."""
    if device.type == "cuda":
        return ksg_mi_torch(x, z, k, device=device)
    return m.ksg_mi(x, z, k, workers=torch.get_num_threads())


def _fit(est: m.MINE, x: np.ndarray, z: np.ndarray, **options) -> m.MINE:
    return est.fit(x, z, **options)


def training_throughput(
    device: str | torch.device,
    batch_sizes: Sequence[int],
    *,
    steps: int = 200,
    pairs: int = 4_000_000,
    repeats: int = 3,
    deadline: float | None = None,
) -> list[dict]:
    """Steps and pairs per second of one MINE (1-D Gaussians, hidden 64-64, DV with moving average).

    Each measurement is one :meth:`~minelib.MINE.fit` (one validation and one test evaluation included)
    of ``steps`` steps, fewer for large batches (about ``pairs`` pairs in all, at least 20 steps), on enough
    pairs for the batch; the median of ``repeats`` after a warm-up.
    """
    device = torch.device(device)
    rows = []
    for b in batch_sizes:
        if _expired(deadline):
            rows.append({"batch_size": b, "status": NOT_RUN})
            continue
        n_steps = int(np.clip(pairs // b, min(20, steps), steps))
        x, z = _gaussians(max(20_000, int(1.6 * b) + 64), 1, 0.5, seed=0)
        est = m.MINE(1, 1, hidden=HIDDEN, seed=0, device=device)
        options = dict(steps=n_steps, batch_size=b, eval_every=n_steps)
        t = time_call(partial(_fit, est, x, z, **options), device, repeats=repeats)
        rows.append(
            {
                "batch_size": b,
                "steps": n_steps,
                "seconds": t.median,
                "q25": t.q25,
                "q75": t.q75,
                "steps_per_s": n_steps / t.median,
                "pairs_per_s": n_steps * b / t.median,
                "status": "ok",
            }
        )
    return rows


def ensemble_speedup(
    device: str | torch.device,
    sizes: Sequence[int],
    *,
    steps: int = 300,
    batch_size: int = 64,
    repeats: int = 3,
    deadline: float | None = None,
) -> list[dict]:
    """Seconds to train ``N`` MINE networks (2-D Gaussians, hidden 64-64) as one ensemble, and ``N`` times
    the measured seconds of one network trained alone (the one-at-a-time cost), for each ``N`` in ``sizes``."""
    device = torch.device(device)
    x, z = _gaussians(4000, 2, 0.5, seed=0)
    single = m.MINE(2, 2, hidden=HIDDEN, seed=0, device=device)
    options = dict(steps=steps, batch_size=batch_size, eval_every=steps)
    one = time_call(partial(_fit, single, x, z, **options), device, repeats=repeats)
    rows = []
    for n_models in sizes:
        if _expired(deadline):
            rows.append({"n_models": n_models, "status": NOT_RUN})
            continue
        ens = m.MINE(2, 2, n_models=n_models, hidden=HIDDEN, seed=0, device=device)
        t = time_call(partial(_fit, ens, x, z, **options), device, repeats=repeats)
        rows.append(
            {
                "n_models": n_models,
                "steps": steps,
                "batch_size": batch_size,
                "ensemble_s": t.median,
                "q25": t.q25,
                "q75": t.q75,
                "one_model_s": one.median,
                "one_at_a_time_s": n_models * one.median,
                "speedup": n_models * one.median / t.median,
                "status": "ok",
            }
        )
    return rows


def ksg_times(
    device: str | torch.device,
    sizes: Sequence[int],
    dims: Sequence[int],
    *,
    k: int = 3,
    deadline: float | None = None,
) -> list[dict]:
    """Seconds for one KSG estimate (``rho = 0.5``, ``dim`` per variable) for each ``N`` and ``dim``: the
    searches of :func:`~minelib.ksg_mi` on a CPU, :func:`~minelib.ksg_torch.ksg_mi_torch` on a GPU.

    A measurement whose predicted time (from the last ``N`` at the same dimension, scaled by
    :math:`N^2`) would pass the deadline is not started."""
    device = torch.device(device)
    method = "ksg_mi_torch" if device.type == "cuda" else "ksg_mi"
    rows = []
    for dim in dims:
        last: tuple[int, float] | None = None
        for n in sizes:
            predicted = 0.0 if last is None else last[1] * (n / last[0]) ** 2
            if _expired(deadline) or (deadline is not None and time.monotonic() + predicted > deadline):
                rows.append({"n": n, "dim": dim, "method": method, "status": NOT_RUN})
                continue
            x, z = _gaussians(n, dim, 0.5, seed=1)
            seconds, value = _once(partial(_ksg, x, z, device, k), device)
            last = (n, seconds)
            rows.append({"n": n, "dim": dim, "method": method, "seconds": seconds, "estimate": value, "status": "ok"})
    return rows


def time_to_accuracy(
    device: str | torch.device,
    dims: Sequence[int],
    *,
    rho: float = 0.5,
    mine_steps: Sequence[int] = (100, 300, 1000, 3000),
    ksg_sizes: Sequence[int] = (1000, 3000, 10_000, 30_000),
    n: int = 20_000,
    deadline: float | None = None,
) -> list[dict]:
    """Error :math:`|\\hat I - I|` against wall-clock seconds on correlated Gaussians (``dim`` per variable).

    MINE: one fit of ``s`` steps (batch 256, hidden 64-64) on ``n`` pairs per budget ``s``; KSG: one estimate
    on the first ``N`` pairs per size (on the GPU, the exhaustive torch search). Which one to use, given a
    time budget, is the smallest error reached within it."""
    device = torch.device(device)
    x, z = _gaussians(1000, 1, rho, seed=0)
    m.MINE(1, 1, hidden=HIDDEN, seed=0, device=device).fit(x, z, steps=5, batch_size=64)  # warm-up, untimed
    rows = []
    for dim in dims:
        truth = m.gaussian_mi(rho, dim)
        x, z = _gaussians(max(n, *ksg_sizes), dim, rho, seed=2)
        for steps in mine_steps:
            if _expired(deadline):
                rows.append({"method": "mine", "dim": dim, "budget": steps, "status": NOT_RUN})
                continue
            est = m.MINE(dim, dim, hidden=HIDDEN, seed=0, device=device)
            seconds, _ = _once(partial(_fit, est, x[:n], z[:n], steps=steps, batch_size=256), device)
            rows.append(_accuracy_row("mine", dim, steps, seconds, est.estimate_, truth))
        for size in ksg_sizes:
            if _expired(deadline):
                rows.append({"method": "ksg", "dim": dim, "budget": size, "status": NOT_RUN})
                continue
            seconds, value = _once(partial(_ksg, x[:size], z[:size], device), device)
            rows.append(_accuracy_row("ksg", dim, size, seconds, value, truth))
    return rows


def _accuracy_row(method: str, dim: int, budget: int, seconds: float, estimate: float, truth: float) -> dict:
    return {
        "method": method,
        "dim": dim,
        "budget": budget,
        "seconds": seconds,
        "estimate": float(estimate),
        "truth": truth,
        "error": abs(float(estimate) - truth),
        "status": "ok",
    }


SECTIONS = ("throughput", "ensemble", "ksg", "accuracy")


def load_timings(folder) -> dict[str, dict]:
    """Every device's timing results under ``folder`` (``book/results/devices``): ``{device name: {"record":
    device record, section: rows, ...}}``, sections missing on a device left out; ``{}`` if there is none."""
    import json
    from pathlib import Path

    found = {}
    for sub in sorted(Path(folder).glob("*/device.json")):
        record = json.loads(sub.read_text())
        sections = {}
        for name in SECTIONS:
            path = sub.parent / f"{name}.json"
            if path.exists():
                data = json.loads(path.read_text())
                sections[name] = [r for r in data.get("rows", []) if r.get("status") == "ok"]
                record = data.get("device_record", record)
        if sections:
            found[record["device"]] = {"record": record, **sections}
    return found
