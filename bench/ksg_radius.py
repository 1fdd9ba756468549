"""KSG's bias against the width of its neighbourhoods: the measurement behind minelib.trust.radius_problems.

For correlated Gaussians (d + d dimensions, k = 3, each coordinate standardized), prints the KSG estimate, the
exact MI, their ratio and the median distance to the k-th joint neighbour in standard deviations (what the
warning looks at), then the issue's 50 + 1 case (one informative coordinate among 50). About a minute on 2 cores:

    OMP_NUM_THREADS=2 .venv/bin/python bench/ksg_radius.py
"""

import warnings

import numpy as np
from scipy.spatial import cKDTree

import minelib as m
from minelib.preprocess import preprocess


def median_radius(x: np.ndarray, z: np.ndarray, k: int = 3) -> float:
    xz = np.hstack([preprocess("x", "standardize", x), preprocess("z", "standardize", z)])
    return float(np.median(cKDTree(xz).query(xz, k=k + 1, p=np.inf)[0][:, k]))


def main() -> None:
    warnings.simplefilter("ignore")  # the warning under study
    for n in (1000, 4000):
        for d in (1, 2, 5, 10, 20):
            for rho in (0.5, 0.9, 0.99):
                x, z = m.sample_correlated_gaussians(n, d, rho, seed=0)
                est, truth = m.ksg_mi(x, z, k=3), m.gaussian_mi(rho, d)
                print(f"n={n} d={d:2d}+{d:<2d} rho={rho}: KSG {est:6.3f} exact {truth:6.3f} ratio {est / truth:4.2f} "
                      f"median radius {median_radius(x, z):.3f}", flush=True)  # fmt: skip
    rng = np.random.default_rng(0)
    for n in (1000, 4000):
        x, z = m.sample_correlated_gaussians(n, 1, 0.8, seed=1)
        x50 = np.hstack([x, rng.normal(size=(n, 49))])
        print(f"n={n} 50+1: KSG {m.ksg_mi(x50, z):.3f} exact {m.gaussian_mi(0.8):.3f} median radius "
              f"{median_radius(x50, z):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
