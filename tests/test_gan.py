"""The GAN application (minelib.applications): toy data, the mode metrics on sets with known answers, and one
smoke step of every training variant."""

import math

import numpy as np
import pytest
import torch

from minelib.applications.dcgan import ImageCodeCritic, dcgan_networks
from minelib.applications.gan import Discriminator, GANConfig, Generator, _noise_and_code, train_gan
from minelib.applications.stacked import stacked_sampler
from minelib.applications.toy import (
    GRID,
    grid_sampler,
    mode_metrics,
    sample_grid,
    sample_spiral,
    spiral_modes,
    spiral_sampler,
)
from minelib.mnist import MNIST


def test_grid_is_the_5x5_lattice():
    assert GRID.shape == (25, 2)
    assert sorted(set(GRID[:, 0])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    x, modes = sample_grid(5000, 0.1, seed=0)
    assert x.shape == (5000, 2) and modes.shape == (5000,)
    # every point lies within 3 sigma of its own mode except ~1% (a 2-D Gaussian: P(r > 3 sigma) = e^-4.5)
    assert np.mean(np.linalg.norm(x - GRID[modes], axis=1) > 0.3) < 0.02
    assert np.all(np.bincount(modes, minlength=25) > 0)


def test_metrics_when_every_mode_is_hit_equally():
    samples = np.repeat(GRID, 100, axis=0)  # exactly on the modes
    m = mode_metrics(samples, GRID, sigma=0.1)
    assert m["modes"] == 25 and m["high_quality"] == 1.0 and m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_metrics_when_one_mode_gets_everything():
    samples = np.tile(GRID[7], (2500, 1)) + 0.01
    m = mode_metrics(samples, GRID, sigma=0.1)
    assert m["modes"] == 1 and m["high_quality"] == 1.0
    assert m["reverse_kl"] == pytest.approx(math.log(25))  # KL(point mass || uniform over 25)


def test_metrics_off_grid_and_the_min_count():
    off = np.full((2500, 2), 1.0)  # halfway between modes: 1.41 away from each of four, far beyond 3 sigma
    m = mode_metrics(off, GRID, sigma=0.1)
    assert m["modes"] == 0 and m["high_quality"] == 0.0 and m["reverse_kl"] == math.inf
    few = np.vstack([np.tile(GRID[0], (19, 1)), np.tile(GRID[1], (20, 1))])  # 19 is one short of covering
    assert mode_metrics(few, GRID, sigma=0.1)["modes"] == 1


def test_metrics_refuse_bad_input():
    with pytest.raises(ValueError, match="sigma"):
        mode_metrics(GRID, GRID, sigma=0)
    with pytest.raises(ValueError, match="columns"):
        mode_metrics(np.zeros((5, 3)), GRID, sigma=0.1)
    with pytest.raises(ValueError, match="samples"):
        mode_metrics(np.full((5, 2), np.nan), GRID, sigma=0.1)


def test_spiral_modes_lie_on_the_spiral_and_samples_near_them():
    centers = spiral_modes(25)
    assert centers.shape == (25, 2)
    x = sample_spiral(5000, noise=0.05, seed=0)
    m = mode_metrics(x, centers, sigma=0.05)
    assert m["modes"] >= 20  # samples fall along the whole spiral, so most arc midpoints are hit
    draw = spiral_sampler(0.05)
    assert draw(10, np.random.default_rng(0)).shape == (10, 2)


@pytest.mark.parametrize(
    "settings",
    [
        dict(mi=False),
        dict(mi=True, clip=True),
        dict(mi=True, clip=False),
        dict(mi=True, code="gaussian", code_dim=10),
    ],
)
def test_one_smoke_training_run_of_each_variant(settings):
    config = GANConfig(steps=3, batch_size=32, hidden=(16, 16), seed=0, **settings)
    run = train_gan(grid_sampler(0.1), config)
    assert all(np.all(np.isfinite(run.history[k])) for k in ("d_loss", "g_loss"))
    assert np.all(np.isfinite(run.history["mi"])) == (config.mi and config.beta > 0)
    assert run.sample(7, seed=1).shape == (7, 2)


def test_training_moves_the_generator_and_is_reproducible():
    config = GANConfig(steps=5, batch_size=32, hidden=(16, 16), seed=3)
    a, b = train_gan(grid_sampler(0.1), config), train_gan(grid_sampler(0.1), config)
    assert np.array_equal(a.sample(50, seed=0), b.sample(50, seed=0))
    untrained = Generator(config.noise_dim, config.code_dim, config.hidden)
    assert not all(torch.equal(p, q) for p, q in zip(untrained.parameters(), a.generator.parameters()))


def test_the_generator_does_not_own_the_critic_or_the_discriminator():
    g, d = Generator(2, 25, (16, 16)), Discriminator(2, (16, 16))
    assert {id(p) for p in g.parameters()}.isdisjoint(id(p) for p in d.parameters())


def test_config_and_data_are_checked_before_work():
    with pytest.raises(ValueError, match="beta"):
        GANConfig(beta=-1.0)
    with pytest.raises(ValueError, match="code"):
        GANConfig(code="uniform")
    with pytest.raises(ValueError, match="steps"):
        GANConfig(steps=0)
    with pytest.raises(TypeError, match="GANConfig"):
        train_gan(grid_sampler(0.1), {"steps": 3})
    with pytest.raises(ValueError, match="sample_data"):
        train_gan(lambda n, rng: np.zeros((n, 3)), GANConfig(steps=1, batch_size=8, hidden=(8,)))


# ---------------------------------------------------------------------------------- Stacked MNIST's DCGAN


def _fake_mnist(n: int = 40) -> MNIST:
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)
    return MNIST(images, labels, "subset", "train", "test-only")


