"""The Stacked MNIST experiment (chapter "GAN + MINE against mode dropping", and the ``stacked_mnist`` section of
``bench/device_run.py``): a DCGAN with and without the MI term, modes counted on generated stacks.

Every run trains :func:`minelib.applications.gan.train_gan` with the DCGAN networks on stacks of the training
split's digits, then counts the modes of ``n_eval`` generated stacks (26,000 in the paper) with the shared
classifier. The counter is checked first on real stacks of the test split (:func:`real_stack_modes`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from minelib._checks import device_value, positive_int
from minelib.applications.classifier import accuracy, classifier
from minelib.applications.dcgan import dcgan_networks
from minelib.applications.gan import GANConfig, train_gan
from minelib.applications.stacked import count_modes, stacked_mnist, stacked_sampler
from minelib.mnist import load_mnist

# Our settings (the paper gives none for this experiment): a DCGAN of width 32, batch 64, Adam 2e-4 for the
# generator, the discriminator and the statistics network, 64 noise dimensions and a code of three
# independent 10-way one-hot vectors (I(G; c) <= ln 1000: 1,000 code values, as many as modes).
BASE = GANConfig(
    batch_size=64, lr=2e-4, critic_lr=2e-4, code_dim=10, code_groups=3, noise_dim=64, hidden=(32,), steps=1
)
VARIANTS = {"DCGAN": {"mi": False}, "DCGAN + MINE": {}}


def real_stack_modes(source: str = "subset", n: int = 26_000, device=None) -> dict:
    """The counter on ``n`` real stacks of ``source``'s test split: ``{"modes", "kl", "classifier_accuracy",
    "source", "checksum", "n"}`` (a working counter finds about 1,000 modes and a KL near 0)."""
    test = load_mnist(source, "test")
    model = classifier(source, device=device)
    images, _ = stacked_mnist(test, positive_int("n", n), seed=0)
    counted = count_modes(images, model)
    return {
        "modes": counted["modes"],
        "kl": counted["kl"],
        "confident": counted["confident"],
        "classifier_accuracy": accuracy(model, test),
        "source": test.source,
        "checksum": test.checksum,
        "n": n,
    }


def stacked_experiment(
    variants: Mapping[str, Mapping] = VARIANTS,
    *,
    seeds: int = 1,
    steps: int = 1500,
    base: GANConfig = BASE,
    n_eval: int = 26_000,
    source: str = "subset",
    device: str | torch.device | None = None,
    progress: bool = True,
) -> dict:
    """Train every variant (``GANConfig`` fields overriding ``base``) for ``seeds`` seeds on Stacked MNIST.

    Returns ``{"rows": [...], "samples": {(variant, seed): (64, 3, 28, 28) images in [0, 1]}}``; a row holds the
    variant, seed, modes, KL, the mean MI estimate of the last tenth of training, steps, seconds and the data.
    """
    seeds, steps, n_eval = positive_int("seeds", seeds), positive_int("steps", steps), positive_int("n_eval", n_eval)
    device = device_value("device", device)
    train = load_mnist(source, "train")
    sampler, model = stacked_sampler(train), classifier(source, device=device)
    rows, samples = [], {}
    for variant, seed in tqdm([(v, s) for v in variants for s in range(seeds)], disable=not progress, desc="DCGANs"):
        config = dataclasses.replace(base, steps=steps, seed=seed, **dict(variants[variant]))
        start = time.perf_counter()
        run = train_gan(sampler, config, networks=dcgan_networks, device=device, progress=progress)
        seconds = time.perf_counter() - start
        images = (run.sample(n_eval, seed=10_000 + seed) + 1) / 2
        counted = count_modes(np.clip(images, 0, 1), model)
        samples[(variant, seed)] = images[:64]
        mi = run.history["mi"][-max(1, steps // 10) :]
        rows.append(
            {
                "variant": variant,
                "seed": seed,
                "modes": counted["modes"],
                "kl": counted["kl"],
                "confident": counted["confident"],
                "mi_end": None if np.all(np.isnan(mi)) else float(np.nanmean(mi)),
                "steps": steps,
                "n_eval": n_eval,
                "seconds": seconds,
                "beta": config.beta if config.mi else 0.0,
                "width": config.hidden[0],
                "batch_size": config.batch_size,
                "source": train.source,
                "checksum": train.checksum,
            }
        )
    return {"rows": rows, "samples": samples}


def device_runs(folder) -> dict[str, dict]:
    """The stored results of the ``stacked_mnist`` section of ``bench/device_run.py`` under ``folder`` (the book's
    ``results/devices``): ``{device: the section's record, its rows those that finished}``; ``{}`` if none."""
    found = {}
    for path in sorted(Path(folder).glob("*/stacked_mnist.json")):
        record = json.loads(path.read_text())
        rows = [r for r in record.get("rows", []) if r.get("status") == "ok"]
        if rows:
            found[record["device"]] = {**record, "rows": rows}
    return found
