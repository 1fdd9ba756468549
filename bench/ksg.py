"""KSG timing: minelib.ksg_mi (k-d trees) against the O(n^2) brute-force reference, same values.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/ksg.py   (prints a markdown table; ~3 minutes)
"""

import platform
import time

import numpy as np

import minelib as m


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> None:
    print(f"minelib {m.__version__}, {platform.processor() or platform.machine()}, numpy {np.__version__}")
    print("| n | dim x | dim z | ksg_mi 1 thread (s) | ksg_mi 2 threads (s) | brute force (s) | |difference| |")
    print("|---|---|---|---|---|---|---|")
    for n in (2_000, 5_000, 20_000):
        for dx, dz in ((1, 1), (5, 5), (10, 10)):
            x, z = m.sample_correlated_gaussians(n, max(dx, dz), 0.5, seed=0)
            x, z = x[:, :dx], z[:, :dz]
            v1, t1 = timed(m.ksg_mi, x, z, workers=1)
            _, t2 = timed(m.ksg_mi, x, z, workers=2)
            ref, tr = timed(m.ksg_mi_bruteforce, x, z)
            print(f"| {n} | {dx} | {dz} | {t1:.3f} | {t2:.3f} | {tr:.2f} | {abs(v1 - ref):.1e} |", flush=True)


if __name__ == "__main__":
    main()
