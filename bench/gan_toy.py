"""GAN vs GAN + MINE on the 25 Gaussians (sigma = 0.1): the CPU cost and outcome of one chapter run per seed.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/gan_toy.py [steps] [seeds]   (defaults 8000 and 3; about 50 s per
seed on one CPU thread). The chapter "GAN + MINE against mode dropping" runs the same experiment
(minelib.book.gan_toy.gan_experiment) on both data sets, with the ablation.
"""

import sys

import torch

from minelib.applications.toy import GRID, grid_sampler
from minelib.book.gan_toy import gan_experiment


def main(steps: int = 8000, seeds: int = 3) -> None:
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, {steps} steps, 25 Gaussians, sigma 0.1")
    out = gan_experiment(
        {"25 Gaussians": (grid_sampler(0.1), GRID, 0.1)},
        {"GAN": {"mi": False}, "GAN + MINE": {}},
        seeds=seeds,
        steps=steps,
        progress=False,
    )
    print("| variant | seed | modes (of 25) | high quality | reverse KL | seconds |\n|---|---|---|---|---|---|")
    for r in out["rows"]:
        kl = "inf" if r["reverse_kl"] is None else f"{r['reverse_kl']:.3f}"
        print(f"| {r['variant']} | {r['seed']} | {r['modes']} | {r['high_quality']:.2f} | {kl} | {r['seconds']:.0f} |")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
