"""The experiments of the chapter "Reconstruction with ALI + MINE": every (variant, seed) trained with
:func:`minelib.applications.ali.train_ali` on the 25 Gaussians or on MNIST, its reconstructions
:math:`G(\\mu(x))` of held-out inputs scored (error, accuracy and, on MNIST, MS-SSIM)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

import numpy as np
import torch
from tqdm.auto import tqdm

from minelib._checks import choice, device_value, positive_int
from minelib.applications.ali import (
    ALIConfig,
    mnist_sampler,
    mode_accuracy,
    reconstruction_accuracy,
    reconstruction_error,
    train_ali,
)
from minelib.applications.classifier import classifier
from minelib.applications.similarity import ms_ssim
from minelib.applications.toy import grid_sampler, sample_grid
from minelib.mnist import load_mnist

DATA = ("25 Gaussians", "MNIST")
TOY_BASE = ALIConfig()  # the 25 Gaussians: width 128, 2-D codes, Adam 1e-3, batches of 128
# MNIST: without LeakyReLU in the encoder and discriminator and batch normalisation in the generator, the
# discriminator wins within a few hundred steps and the generator collapses onto one digit (measured on the subset)
MNIST_BASE = ALIConfig(
    z_dim=32,
    hidden=(256, 256),
    critic_hidden=(256, 256),
    batch_size=100,
    lr=2e-4,
    critic_lr=2e-4,
    leaky=True,
    batch_norm=True,
)
VARIANTS = {"ALI": {"mi": False}, "ALI + MINE": {}}  # beta 1


def ali_experiment(
    data: str,
    variants: Mapping[str, Mapping],
    *,
    seeds: int = 3,
    steps: int = 3000,
    base: ALIConfig = TOY_BASE,
    n_eval: int = 2000,
    source: str = "subset",
    device: str | torch.device | None = None,
    progress: bool = True,
) -> dict:
    """Train every variant (``ALIConfig`` fields overriding ``base``) for ``seeds`` seeds on ``data`` ("25
    Gaussians": σ = 0.1, held-out points drawn with seed 10,000; "MNIST": ``source``'s training split, the first
    ``n_eval`` test digits held out).

    Returns ``{"rows": [...], "examples": {(variant, seed): (inputs, reconstructions)}}`` (the first 10 held-out
    inputs); a row holds the variant, seed, reconstruction error, accuracy (nearest mode on the grid, the shared
    classifier's class against the label on MNIST), MS-SSIM (MNIST; ``None`` on the grid), the MI term's last
    estimates and the settings.
    """
    choice("data", data, DATA)
    seeds, steps, n_eval = positive_int("seeds", seeds), positive_int("steps", steps), positive_int("n_eval", n_eval)
    device = device_value("device", device)
    sampler, inputs, score, origin = _data_and_scorer(data, n_eval, source, device)
    rows, examples = [], {}
    for variant, seed in tqdm([(v, s) for v in variants for s in range(seeds)], disable=not progress, desc="ALI"):
        config = dataclasses.replace(base, steps=steps, seed=seed, **dict(variants[variant]))
        start = time.perf_counter()
        run = train_ali(sampler, config, device=device)
        seconds = time.perf_counter() - start
        x_hat = run.reconstruct(inputs)
        examples[(variant, seed)] = (inputs[:10], x_hat[:10])
        accuracy, similarity = score(x_hat)
        mi = run.history["mi"][-max(1, steps // 10) :]
        rows.append(
            {
                "data": data,
                "variant": variant,
                "seed": seed,
                "error": reconstruction_error(inputs, x_hat),
                "accuracy": accuracy,
                "ms_ssim": similarity,
                "mi_end": None if np.all(np.isnan(mi)) else float(np.nanmean(mi)),
                "steps": steps,
                "beta": config.beta if config.uses_mi else 0.0,
                "clip": config.clip,
                "n_eval": n_eval,
                "seconds": seconds,
                **origin,
            }
        )
    return {"rows": rows, "examples": examples}


def _data_and_scorer(
    data: str, n_eval: int, source: str, device: torch.device
) -> tuple[Callable, np.ndarray, Callable, dict]:
    """``(sampler, inputs, score, origin)``: the training data's ``sampler(n, rng)``, the ``n_eval`` held-out
    ``inputs``, ``score(x_hat) -> (accuracy, MS-SSIM or None)`` of their reconstructions, and the data's origin
    (MNIST's source and checksum) for the rows."""
    if data == "MNIST":
        train, test = load_mnist(source, "train"), load_mnist(source, "test")
        sampler, model = mnist_sampler(train), classifier(source, device=device)
        inputs, labels = test.images[:n_eval].reshape(-1, 784) / 255.0, test.labels[:n_eval]

        def score(x_hat: np.ndarray) -> tuple[float, float]:
            accuracy = reconstruction_accuracy(model, x_hat.reshape(-1, 28, 28), labels)
            return accuracy, ms_ssim(inputs.reshape(-1, 28, 28), np.clip(x_hat, 0, 1).reshape(-1, 28, 28))

        return sampler, inputs, score, {"source": train.source, "checksum": train.checksum}
    inputs = sample_grid(n_eval, 0.1, seed=10_000)[0]
    return (
        grid_sampler(0.1),
        inputs,
        lambda x_hat: (mode_accuracy(inputs, x_hat), None),
        {"source": None, "checksum": None},
    )
