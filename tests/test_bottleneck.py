"""The information bottleneck (minelib.applications.bottleneck): one smoke epoch of each method, the encoder's
gradient lowering the MINE estimate without touching the critic, the VIB rate in closed form, the Wilson
interval, the Polyak average, reproducibility, and errors that name the argument."""

import math

import numpy as np
import pytest
import torch

from minelib.applications.bottleneck import (
    METHODS,
    IBClassifier,
    IBConfig,
    StochasticEncoder,
    _polyak_update,
    error_interval,
    kl_to_standard_normal,
    train_ib,
)
from minelib.mi_term import MITerm
from minelib.mnist import MNIST, load_mnist
from minelib.nets import StatisticsNetwork

SMALL = dict(epochs=1, hidden=(32,), z_dim=8, critic_hidden=(32,))


def first(data: MNIST, n: int) -> MNIST:
    return MNIST(data.images[:n], data.labels[:n], data.source, data.split, data.checksum)


@pytest.fixture(scope="module")
def digits():
    return first(load_mnist("subset", "train"), 300), first(load_mnist("subset", "test"), 200)


@pytest.mark.parametrize("method", METHODS)
def test_one_smoke_epoch_of_each_method(method, digits):
    train, test = digits
    run = train_ib(train, IBConfig(method=method, **{**SMALL, "epochs": 2}), test=test)
    assert set(run.history) == {"loss", "ce", "penalty", "i_xz", "i_zy", "test_error", "lr"}
    assert all(v.shape == (2,) and np.all(np.isfinite(v)) for v in run.history.values())
    assert np.all((0 <= run.history["test_error"]) & (run.history["test_error"] <= 1))
    assert 0 <= run.error(test) <= 1 and 0 <= run.error(train) <= 1
    proba = run.predict_proba(test.images[:7])
    assert proba.shape == (7, 10) and np.allclose(proba.sum(1), 1)
    assert np.all(run.history["i_zy"] <= math.log(10) + 1e-9)  # H(Y) - CE never exceeds H(Y) <= ln 10
    # the baseline has no penalty; VIB's KL is positive; MINE's estimate is clipped at zero (I(X;Z) >= 0)
    assert np.all(run.history["penalty"] == 0) if method == "baseline" else np.all(run.history["penalty"] >= 0)
    assert np.all(run.history["penalty"] > 0) or method != "vib"
    # neither critic is the classifier's: the encoder's optimiser cannot reach them
    model_params = {id(p) for p in run.model.parameters()}
    for term in (run.mi, run.monitor):
        assert term is None or model_params.isdisjoint(id(p) for p in term.critic.parameters())
    assert (run.mi is not None) == (method == "mine")


def test_without_a_test_split_the_plane_uses_the_training_batches(digits):
    run = train_ib(digits[0], IBConfig(method="vib", **SMALL))
    assert np.isnan(run.history["test_error"]).all() and np.isfinite(run.history["i_zy"]).all()


def test_the_encoders_gradient_lowers_the_mine_estimate_and_leaves_the_critic_alone(digits):
    torch.manual_seed(0)
    x = torch.as_tensor(digits[0].images[:100].reshape(100, 784), dtype=torch.float32) / 255
    model = IBClassifier(hidden=(32,), z_dim=8)
    mi = MITerm(StatisticsNetwork(784, 8, (64,)), lr=3e-3)
    for _ in range(200):  # the critic first, on the encoder as it stands, so the term measures something
        mi.update(x, model.represent(x)[0].detach())

    def estimate():  # same draws of z and same re-pairing every time: the same function of the encoder
        torch.manual_seed(1)
        return mi(x, model.represent(x)[0])

    before = estimate().item()
    params = [p.detach().clone() for p in mi.critic.parameters()]
    grads = [p.grad.clone() for p in mi.critic.parameters()]  # left by the critic's own last step
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))  # as in train_ib
    for _ in range(5):
        loss = 10.0 * estimate()  # the IB loss with a large beta and no cross-entropy
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    after = estimate().item()
    assert before > 0.1 and after < before - 0.3, (before, after)  # measured: 0.17 -> -1.5
    assert all(torch.equal(a, p) for a, p in zip(params, mi.critic.parameters()))
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, mi.critic.parameters()))


