"""CPU timing of the staircase (chapter "The MINE family"): the separable critic against the concatenated one.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/staircase.py   (about a minute). Six bounds x 3 seeds as one
ensemble, d = 20, batch 64, hidden 256-256; seconds per training step, median of 3 runs of 20 steps after a
warm-up. The concatenated critic scores all b^2 = 4,096 pairs per member and step.
"""

import torch

from minelib.book.timing import time_call
from minelib.staircase import staircase


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU")
    print("| critic | seconds per step | steps per second | full staircase (20,000 steps) |\n|---|---|---|---|")
    for critic in ("separable", "concat"):
        t = time_call(lambda c=critic: staircase(levels=(2.0,), steps_per_level=20, critic=c, device="cpu"), repeats=3)
        per_step = t.median / 20
        print(f"| {critic} | {per_step:.4f} | {1 / per_step:.1f} | {20_000 * per_step / 60:.0f} min |", flush=True)


if __name__ == "__main__":
    main()
