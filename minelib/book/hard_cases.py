"""The experiment of the chapter "Hard cases: which estimator when": every estimator x task x preprocessing.

For each task of :func:`minelib.tasks.hard_cases` and each ``preprocess``, ``seeds`` independent data sets
of ``n`` pairs are drawn; the neural estimators train as batched ensembles (:func:`~minelib.estimate_many`)
and KSG runs on each data set. Every warning the library raises is kept with the results, so the chapter
can show whether an estimate that missed the truth came with a warning.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from minelib._checks import choice, positive_int
from minelib.estimate import METHODS, estimate_many
from minelib.preprocess import PREPROCESS
from minelib.tasks import Task

ESTIMATORS = ("mine", "mine-biased", "nwj", "js", "smile", "infonce", "ksg")


def _run(pairs, methods, options) -> tuple[dict, float, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        estimates = estimate_many(pairs, methods, **options)
        seconds = time.perf_counter() - start
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return estimates, seconds, messages


def run_hard_cases(
    tasks: Sequence[Task],
    *,
    methods: Sequence[str] = ESTIMATORS,
    preprocesses: Sequence[str] = PREPROCESS,
    n: int = 5000,
    seeds: int = 3,
    steps: int = 2000,
    batch_size: int = 256,
    progress: bool = True,
) -> dict:
    """Run every method on every task and preprocessing; return ``{"rows": [...], "runs": [...]}``.

    ``rows``: one per (task, preprocess, method, seed) with the estimate and the truth. ``runs``: one per
    (task, preprocess, family) with the wall-clock seconds of the whole family (``"neural"``: all neural
    methods and seeds; ``"ksg"``) and the warnings raised.
    """
    methods = [choice("method", m, list(METHODS)) for m in methods]
    preprocesses = [choice("preprocess", p, PREPROCESS) for p in preprocesses]
    n, seeds = positive_int("n", n), positive_int("seeds", seeds)
    steps, batch_size = positive_int("steps", steps), positive_int("batch_size", batch_size)
    families = {
        "neural": ([m for m in methods if m != "ksg"], {"steps": steps, "batch_size": batch_size, "seed": 0}),
        "ksg": (["ksg"] if "ksg" in methods else [], {}),
    }
    rows, runs = [], []
    jobs = [(t, p) for t in tasks for p in preprocesses]
    for task, pre in tqdm(jobs, disable=not progress, desc="hard cases"):
        pairs = [task.sample(n, seed) for seed in range(seeds)]
        for family, (names, options) in families.items():
            if not names:
                continue
            estimates, seconds, messages = _run(pairs, names, {**options, "preprocess": pre})
            runs.append(
                {"task": task.name, "preprocess": pre, "family": family, "seconds": seconds, "warnings": messages}
            )
            for method in names:
                for seed, value in enumerate(np.asarray(estimates[method], dtype=float)):
                    rows.append(
                        {
                            "task": task.name,
                            "truth": task.mi,
                            "preprocess": pre,
                            "method": method,
                            "seed": seed,
                            "estimate": float(value) if np.isfinite(value) else None,
                        }
                    )
    return {"rows": rows, "runs": runs}
