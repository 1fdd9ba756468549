"""Every bad input is refused with a clear error naming the argument, before any work is done."""

import numpy as np
import pytest
import torch

import minelib as m

X, Z = m.sample_correlated_gaussians(100, 1, 0.5, seed=0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: m.ksg_mi(X, Z[:50]), ValueError, "same number of samples"),
        (lambda: m.estimate_mi(X, Z[:50]), ValueError, "same number of samples"),
        (lambda: m.ksg_mi(np.full((10, 1), np.nan), Z[:10]), ValueError, "x contains NaN"),
        (lambda: m.estimate_mi(X, np.full((100, 1), np.inf)), ValueError, "z contains NaN or infinite"),
        (lambda: m.ksg_mi(np.array(["a"] * 100), Z), TypeError, "x must hold real numbers"),
        (lambda: m.ksg_mi(X, torch.zeros(100, dtype=torch.bool)), TypeError, "z must hold real numbers"),
        (lambda: m.ksg_mi([1.0, 2.0], [1.0, 2.0]), TypeError, "numpy array or a torch tensor"),
        (lambda: m.ksg_mi(X, np.zeros((100, 1, 1, 1))), ValueError, "z must be 1-D or 2-D"),
        (lambda: m.ksg_mi(X[:0], Z[:0]), ValueError, "empty"),
        (lambda: m.ksg_mi(X[:3], Z[:3], k=3), ValueError, "k=3 neighbours need more than k samples"),
        (lambda: m.ksg_mi(X, Z, k=0), ValueError, "k must be a positive integer"),
        (lambda: m.ksg_mi(X, Z, workers=0), ValueError, "workers must be a positive integer"),
        (lambda: m.ksg_mi(np.repeat(X[:25], 4, 0), np.repeat(Z[:25], 4, 0)), ValueError, "identical samples"),
        (lambda: m.gaussian_mi(1.0), ValueError, "rho"),
        (lambda: m.gaussian_mi(0.5, dim=0), ValueError, "dim"),
        (lambda: m.sample_correlated_gaussians(10, 1, -1.0), ValueError, "rho"),
        (lambda: m.sample_correlated_gaussians(0, 1, 0.5), ValueError, "n must be a positive integer"),
        (lambda: m.sample_nonlinear(10, "x", 0.0), ValueError, "sigma"),
        (lambda: m.sample_nonlinear(10, "tan", 0.1), ValueError, "unknown f"),
        (lambda: m.nonlinear_mi("tan", 0.1), ValueError, "unknown f"),
        (lambda: m.nonlinear_mi("x", -0.1), ValueError, "sigma"),
        (lambda: m.estimate_mi(X, Z, method="infonce"), ValueError, "unknown method"),
        (lambda: m.estimate_mi(X, Z, steps=10, lr=1e-3, colour="red"), TypeError, "unknown option"),
        (lambda: m.MINE(1, 1, objective="js"), ValueError, "unknown objective"),
        (lambda: m.MINE(1, 1, gradient="unbiased"), ValueError, "unknown gradient"),
        (lambda: m.MINE(1, 1, n_models=2, objective=["dv"]), ValueError, "one per model"),
        (lambda: m.MINE(1, 1, ema_rate=0.0), ValueError, "ema_rate"),
        (lambda: m.MINE(1, 1, ema_rate=1.5), ValueError, "ema_rate"),
        (lambda: m.MINE(1, 1, hidden=(0,)), ValueError, "hidden width"),
        (lambda: m.MINE(1, 1, activation="gelu"), ValueError, "unknown activation"),
        (lambda: m.MINE(0, 1), ValueError, "x_dim"),
        (lambda: m.MINE(1, 1, dtype=torch.int64), TypeError, "dtype"),
        (lambda: m.MINE(1, 1).fit(X, Z, batch_size=500), ValueError, "too few samples"),
        (lambda: m.MINE(1, 1).fit(X, Z, steps=0), ValueError, "steps"),
        (lambda: m.MINE(1, 1).fit(X, Z, lr=-1.0), ValueError, "lr"),
        (lambda: m.MINE(1, 1).fit(X, Z, val_fraction=1.0), ValueError, "val_fraction"),
        (lambda: m.MINE(1, 1).fit(X, Z, marginal="product"), ValueError, "unknown marginal"),
        (lambda: m.MINE(1, 2).fit(X, Z), ValueError, "z has 1 columns, the network expects 2"),
        (lambda: m.MINE(1, 1, n_models=2).fit(np.stack([X] * 3), np.stack([Z] * 3)), ValueError, "ensemble members"),
        (lambda: m.MINE(1, 1).estimate(X[:1], Z[:1]), ValueError, "at least 2 samples"),
        (lambda: m.dv_bound([1.0], [1.0]), TypeError, "critic values"),
        (lambda: m.kl_divergence([0.5, 0.6], [0.5, 0.5]), ValueError, "sum to 1"),
        (lambda: m.mutual_information(np.array([[-0.5, 1.5]])), ValueError, "non-negative"),
    ],
)
def test_bad_input_is_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_errors_come_before_work(monkeypatch):
    calls = []
    monkeypatch.setattr(m.MINE, "_train", lambda *a, **k: calls.append(1))
    with pytest.raises(ValueError):
        m.MINE(1, 1).fit(X, Z, batch_size=1000)
    assert not calls
