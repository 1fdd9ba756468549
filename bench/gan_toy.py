"""GAN vs GAN + MINE on the 25 Gaussians (sigma = 0.1), a first CPU measurement for the coming GAN chapter.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/gan_toy.py [steps] [seeds]   (defaults 8000 and 3; about a minute
per seed and variant pair on one CPU thread). Categorical code with 25 categories, 64-64 networks, lr 1e-3,
batch 256, beta 1, adaptive clipping; modes covered (>= 20 of 2,500 samples within 3 sigma), the share of
high-quality samples and the reverse KL of the mode histogram to uniform.
"""

import sys
import time

import torch

from minelib.applications.gan import GANConfig, train_gan
from minelib.applications.toy import GRID, grid_sampler, mode_metrics


def main(steps: int = 8000, seeds: int = 3) -> None:
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, {steps} steps, 25 Gaussians, sigma 0.1")
    print("| variant | seed | modes (of 25) | high quality | reverse KL | seconds |\n|---|---|---|---|---|---|")
    for seed in range(seeds):
        for mi in (False, True):
            start = time.perf_counter()
            run = train_gan(grid_sampler(0.1), GANConfig(steps=steps, mi=mi, seed=seed, hidden=(64, 64)))
            m = mode_metrics(run.sample(2500, seed=1000 + seed), GRID, 0.1)
            name = "GAN + MINE" if mi else "GAN"
            print(
                f"| {name} | {seed} | {m['modes']} | {m['high_quality']:.2f} | {m['reverse_kl']:.3f} | "
                f"{time.perf_counter() - start:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
