"""MINE timing on this CPU with 1 and 2 threads: training throughput by batch size, and an ensemble of N
networks against N one-at-a-time runs (the comparisons of ``minelib.book.benchmarks``, printed as tables).

Run: .venv/bin/python bench/mine.py   (a few minutes on 2 cores). For the per-device results files the
timing chapter plots, run ``bench/device_run.py --sections throughput,ensemble,ksg,accuracy`` instead.
"""

import torch

import minelib as m
from minelib.book.benchmarks import ensemble_speedup, training_throughput


def main() -> None:
    print(f"minelib {m.__version__}, torch {torch.__version__}, hidden 64-64, CPU")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        print(f"\n{threads} thread(s): training throughput\n| batch | steps/s | pairs/s |\n|---|---|---|")
        for r in training_throughput("cpu", [64, 256, 1024, 4096], steps=300):
            print(f"| {r['batch_size']} | {r['steps_per_s']:.0f} | {r['pairs_per_s']:.0f} |", flush=True)
        print(
            f"\n{threads} thread(s): N networks, 300 steps, batch 64, dim 2\n| N | ensemble s | N x one s | speed-up |"
        )
        print("|---|---|---|---|")
        for r in ensemble_speedup("cpu", [1, 4, 16, 26, 64], steps=300):
            print(
                f"| {r['n_models']} | {r['ensemble_s']:.2f} | {r['one_at_a_time_s']:.2f} | {r['speedup']:.1f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
