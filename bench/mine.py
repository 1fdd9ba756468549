"""MINE timing on CPU: training steps per second by batch size, and a 26-estimator sweep trained as one
ensemble against the same 26 trained one after another.

Run: .venv/bin/python bench/mine.py   (prints markdown tables; ~6 minutes on 2 cores)
"""

import time

import numpy as np
import torch

import minelib as m

HIDDEN = (64, 64)


def steps_per_second(batch_size: int, steps: int = 300) -> float:
    x, z = m.sample_correlated_gaussians(max(20_000, 2 * batch_size), 1, 0.5, seed=0)
    m.MINE(1, 1, hidden=HIDDEN, seed=0, device="cpu").fit(x, z, steps=20, batch_size=batch_size)  # warm-up
    est = m.MINE(1, 1, hidden=HIDDEN, seed=0, device="cpu")
    start = time.perf_counter()
    est.fit(x, z, steps=steps, batch_size=batch_size, eval_every=steps)
    return steps / (time.perf_counter() - start)


def sweep(steps: int, batch_size: int) -> tuple[float, float, float]:
    """Seconds for 13 correlations x {DV, f} as one ensemble, then one model at a time; max |difference|."""
    rhos = np.linspace(-0.99, 0.99, 13)
    data = [m.sample_correlated_gaussians(4_000, 2, r, seed=i) for i, r in enumerate(rhos)]
    x = np.stack([d[0] for d in data] * 2)
    z = np.stack([d[1] for d in data] * 2)
    objectives = ["dv"] * 13 + ["f"] * 13
    start = time.perf_counter()
    ens = m.MINE(2, 2, n_models=26, objective=objectives, hidden=HIDDEN, seed=0, device="cpu")
    ens.fit(x, z, steps=steps, batch_size=batch_size, eval_every=steps)
    t_ens = time.perf_counter() - start
    start = time.perf_counter()
    singles = [
        m.MINE(2, 2, objective=o, hidden=HIDDEN, seed=i, device="cpu")
        .fit(x[i], z[i], steps=steps, batch_size=batch_size, eval_every=steps)
        .estimate_
        for i, o in enumerate(objectives)
    ]
    t_seq = time.perf_counter() - start
    return t_ens, t_seq, float(np.max(np.abs(ens.estimate_ - np.array(singles))))


def main() -> None:
    print(f"minelib {m.__version__}, torch {torch.__version__}, hidden {HIDDEN}, CPU")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        rates = {b: steps_per_second(b) for b in (64, 256, 1024, 4096)}
        print(f"\n{threads} thread(s): training steps per second")
        print("| batch | steps/s |\n|---|---|")
        for b, r in rates.items():
            print(f"| {b} | {r:.0f} |", flush=True)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        t_ens, t_seq, diff = sweep(steps=2000, batch_size=64)
        print(
            f"\n{threads} thread(s), sweep of 26 estimators (13 rho x DV/f, dim 2, 2000 steps, batch 64): "
            f"ensemble {t_ens:.1f} s, one after another {t_seq:.1f} s, ratio {t_seq / t_ens:.1f}x "
            f"(max |estimate difference| {diff:.3f} nats: different seeds, same settings)",
            flush=True,
        )


if __name__ == "__main__":
    main()
