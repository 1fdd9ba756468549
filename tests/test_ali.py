"""ALI / BiGAN + MINE (minelib.applications.ali) and MS-SSIM (minelib.applications.similarity): the metrics on
sets with known answers, a smoke run of each variant on both kinds of data, where the MI gradient goes, and
the checks of bad input."""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from minelib import MITerm, StatisticsNetwork
from minelib.applications.ali import (
    ALIConfig,
    Decoder,
    Encoder,
    mnist_sampler,
    mode_accuracy,
    reconstruction_accuracy,
    reconstruction_error,
    train_ali,
)
from minelib.applications.similarity import ms_ssim
from minelib.applications.toy import GRID, grid_sampler, sample_grid
from minelib.mnist import load_mnist

SMALL = dict(batch_size=16, hidden=(16, 16), critic_hidden=(16,), seed=0)


@pytest.fixture(scope="module")
def digits():
    test = load_mnist("subset", "test")
    return dataclasses.replace(test, images=test.images[:200], labels=test.labels[:200])


# ------------------------------------------------------------------------------------------------ MS-SSIM
def test_ms_ssim_is_one_for_identical_images_and_falls_with_noise(digits):
    x = digits.images[:50] / 255.0
    assert ms_ssim(x, x) == pytest.approx(1.0, abs=1e-6)
    assert ms_ssim(digits.images[:50], digits.images[:50]) == pytest.approx(1.0, abs=1e-6)  # uint8 as well
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(x.shape)
    scores = [ms_ssim(x, np.clip(x + s * noise, 0, 1)) for s in (0.02, 0.1, 0.3)]
    assert 1.0 > scores[0] > scores[1] > scores[2] > 0
    other = ms_ssim(x, x[rng.permutation(50)])  # different digits: far less similar than a light noise
    assert other < scores[0]
    per = ms_ssim(x[:4, None], x[:4, None], per_image=True)  # (n, 1, 28, 28) accepted
    assert per.shape == (4,) and np.allclose(per, 1.0, atol=1e-6)


def _reference_ms_ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The documented definition, written out in numpy: 3 scales, a uniform 3 x 3 window on reflect-padded
    images, contrast-structure averaged inside the border, weights (0.0448, 0.2856, 0.3001) / 0.6305."""
    c1, c2 = 0.01**2, 0.03**2
    weights = np.array([0.0448, 0.2856, 0.3001]) / 0.6305

    def window_mean(v):  # (n, h, w) -> the mean of every 3 x 3 neighbourhood, (n, h, w)
        p = np.pad(v, ((0, 0), (1, 1), (1, 1)), mode="reflect")
        h, w = v.shape[1:]
        return sum(p[:, i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9

    terms = []
    for scale in range(3):
        mu_a, mu_b = window_mean(a), window_mean(b)
        var_a = np.maximum(window_mean(a * a) - mu_a**2, 0)
        var_b = np.maximum(window_mean(b * b) - mu_b**2, 0)
        cov = window_mean(a * b) - mu_a * mu_b
        cs = (2 * cov + c2) / (var_a + var_b + c2)
        if scale < 2:
            terms.append(np.maximum(cs[:, 1:-1, 1:-1].mean((1, 2)), 0))
            n, h, w = a.shape
            a = a[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2).mean((2, 4))
            b = b[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2).mean((2, 4))
        else:
            sim = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1) * cs
            terms.append(np.maximum(sim.mean((1, 2)), 0))
    return np.prod(np.stack(terms) ** weights[:, None], axis=0)


def test_ms_ssim_is_the_documented_formula(digits):
    x = digits.images[:20] / 255.0
    y = np.clip(x + 0.15 * np.random.default_rng(1).standard_normal(x.shape), 0, 1)
    y[:5] = digits.images[20:25] / 255.0  # and a few different digits
    expected = _reference_ms_ssim(x, y)
    assert np.allclose(ms_ssim(x, y, per_image=True), expected, atol=1e-6)
    assert ms_ssim(x, y) == pytest.approx(expected.mean(), abs=1e-6)


def test_ms_ssim_refuses_bad_images():
    x = np.zeros((3, 28, 28))
    with pytest.raises(ValueError, match="a must be"):
        ms_ssim(np.zeros((3, 32, 32)), np.zeros((3, 32, 32)))
    with pytest.raises(ValueError, match="b must be"):
        ms_ssim(x, np.zeros((3, 784)))
    with pytest.raises(ValueError, match="same number"):
        ms_ssim(x, np.zeros((4, 28, 28)))
    with pytest.raises(ValueError, match="b contains NaN"):
        ms_ssim(x, np.full((3, 28, 28), np.nan))
    with pytest.raises(ValueError, match=r"a must hold pixels in \[0, 1\]"):
        ms_ssim(x + 2.0, x)


# ------------------------------------------------------------------------------------------------ metrics
def test_reconstruction_error_on_known_offsets():
    x = np.random.default_rng(0).uniform(0.2, 0.8, (10, 28, 28))
    assert reconstruction_error(x, x) == 0.0
    assert reconstruction_error(x, x + 0.1) == pytest.approx(784 * 0.01)  # every pixel 0.1 off
    shifted = x.copy()
    shifted[:5] += 0.1  # half the images off: the mean over images halves
    assert reconstruction_error(x.reshape(10, 784), shifted.reshape(10, 784)) == pytest.approx(784 * 0.01 / 2)
    p = np.zeros((4, 2))
    assert reconstruction_error(p, p + [3.0, 4.0]) == pytest.approx(25.0)  # 2-D points: |(3, 4)|^2


def test_mode_accuracy_counts_reconstructions_on_the_inputs_mode():
    x, modes = sample_grid(500, 0.1, seed=0)
    assert mode_accuracy(x, x) == 1.0
    assert mode_accuracy(x, GRID[modes]) == 1.0  # snapped onto the own mode
    assert mode_accuracy(x, GRID[(modes + 1) % 25]) == 0.0  # every one moved to another mode
    half = GRID[np.where(np.arange(500) < 250, modes, (modes + 7) % 25)]
    assert mode_accuracy(x, half) == 0.5


class _MeanClassifier(nn.Module):
    """A stand-in for the MNIST classifier: an image of uniform grey k / 9 is class k."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        k = torch.round(x.mean((1, 2, 3)) * 9).long()
        return nn.functional.one_hot(k, 10).float()