@pytest.mark.parametrize("method, beta", [("mine", 10.0), ("vib", 1.0)])
def test_a_large_beta_squeezes_the_representation_in_training(method, beta):
    # same seed, same data: only beta differs. The penalty (the trained critic's bound, or the KL) and the
    # monitor's estimate of I(X;Z) must both end lower; a sign error in the loss would raise them.
    train = first(load_mnist("subset", "train"), 1000)
    settings = dict(method=method, epochs=3, batch_size=50, lr=1e-3, hidden=(32,), z_dim=8, seed=0)
    settings.update(critic_hidden=(64,), critic_lr=3e-3)
    free, squeezed = (train_ib(train, IBConfig(beta=b, **settings)).history for b in (0.0, beta))
    assert squeezed["penalty"][-1] < 0.5 * free["penalty"][-1], (free["penalty"], squeezed["penalty"])
    assert squeezed["i_xz"][-1] < 0.5 * free["i_xz"][-1], (free["i_xz"], squeezed["i_xz"])  # 0.12 -> 0.016


def test_vib_rate_in_closed_form():
    d = 5
    assert float(kl_to_standard_normal(torch.zeros(4, d), torch.ones(4, d))) == pytest.approx(0.0, abs=1e-7)
    assert float(kl_to_standard_normal(torch.ones(4, d), torch.ones(4, d))) == pytest.approx(d / 2)
    sigma = torch.full((3, d), 0.5)  # per dim: (0.25 - 1 - 2 ln 0.5) / 2
    assert float(kl_to_standard_normal(torch.zeros(3, d), sigma)) == pytest.approx(d * (0.25 - 1 + 2 * math.log(2)) / 2)
    g = torch.Generator().manual_seed(0)
    mu, sigma = torch.randn(6, d, generator=g), torch.rand(6, d, generator=g) + 0.1
    q, p = torch.distributions.Normal(mu, sigma), torch.distributions.Normal(0.0, 1.0)
    expected = torch.distributions.kl_divergence(q, p).sum(-1).mean()
    assert float(kl_to_standard_normal(mu, sigma)) == pytest.approx(float(expected), rel=1e-5)


def test_encoder_scale_and_samples():
    enc = StochasticEncoder(784, (16,), 3)
    x = torch.rand(5, 784)
    mu, sigma = enc(x)
    assert mu.shape == sigma.shape == (5, 3) and torch.all(sigma > 0)
    assert torch.all(sigma < 0.05)  # softplus(raw - 5): almost deterministic at the start
    z = enc.sample(x, 4, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4, 5, 3) and torch.equal(z, enc.sample(x, 4, generator=torch.Generator().manual_seed(0)))
    assert torch.all((z - mu).abs() <= 6 * sigma)


def test_wilson_interval():
    z = 1.959963984540054
    for k, n in ((60, 2000), (3, 50), (500, 1000)):
        low, high = error_interval(k, n)
        assert low < k / n < high
        # Wilson's bounds are the two p solving (k/n - p)^2 = z^2 p (1 - p) / n
        for p in (low, high):
            assert (k / n - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, rel=1e-9)
    low, high = error_interval(60, 2000)
    assert (low, high) == pytest.approx((0.0233779, 0.0384242), abs=1e-7)  # the quadratic's roots, by hand
    assert (high - low) / 2 == pytest.approx(0.0075, abs=3e-4)  # the docstring's "about 0.75 points"
    assert error_interval(0, 2000) == pytest.approx((0.0, z * z / (2000 + z * z)))
    assert error_interval(2000, 2000) == pytest.approx((2000 / (2000 + z * z), 1.0))
    assert error_interval(60, 2000, level=0.99)[1] > high


def test_polyak_average_is_zero_debiased():
    model, average = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    _polyak_update(average, model, 0.999, step=1)  # the first step copies the weights
    assert all(torch.allclose(a, p) for a, p in zip(average.parameters(), model.parameters()))
    first_weights = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    _polyak_update(average, model, 0.999, step=2)  # (0.999 w1 + w2) / 1.999
    for a, w1 in zip(average.parameters(), first_weights):
        assert torch.allclose(a, w1 + 1 / 1.999)