@pytest.mark.parametrize("mi", [False, True])
def test_one_smoke_training_run_of_the_dcgan(mi):
    config = GANConfig(steps=2, batch_size=8, hidden=(4,), code_dim=10, code_groups=3, noise_dim=8, mi=mi, seed=0)
    run = train_gan(stacked_sampler(_fake_mnist()), config, networks=dcgan_networks)
    assert all(np.all(np.isfinite(run.history[k])) for k in ("d_loss", "g_loss"))
    assert np.all(np.isfinite(run.history["mi"])) == mi
    images = run.sample(5, seed=1)
    assert images.shape == (5, 3, 28, 28) and np.all(np.abs(images) <= 1)  # tanh output
    assert run.generator.training  # sampling (in eval mode, for batch normalisation) restored the mode


def test_the_code_groups_are_independent_one_hot_vectors():
    config = GANConfig(code_dim=10, code_groups=3)
    _, c = _noise_and_code(500, config, torch.Generator().manual_seed(0), "cpu")
    groups = c.reshape(500, 3, 10)
    assert c.shape == (500, 30) and torch.all(groups.sum(2) == 1) and set(c.unique().tolist()) == {0.0, 1.0}
    # independent groups: the three categories of a code are not tied (they differ in most codes)
    assert (groups.argmax(2)[:, 0] != groups.argmax(2)[:, 1]).float().mean() > 0.8


def test_the_image_critic_scores_flattened_pairs_and_the_dcgan_refuses_points():
    critic = ImageCodeCritic(code_dim=30, width=4, hidden=8)
    assert critic(torch.zeros(6, 3 * 28 * 28), torch.zeros(6, 30)).shape == (1, 6)
    config = GANConfig(steps=1, batch_size=8, hidden=(4,), code_dim=10, code_groups=3)
    with pytest.raises(ValueError, match=r"shape \(8, 3, 28, 28\)"):
        train_gan(grid_sampler(0.1), config, networks=dcgan_networks)


def test_stacked_sampler_draws_stacks_in_the_generators_range():
    stacks = stacked_sampler(_fake_mnist())(16, np.random.default_rng(0))
    assert stacks.shape == (16, 3, 28, 28) and stacks.dtype == np.float32
    assert stacks.min() >= -1 and stacks.max() <= 1
    with pytest.raises(TypeError, match="data"):
        stacked_sampler(np.zeros((10, 28, 28)))