def test_reconstruction_accuracy_compares_with_the_labels(digits):
    labels = np.arange(20) % 10
    images = np.repeat(labels / 9.0, 784).reshape(20, 28, 28)
    model = _MeanClassifier()
    assert reconstruction_accuracy(model, images, labels) == 1.0
    assert reconstruction_accuracy(model, images.reshape(20, 784), (labels + 1) % 10) == 0.0
    with pytest.raises(ValueError, match="labels"):
        reconstruction_accuracy(model, images, labels[:5])
    with pytest.raises(ValueError, match="x_hat"):
        reconstruction_accuracy(model, images * 255, labels)


def test_metrics_refuse_bad_input():
    with pytest.raises(ValueError, match="x and x_hat"):
        reconstruction_error(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="x_hat contains NaN"):
        reconstruction_error(np.zeros((3, 2)), np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="centers"):
        mode_accuracy(np.zeros((3, 2)), np.zeros((3, 2)), centers=np.zeros((5, 3)))


# ------------------------------------------------------------------------------------------------ training
@pytest.mark.parametrize("settings", [dict(mi=False), dict(mi=True), dict(mi=True, clip=True)])
def test_smoke_run_on_the_25_gaussians(settings):
    run = train_ali(grid_sampler(0.1), ALIConfig(steps=4, **SMALL, **settings), device="cpu")
    assert all(np.all(np.isfinite(run.history[k])) for k in ("d_loss", "eg_loss"))
    assert np.all(np.isfinite(run.history["mi"])) == settings["mi"]
    assert (run.mi_term is not None) == settings["mi"]
    if settings["mi"]:  # the critic took exactly one step of its own optimiser per training step
        steps = [s["step"] for s in run.mi_term.critic_optimizer.state.values()]
        assert steps and all(int(s) == 4 for s in steps)
    x, _ = sample_grid(9, 0.1, seed=1)
    assert run.reconstruct(x).shape == (9, 2) and run.encode(x).shape == (9, 2)
    assert run.sample(5, seed=0).shape == (5, 2)