def test_same_seed_same_run_and_global_rng_untouched(digits):
    train, test = digits
    config = IBConfig(method="mine", seed=3, **SMALL)
    torch.manual_seed(123)  # whatever the caller's random state, the run is the seed's
    state = torch.random.get_rng_state()
    a = train_ib(train, config, test=test)
    assert torch.equal(state, torch.random.get_rng_state())  # and the caller's state is left alone
    torch.manual_seed(456)
    b = train_ib(train, config, test=test)
    for k in a.history:
        np.testing.assert_array_equal(a.history[k], b.history[k])
    np.testing.assert_array_equal(a.predict_proba(test.images), b.predict_proba(test.images))
    c = train_ib(train, IBConfig(method="mine", seed=4, **SMALL), test=test)
    assert not np.array_equal(a.history["loss"], c.history["loss"])


@pytest.mark.parametrize(
    "settings, match",
    [
        (dict(method="foo"), "method"),
        (dict(beta=-1.0), "beta"),
        (dict(beta=math.inf), "beta"),
        (dict(epochs=0), "epochs"),
        (dict(z_dim=0), "z_dim"),
        (dict(batch_size=1), "batch_size"),
        (dict(hidden=(0,)), "hidden"),
        (dict(critic_hidden="wide"), "critic_hidden"),
        (dict(critic_lr=0.0), "critic_lr"),
        (dict(lr_decay=1.5), "lr_decay"),
        (dict(polyak=1.0), "polyak"),
        (dict(test_samples=0), "test_samples"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_config_is_named(settings, match):
    with pytest.raises(ValueError, match=match):
        IBConfig(**settings)


def test_bad_arguments_are_named_before_any_work(digits):
    train, test = digits
    config = IBConfig(**SMALL)
    with pytest.raises(TypeError, match="train"):
        train_ib((train.images, train.labels), config)
    with pytest.raises(TypeError, match="test"):
        train_ib(train, config, test=test.images)
    with pytest.raises(TypeError, match="IBConfig"):
        train_ib(train, {"method": "vib"})
    with pytest.raises(ValueError, match="batch_size"):
        train_ib(first(train, 50), config)
    with pytest.raises(ValueError, match="device"):
        train_ib(train, config, device="meta")
    bad = MNIST(train.images[:10], train.labels[:9], "subset", "train", "x")
    with pytest.raises(ValueError, match="train"):
        train_ib(bad, config)
    with pytest.raises(ValueError, match="errors"):
        error_interval(-1, 10)
    with pytest.raises(ValueError, match="errors"):
        error_interval(11, 10)
    with pytest.raises(ValueError, match="n"):
        error_interval(0, 0)
    with pytest.raises(ValueError, match="level"):
        error_interval(1, 10, level=1.5)


def test_mcnemar_counts_the_discordant_digits_and_tests_them():
    """Only the digits one classifier gets wrong and the other right count: 10 against 0 gives the exact
    two-sided binomial p = 2 * 0.5**10; equal counts give p = 1; identical classifiers have nothing to test."""
    from minelib.applications.bottleneck import mcnemar

    a = np.zeros(100, dtype=bool)
    b = a.copy()
    a[:10] = True  # a alone wrong on 10 digits
    a[50:60] = b[50:60] = True  # both wrong on 10 more: they do not count
    assert mcnemar(a, b) == (10, 0, pytest.approx(2 * 0.5**10))
    b[20:30] = True  # b alone wrong on 10
    assert mcnemar(a, b) == (10, 10, pytest.approx(1.0))
    assert mcnemar(b, b) == (0, 0, 1.0)
    with pytest.raises(ValueError, match="wrong_a and wrong_b"):
        mcnemar(a.astype(int), b)
    with pytest.raises(ValueError, match="wrong_a and wrong_b"):
        mcnemar(a, b[:50])


def test_a_nan_pixel_is_named_before_any_training(digits):
    train, _ = digits
    images = train.images.astype(np.float32) / 255
    images[7, 3, 3] = np.nan
    bad = MNIST(images, train.labels, train.source, train.split, train.checksum)
    with pytest.raises(ValueError, match=r"train has 1 image\(s\) with NaN or infinite pixels"):
        train_ib(bad, IBConfig(method="mine", **SMALL))
