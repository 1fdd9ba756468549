"""Choosing ``estimate_mi``'s default on a benchmark suite, and reporting it on tasks it was not chosen on (issue 30).

Every task of :func:`minelib.tasks.benchmark_suite` (14 tasks with exact MI, N = 5,000) x every candidate of
``CANDIDATES`` x ``--seeds`` seeds: seed ``s`` draws a fresh sample (``seed=1000 + s``) and seeds the fit, so the
spread over seeds is the estimator's whole variability (data and training). Each fit's row (estimate, standard
error, seconds, the warnings it raised, whether the heavy-tail check fired) is appended to
``bench/results/default_suite.jsonl``, so an interrupted run resumes where it stopped; ``--report`` then writes
``bench/results/default_suite.json``: the task x candidate table of mean estimates and mean |error| (nats),
and the choice made honestly, leave one task out: for each task, the candidate with the lowest mean |error| on
the other 13 is chosen and scored on the held-out task; the mean of those held-out errors is the error a reader
should expect of the chosen procedure on a task it was not chosen on.

    OMP_NUM_THREADS=1 .venv/bin/python bench/default_suite.py --workers 2 [--seeds 3] [--candidates ...]
    .venv/bin/python bench/default_suite.py --report
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
import warnings
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ROWS = RESULTS / "default_suite.jsonl"
N = 5000

# name -> (method, settings); every fit-based candidate uses the library's defaults otherwise (2,000 steps,
# batch 256, two hidden layers of 128, checkpoint chosen on the validation split, estimate on the test split).
CANDIDATES = {
    "mine": ("mine", {}),
    "mine:copula": ("mine", {"preprocess": "copula"}),
    "smile": ("smile", {}),
    "smile:copula": ("smile", {"preprocess": "copula"}),
    "infonce": ("infonce", {}),
    "infonce:copula": ("infonce", {"preprocess": "copula"}),
    "ksg": ("ksg", {}),
    "ksg:copula": ("ksg", {"preprocess": "copula"}),
    # the second round, after the first showed InfoNCE on the copula ahead: a longer and a wider budget
    "infonce:copula:long": ("infonce", {"preprocess": "copula", "steps": 5000}),
    "infonce:copula:wide": ("infonce", {"preprocess": "copula", "hidden": (256, 256), "embed_dim": 64}),
    # the third round, on the four hardest tasks (HARD): a deeper critic, then run on every task after it lifted
    # the spiral, and a slower learning rate
    "infonce:copula:deep": ("infonce", {"preprocess": "copula", "hidden": (128, 128, 128)}),
    "infonce:copula:slow": ("infonce", {"preprocess": "copula", "lr": 3e-4, "steps": 4000}),
}
HARD = ("spiral-sparse-5-5", "high-mi-5-5", "uniform-noise-1-1", "student-t-5-5")


def fit(job: tuple[str, str, int, int]) -> dict:
    """One (task, candidate, seed) fit: its row."""
    import torch

    import minelib as m
    from minelib.preprocess import heavy_tailed_columns
    from minelib.tasks import task

    torch.set_num_threads(1)
    name, candidate, seed, n = job
    method, settings = CANDIDATES[candidate]
    problem = task(name, suite="benchmark")
    x, z = problem.sample(n, seed=1000 + seed)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", m.MINEWarning)
        result = m.estimate_mi(x, z, method=method, **settings, **({} if method == "ksg" else {"seed": seed}))
    return {
        "task": name, "candidate": candidate, "seed": seed, "n": n, "truth": problem.mi,
        "estimate": float(result.estimate), "stderr": result.stderr, "step": result.step,
        "seconds": time.perf_counter() - start,
        "heavy_tailed": bool(heavy_tailed_columns(x) or heavy_tailed_columns(z)),
        "warnings": [str(w.message).split(":")[0][:120] for w in caught if issubclass(w.category, m.MINEWarning)],
    }  # fmt: skip


def done_jobs() -> set[tuple[str, str, int, int]]:
    if not ROWS.exists():
        return set()
    rows = [json.loads(line) for line in ROWS.read_text().splitlines() if line.strip()]
    return {(r["task"], r["candidate"], r["seed"], r["n"]) for r in rows}


def run(tasks: list[str], candidates: list[str], seeds: int, n: int, workers: int) -> None:
    jobs = [(t, c, s, n) for s in range(seeds) for t in tasks for c in candidates]
    jobs = [j for j in jobs if j not in done_jobs()]
    print(f"{len(jobs)} fits to run", flush=True)
    RESULTS.mkdir(exist_ok=True)
    with multiprocessing.get_context("spawn").Pool(workers) as pool, ROWS.open("a") as out:
        for i, row in enumerate(pool.imap_unordered(fit, jobs), 1):
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(f"[{i}/{len(jobs)}] {row['task']:22s} {row['candidate']:15s} seed {row['seed']}: "
                  f"{row['estimate']:7.3f} (truth {row['truth']:.3f}) {row['seconds']:5.1f} s", flush=True)  # fmt: skip


def main() -> None:
    from minelib.tasks import benchmark_suite

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=list(benchmark_suite()))
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n", type=int, default=N)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--report", action="store_true", help="write default_suite.json from the rows")
    args = parser.parse_args()
    if args.report:
        from suite_report import report

        report(ROWS, RESULTS / "default_suite.json", n=args.n)
    else:
        run(args.tasks, args.candidates, args.seeds, args.n, args.workers)


if __name__ == "__main__":
    main()
