"""The independence test's calibration and power (issue 27's table), MINE against a KSG permutation test.

False-positive rate: the share of independent data sets (rho = 0) rejected at alpha = 0.05, over DATASETS data
sets; a valid test gives 0.05 within binomial noise (two standard errors: +-0.031 at 200 data sets). Power: the
share rejected at rho = 0.1 and 0.2, n = 500 and 2,000. MINE settings are small (a 300-step, 32-wide critic) so
the whole run takes minutes on 2 cores; results go to ``bench/results/independence.json``.

    OMP_NUM_THREADS=1 .venv/bin/python bench/independence.py [--datasets 200] [--power-datasets 50]
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import torch

import minelib as m
from minelib.book.timing import cpu_model

MINE = dict(steps=300, batch_size=64, hidden=(32, 32), eval_every=100, device="cpu")


def rejected(method: str, n: int, rho: float, datasets: int, permutations: int) -> tuple[float, float]:
    """Share of data sets with p <= 0.05, and the seconds per test."""
    hits, start = 0, time.perf_counter()
    for seed in range(datasets):
        x, z = m.sample_correlated_gaussians(n, 1, rho, seed=10_000 + seed)
        settings = MINE if method != "ksg" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", m.MINEWarning)
            hits += m.independence_test(x, z, method, permutations=permutations, seed=seed, **settings).p_value <= 0.05
    return hits / datasets, (time.perf_counter() - start) / datasets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--power-datasets", type=int, default=50)
    parser.add_argument("--permutations", type=int, default=99)
    args = parser.parse_args()
    rows = []
    for method in ("mine", "ksg"):
        rate, seconds = rejected(method, 500, 0.0, args.datasets, args.permutations)
        se = math.sqrt(0.05 * 0.95 / args.datasets)
        rows.append({"method": method, "n": 500, "rho": 0.0, "rejected": rate, "datasets": args.datasets,
                     "two_se": 2 * se, "seconds_per_test": seconds})  # fmt: skip
        print(f"{method:5s} n=500 rho=0.0: false-positive rate {rate:.3f} (0.05 +- {2 * se:.3f}), {seconds:.2f} s/test")
        for n in (500, 2000):
            for rho in (0.1, 0.2):
                rate, seconds = rejected(method, n, rho, args.power_datasets, args.permutations)
                rows.append({"method": method, "n": n, "rho": rho, "rejected": rate, "datasets": args.power_datasets,
                             "mi": m.gaussian_mi(rho), "seconds_per_test": seconds})  # fmt: skip
                print(
                    f"{method:5s} n={n} rho={rho}: power {rate:.2f} (MI {m.gaussian_mi(rho):.4f}), {seconds:.2f} s/test"
                )
    out = Path(__file__).with_name("results") / "independence.json"
    out.parent.mkdir(exist_ok=True)
    machine = {
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "minelib": m.__version__,
    }
    record = {"machine": machine, "settings": {**MINE, "permutations": args.permutations}, "rows": rows}
    out.write_text(json.dumps(record, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