@pytest.mark.parametrize("mi, mnist_options", [(False, False), (True, False), (True, True)])
def test_smoke_run_on_a_slice_of_mnist(digits, mi, mnist_options):
    config = ALIConfig(steps=3, z_dim=8, mi=mi, leaky=mnist_options, batch_norm=mnist_options, **SMALL)
    run = train_ali(mnist_sampler(digits), config, device="cpu")
    assert all(np.all(np.isfinite(run.history[k])) for k in ("d_loss", "eg_loss"))
    x = digits.images[:6] / 255.0
    x_hat = run.reconstruct(x)
    assert x_hat.shape == (6, 28, 28) and x_hat.min() >= 0 and x_hat.max() <= 1  # the sigmoid output
    assert run.reconstruct(x.reshape(6, 784)).shape == (6, 784)
    assert run.encode(x).shape == (6, 8) and run.sample(4).shape == (4, 784)
    norms = [m for m in run.generator.modules() if isinstance(m, nn.BatchNorm1d)]
    leaky = [m for m in run.discriminator.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(norms) == (2 if mnist_options else 0) and bool(leaky) == mnist_options
    assert np.isfinite(reconstruction_error(x, x_hat)) and 0 <= ms_ssim(x, x_hat) <= 1


def test_the_mi_gradient_reaches_the_encoder_only():
    torch.manual_seed(0)
    E, G = Encoder(2, 2, (16,)), Decoder(2, 2, (16,))
    mi = MITerm(StatisticsNetwork(2, 2, (16,)))
    x = torch.as_tensor(sample_grid(64, 0.1, seed=0)[0], dtype=torch.float32)
    z = E(x)
    mi.update(x, z.detach())
    critic_before = [p.detach().clone() for p in mi.critic.parameters()]
    mi.critic.zero_grad(set_to_none=True)
    (-mi(x, z)).backward()
    assert all(p.grad is None for p in G.parameters())
    assert all(p.grad is None for p in mi.critic.parameters())
    assert sum(float(p.grad.abs().sum()) for p in E.parameters()) > 0
    assert all(torch.equal(a, b) for a, b in zip(critic_before, mi.critic.parameters()))
    # and in the training loop: the critic belongs to none of the trained networks
    run = train_ali(grid_sampler(0.1), ALIConfig(steps=2, **SMALL), device="cpu")
    trained = {id(p) for m in (run.encoder, run.generator, run.discriminator) for p in m.parameters()}
    assert trained.isdisjoint(id(p) for p in run.mi_term.critic.parameters())


@pytest.mark.parametrize("clip", [False, True])
def test_beta_changes_the_encoder_step_not_the_generator_step(clip):
    # one step, no dropout: the discriminator's step and the generator's loss do not depend on beta, so the
    # generator must come out the same with and without the MI term, and the encoder must not
    base = dict(SMALL, steps=1, dropout=0.0, clip=clip)
    plain = train_ali(grid_sampler(0.1), ALIConfig(mi=False, **base), device="cpu")
    mine = train_ali(grid_sampler(0.1), ALIConfig(mi=True, beta=5.0, **base), device="cpu")
    assert all(torch.equal(p, q) for p, q in zip(plain.generator.parameters(), mine.generator.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(plain.discriminator.parameters(), mine.discriminator.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(plain.encoder.parameters(), mine.encoder.parameters()))


def test_a_run_is_reproducible_with_a_seed():
    config = ALIConfig(steps=5, **SMALL)
    torch.manual_seed(1)
    a = train_ali(grid_sampler(0.1), config, device="cpu")
    state = torch.get_rng_state()
    torch.manual_seed(2)  # the caller's random state neither matters nor changes
    b = train_ali(grid_sampler(0.1), config, device="cpu")
    assert torch.equal(torch.get_rng_state(), torch.manual_seed(2).get_state())
    assert not torch.equal(state, torch.get_rng_state())
    x, _ = sample_grid(20, 0.1, seed=2)
    assert np.array_equal(a.reconstruct(x), b.reconstruct(x))
    assert all(np.array_equal(a.history[k], b.history[k], equal_nan=True) for k in a.history)
    other = train_ali(grid_sampler(0.1), dataclasses.replace(config, seed=1), device="cpu")
    assert not np.array_equal(a.reconstruct(x), other.reconstruct(x))


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "settings, match",
    [
        (dict(beta=-1.0), "beta"),
        (dict(beta=float("inf")), "beta"),
        (dict(steps=0), "steps"),
        (dict(batch_size=1), "batch_size"),
        (dict(lr=0.0), "lr"),
        (dict(z_dim=0), "z_dim"),
        (dict(hidden=()), "hidden"),
        (dict(dropout=1.0), "dropout"),
        (dict(seed=-1), "seed"),
    ],
)
def test_config_is_checked(settings, match):
    with pytest.raises(ValueError, match=match):
        ALIConfig(**settings)


def test_bad_data_and_arguments_raise_before_work(digits):
    config = ALIConfig(steps=2, **SMALL)
    with pytest.raises(TypeError, match="ALIConfig"):
        train_ali(grid_sampler(0.1), {"steps": 2})
    for name in ("mi", "clip", "leaky", "batch_norm"):
        with pytest.raises(TypeError, match=name):
            ALIConfig(**{name: "yes"})
    with pytest.raises(TypeError, match="sample_data"):
        train_ali(np.zeros((16, 2)), config)
    with pytest.raises(TypeError, match="data"):
        mnist_sampler(digits.images)
    dims = iter([2, 3])
    bad = {
        "1-D": lambda n, rng: np.zeros(n),
        "wrong n": lambda n, rng: np.zeros((n + 1, 2)),
        "NaN": lambda n, rng: np.full((n, 2), np.nan),
        "pixels out of [0, 1]": lambda n, rng: np.full((n, 5), 3.0),
        "dimension changes": lambda n, rng: np.full((n, next(dims)), 0.5),
    }
    for why, sample_data in bad.items():
        with pytest.raises(ValueError, match="sample_data"):
            train_ali(sample_data, config, device="cpu")
            pytest.fail(why)
    run = train_ali(grid_sampler(0.1), ALIConfig(steps=1, **SMALL), device="cpu")
    with pytest.raises(ValueError, match="x must be"):
        run.reconstruct(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="n must be"):
        run.sample(0)
