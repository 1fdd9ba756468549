"""KSG timing: minelib.ksg_mi against the O(n^2) brute-force reference (same values) and against NPEET's
algorithm, all on this machine.

NPEET (the widely used KSG implementation) is not on PyPI, so its ``mi()`` method is re-created here from
its description: scikit-learn trees with the Chebyshev metric (a ``BallTree`` from 20 joint dimensions on,
a ``KDTree`` below), the k-th neighbour in the joint space, ``query_radius(count_only=True)`` in each
marginal with the radius lowered by 1e-15, and 1e-10 uniform noise added to break ties. Its value differs
from the exact estimate only by that noise.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/ksg.py   (prints a markdown table; ~5 minutes)
"""

import platform
import time

import numpy as np
from scipy.special import digamma
from sklearn.neighbors import BallTree, KDTree

import minelib as m


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def npeet_algorithm(x: np.ndarray, z: np.ndarray, k: int = 3, seed: int = 0) -> float:
    """KSG in nats the way NPEET's ``mi()`` computes it (see the module docstring)."""
    rng = np.random.default_rng(seed)
    x, z = x + 1e-10 * rng.random(x.shape), z + 1e-10 * rng.random(z.shape)
    xz = np.hstack([x, z])

    def tree(a: np.ndarray) -> KDTree | BallTree:
        return (BallTree if a.shape[1] >= 20 else KDTree)(a, metric="chebyshev")

    eps = tree(xz).query(xz, k=k + 1)[0][:, k]
    counts = [tree(a).query_radius(a, eps - 1e-15, count_only=True) for a in (x, z)]  # each includes the point
    return float(digamma(k) + digamma(len(x)) - np.mean(digamma(counts[0])) - np.mean(digamma(counts[1])))


def main() -> None:
    print(f"minelib {m.__version__}, {platform.processor() or platform.machine()}, numpy {np.__version__}")
    print(f"joint dimension from which ksg_mi compares all pairs: {m.ksg.BLOCKED_FROM_DIM}")
    print(
        "| n | dim x | dim z | ksg_mi 1 thread (s) | ksg_mi 2 threads (s) | NPEET's algorithm (s) | brute force (s) "
        "| speed-up over NPEET | ksg_mi − brute force | ksg_mi − NPEET |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in (2_000, 5_000, 20_000):
        for dx, dz in ((1, 1), (2, 2), (5, 5), (10, 10)):
            x, z = m.sample_correlated_gaussians(n, max(dx, dz), 0.5, seed=0)
            x, z = x[:, :dx], z[:, :dz]
            value, t1 = timed(m.ksg_mi, x, z, workers=1)
            _, t2 = timed(m.ksg_mi, x, z, workers=2)
            npeet, tn = timed(npeet_algorithm, x, z)
            ref, tr = timed(m.ksg_mi_bruteforce, x, z)
            print(
                f"| {n} | {dx} | {dz} | {t1:.3f} | {t2:.3f} | {tn:.3f} | {tr:.2f} | {tn / t1:.1f}x "
                f"| {value - ref:.0e} | {value - npeet:.0e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
