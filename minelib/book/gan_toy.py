"""The experiment of the chapter "GAN + MINE against mode dropping" (two-dimensional data), also run by
``bench/gan_toy.py``: every (data set, variant, seed) trained with :func:`minelib.applications.gan.train_gan`
and scored with :func:`minelib.applications.toy.mode_metrics` on 2,500 generated samples."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping

import numpy as np
from tqdm.auto import tqdm

from minelib._checks import positive_int
from minelib.applications.gan import GANConfig, train_gan
from minelib.applications.toy import mode_metrics

DataSet = tuple[Callable, np.ndarray, float]  # (sampler, mode centers, sigma)
BASE = GANConfig(hidden=(64, 64))  # the chapter's networks: half the width of the paper's toy models


def gan_experiment(
    datasets: Mapping[str, DataSet],
    variants: Mapping[str, Mapping],
    *,
    seeds: int = 3,
    steps: int = 8000,
    base: GANConfig = BASE,
    n_eval: int = 2500,
    progress: bool = True,
) -> dict:
    """Train every variant (``GANConfig`` fields overriding ``base``) on every data set for ``seeds`` seeds.

    Returns ``{"rows": [...], "samples": {(data, variant, seed): (n_eval, 2) array}}``; a row holds the data
    set, variant, seed, the three metrics (``reverse_kl`` is ``None`` when no sample was of high quality), the
    settings that vary and the wall-clock seconds of the run.
    """
    seeds, steps, n_eval = positive_int("seeds", seeds), positive_int("steps", steps), positive_int("n_eval", n_eval)
    configs = {name: dataclasses.replace(base, steps=steps, **dict(overrides)) for name, overrides in variants.items()}
    jobs = [(d, v, s) for d in datasets for v in variants for s in range(seeds)]
    rows, samples = [], {}
    for data, variant, seed in tqdm(jobs, disable=not progress, desc="GAN runs"):
        sampler, centers, sigma = datasets[data]
        config = dataclasses.replace(configs[variant], seed=seed)
        start = time.perf_counter()
        run = train_gan(sampler, config)
        seconds = time.perf_counter() - start
        points = run.sample(n_eval, seed=10_000 + seed)
        metrics = mode_metrics(points, centers, sigma)
        samples[(data, variant, seed)] = points
        rows.append(
            {
                "data": data,
                "variant": variant,
                "seed": seed,
                "modes": metrics["modes"],
                "n_modes": len(centers),
                "high_quality": metrics["high_quality"],
                "reverse_kl": None if math.isinf(metrics["reverse_kl"]) else metrics["reverse_kl"],
                "steps": steps,
                "beta": config.beta if config.mi else 0.0,
                "code": config.code,
                "clip": config.clip,
                "seconds": seconds,
            }
        )
    return {"rows": rows, "samples": samples}
