"""KSG timing: ``minelib.ksg_mi`` against NPEET's ``mi()`` itself, side by side on the same points.

NPEET (gregversteeg/NPEET, the most used Python KSG) is not on PyPI; an unmodified copy sits beside this
repository in ``../shared/bench/npeet`` and is imported from there (never copied in). It adds 1e-10 noise
to break ties, so its value equals the exact estimate to about 4 decimals. Both run on one thread, on the same
correlated Gaussians (rho = 0.5, k = 3): one warm-up call each, then ``--repeats`` rounds that alternate the
two (so a busy spell on the shared CPU hits both), median and quartiles of each, and the ratio of medians.
``ksg_mi`` is called as a reader calls it (its default ``preprocess="standardize"`` and every check).
Results go to ``bench/results/ksg_npeet.json`` with the machine.

    OMP_NUM_THREADS=1 .venv/bin/python bench/ksg.py [--sizes 5000 20000] [--dims 1 2 5 10] [--repeats 7]

Issue 22's gate: ksg_mi >= 3x NPEET at 1+1 and 10+10 for n = 5,000 and 20,000.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import minelib as m
from minelib.book.timing import device_record

NPEET = Path(__file__).resolve().parents[2] / "shared" / "bench" / "npeet" / "entropy_estimators.py"
OUT = Path(__file__).parent / "results" / "ksg_npeet.json"


def load_npeet():
    if not NPEET.exists():
        sys.exit(f"NPEET is not at {NPEET}: this bench times against the real code only")
    spec = importlib.util.spec_from_file_location("npeet_entropy_estimators", NPEET)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def interleaved(calls: dict, repeats: int) -> dict[str, dict]:
    """Warm each call up once, then time ``repeats`` rounds, each calling every entry once in turn."""
    values = {name: fn() for name, fn in calls.items()}  # the warm-up, also the values compared
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    out = {}
    for name, ts in times.items():
        q = statistics.quantiles(ts, n=4, method="inclusive")
        out[name] = {"value": float(values[name]), "median_s": statistics.median(ts), "q1_s": q[0], "q3_s": q[2]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[5_000, 20_000])
    parser.add_argument("--dims", type=int, nargs="*", default=[1, 2, 5, 10])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    npeet = load_npeet()
    warnings.simplefilter("ignore", m.MINEWarning)  # the wide-neighbourhood warning at 10 + 10: timing only
    rows = []
    print("| n | dims | ksg_mi (s) | NPEET (s) | speed-up | ksg_mi - NPEET (nats) |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        for d in args.dims:
            x, z = m.sample_correlated_gaussians(n, d, 0.5, seed=0)
            x, z = x.astype(np.float64), z.astype(np.float64)
            np.random.seed(0)  # noqa: NPY002  (NPEET draws its tie-breaking noise from numpy's global generator)
            timed = interleaved(
                {
                    "ksg_mi": lambda x=x, z=z: m.ksg_mi(x, z, k=3),
                    "npeet": lambda x=x, z=z: npeet.mi(x, z, k=3, base=np.e),
                },
                args.repeats,
            )
            ratio = timed["npeet"]["median_s"] / timed["ksg_mi"]["median_s"]
            rows.append({"n": n, "x_dim": d, "z_dim": d, **timed, "speedup": ratio})
            diff = timed["ksg_mi"]["value"] - timed["npeet"]["value"]
            print(
                f"| {n} | {d}+{d} | {timed['ksg_mi']['median_s']:.4f} | {timed['npeet']['median_s']:.4f} "
                f"| {ratio:.1f}x | {diff:.0e} |",
                flush=True,
            )
    OUT.parent.mkdir(exist_ok=True)
    record = {"machine": device_record("cpu"), "repeats": args.repeats, "k": 3, "rho": 0.5, "rows": rows}
    OUT.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
