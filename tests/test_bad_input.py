"""Every bad input is refused with a clear error naming the argument, before any work is done.

``BAD_INPUTS`` is the table the reliability issue asks for: each row is a call a reader might make, and
the error (type and words) it must get. ``ACCEPTED`` lists inputs people have that must simply work.
"""

import numpy as np
import pandas as pd
import pytest
import torch

import minelib as m
from minelib.applications.ali import ALIConfig
from minelib.applications.bottleneck import IBConfig
from minelib.applications.gan import GANConfig
from minelib.diagnostics import log_term_gradient_bias

X, Z = m.sample_correlated_gaussians(100, 1, 0.5, seed=0)
XT, ZT = torch.as_tensor(X), torch.as_tensor(Z)
NET = m.StatisticsNetwork(1, 1, hidden=(4,))

BAD_INPUTS = [
    # shapes and values
    (lambda: m.ksg_mi(X, Z[:50]), ValueError, "same number of samples"),
    (lambda: m.estimate_mi(X, Z[:50]), ValueError, "same number of samples"),
    (lambda: m.ksg_mi(np.full((10, 1), np.nan), Z[:10]), ValueError, "x contains NaN"),
    (lambda: m.estimate_mi(X, np.full((100, 1), np.inf)), ValueError, "z contains NaN or infinite"),
    (lambda: m.ksg_mi(X, np.zeros((100, 1, 1, 1))), ValueError, "z must be 1-D or 2-D"),
    (lambda: m.ksg_mi(X[:0], Z[:0]), ValueError, "empty"),
    (lambda: m.ksg_mi(np.zeros((100, 0)), Z), ValueError, "x is empty"),
    (lambda: m.ksg_mi(X[:3], Z[:3], k=3), ValueError, "k=3 neighbours need more than k samples"),
    (lambda: m.ksg_mi([[1, 2], [3]], Z[:2]), ValueError, "ragged"),
    (lambda: m.estimate_mi(X + 1e10, Z, "mine", batch_size=32), ValueError, "x column 0 is constant"),
    (lambda: m.estimate_mi(X, np.ones(100), "mine", batch_size=32), ValueError, "z column 0 is constant"),
    (lambda: m.ksg_mi(X, np.ones(100)), ValueError, "z column 0 is constant"),
    (
        lambda: m.estimate_mi(X.astype(float) * 1e300, Z, "mine", preprocess="none", batch_size=32),
        ValueError,
        "overflows",
    ),
    (lambda: m.ksg_mi(np.repeat(X[:25], 4, 0), np.repeat(Z[:25], 4, 0)), ValueError, "identical samples"),
    # types people pass
    (lambda: m.ksg_mi(np.array(["a"] * 100), Z), TypeError, "x must hold real numbers"),
    (lambda: m.ksg_mi(X, torch.zeros(100, dtype=torch.bool)), TypeError, "z must hold real numbers"),
    (lambda: m.ksg_mi(X.astype(np.complex128), Z), TypeError, "x must hold real numbers"),
    (lambda: m.ksg_mi(X.astype(np.longdouble), Z), TypeError, "float64 at most"),
    (lambda: m.ksg_mi(X.astype(object), Z), TypeError, "x must hold real numbers"),
    (lambda: m.ksg_mi(XT.to(torch.complex64), ZT), TypeError, "x must hold real numbers"),
    (lambda: m.estimate_mi(torch.empty(100, 1, device="meta"), Z), ValueError, "'meta' tensor"),
    (lambda: m.ksg_mi(XT.to_sparse(), ZT), TypeError, "dense tensor"),
    (lambda: m.ksg_mi("x", Z), TypeError, "x must be a numpy array, a torch tensor"),
    (lambda: m.ksg_mi({"a": 1}, Z), TypeError, "x must be a numpy array, a torch tensor"),
    (lambda: m.ksg_mi(pd.DataFrame({"a": ["u"] * 100}), Z), TypeError, "non-numeric"),
    # options
    (lambda: m.ksg_mi(X, Z, k=0), ValueError, "k must be a positive integer"),
    (lambda: m.ksg_mi(X, Z, k=2.5), ValueError, "k must be a positive integer"),
    (lambda: m.ksg_mi(X, Z, workers=0), ValueError, "workers must be a positive integer"),
    (lambda: m.ksg_mi(X, Z, preprocess="rank"), ValueError, "unknown preprocess"),
    (lambda: m.ksg_mi_bruteforce(X, Z, chunk=-1), ValueError, "chunk must be a positive integer"),
    (lambda: m.ksg_mi_bruteforce(X, Z, chunk=0), ValueError, "chunk must be a positive integer"),
    (lambda: m.ksg_mi_bruteforce(*m.sample_correlated_gaussians(200_000, 10, 0.5)), ValueError, "GiB"),
    (lambda: m.gaussian_mi(1.0), ValueError, "rho"),
    (lambda: m.gaussian_mi(0.5, dim=0), ValueError, "dim"),
    (lambda: m.sample_correlated_gaussians(10, 1, -1.0), ValueError, "rho"),
    (lambda: m.sample_correlated_gaussians(0, 1, 0.5), ValueError, "n must be a positive integer"),
    (lambda: m.sample_correlated_gaussians(10, 1, 0.5, seed=-1), ValueError, "seed must be None or an integer"),
    (lambda: m.sample_correlated_gaussians(10, 1, 0.5, seed=1.5), ValueError, "seed"),
    (lambda: m.sample_nonlinear(10, "x", 0.0), ValueError, "sigma"),
    (lambda: m.sample_nonlinear(10, "tan", 0.1), ValueError, "unknown f"),
    (lambda: m.sample_nonlinear(10, "x", 0.1, seed="a"), ValueError, "seed"),
    (lambda: m.nonlinear_mi("tan", 0.1), ValueError, "unknown f"),
    (lambda: m.nonlinear_mi("x", -0.1), ValueError, "sigma"),
    (lambda: m.nonlinear_mi("x^3", 1e-7), ValueError, "quadrature grid"),
    (lambda: m.student_t_mi(0.0), ValueError, "nu"),
    (lambda: m.sample_student_t(10, -1.0), ValueError, "nu"),
    (lambda: m.sample_student_t(10, 2.0, x_dim=0), ValueError, "x_dim"),
    (lambda: m.estimate_mi(X, Z, method="tuba"), ValueError, "unknown method"),
    (lambda: m.estimate_mi(X, Z, steps=10, lr=1e-3, colour="red"), TypeError, "unknown option"),
    (lambda: m.estimate_mi(X, Z, objective="f"), TypeError, "removed in minelib 0.2.0"),
    (lambda: m.estimate_mi(X, Z, n_models=2), TypeError, "the method chooses them"),
    (lambda: m.estimate_mi(X, Z, n_models=2), TypeError, "the method chooses them"),
    (lambda: m.estimate_mi(X, Z, method="ksg", steps=10), TypeError, "unknown option"),
    (lambda: m.estimate_many([(X, Z)], "mine"), TypeError, "list of method names"),
    (lambda: m.estimate_many([], ["mine"]), ValueError, "non-empty list of"),
    (lambda: m.estimate_many((X, Z), ["mine"]), TypeError, r"pairs\[0\] must be an \(x, z\) pair"),
    (lambda: m.estimate_many([(X, Z, Z)], ["mine"]), TypeError, r"pairs\[0\] must be an \(x, z\) pair"),
    (lambda: m.estimate_many(X, ["mine"]), ValueError, "non-empty list of"),
    (lambda: m.estimate_many([(X, Z)], ["mine", "mine"]), ValueError, "twice"),
    (lambda: m.estimate_mi(X, Z, batch_size=1), ValueError, "batch_size must be at least 2"),
    (lambda: m.estimate_mi(X, Z, progress="yes"), TypeError, "progress must be True or False"),
    (lambda: m.MINE(1, 1, device="mps"), ValueError, "'mps' was asked for"),
    (lambda: m.MINE(1, 1, device="xla"), ValueError, "'xla' is not usable here"),
    (lambda: m.estimate_mi(X, Z, device="cuda:0"), ValueError, "no CUDA GPU"),
    (lambda: m.ksg_mi(X, Z, k=0), ValueError, "k must be a positive integer"),
    (lambda: m.MINE(1, 1, objective="f"), TypeError, "use bound="),
    (lambda: m.MINE(1, 1, bound="tuba"), ValueError, "unknown bound"),
    (lambda: m.MINE(1, 1, gradient="biased"), TypeError, "'dv' the plain minibatch gradient"),
    (lambda: m.MINE(1, 1, steps=5), TypeError, "pass them to fit"),
    (lambda: m.MINE(1, 1).fit(X, Z, hidden=(4,)), TypeError, "pass them to MINE"),
    (lambda: m.MINE(1, 1, stepz=5), TypeError, "unknown setting"),
    (lambda: m.MINE(1, 1, n_models=2, bound=["dv"]), ValueError, "one per model"),
    (lambda: m.MINE(1, 1, ema_rate=0.0), ValueError, "ema_rate"),
    (lambda: m.MINE(1, 1, ema_rate=1.5), ValueError, "ema_rate"),
    (lambda: m.MINE(1, 1, ema_rate=float("nan")), ValueError, "ema_rate"),
    (lambda: m.MINE(1, 1, hidden=(0,)), ValueError, "hidden width"),
    (lambda: m.MINE(1, 1, hidden=64), ValueError, "hidden must be a sequence of layer widths"),
    (lambda: m.MINE(1, 1, hidden="64"), ValueError, "hidden must be a sequence"),
    (lambda: m.MINE(1, 1, activation="gelu"), ValueError, "unknown activation"),
    (lambda: m.MINE(1, 1, preprocess="rank"), ValueError, "unknown preprocess"),
    (lambda: m.MINE(0, 1), ValueError, "x_dim"),
    (lambda: m.MINE(1, 1, dtype=torch.int64), TypeError, "dtype"),
    (lambda: m.MINE(1, 1, seed=-3), ValueError, "seed"),
    (lambda: m.MINE(1, 1, device="gpu0"), ValueError, "device must name a torch device"),
    (lambda: m.MINE(1, 1, device="meta"), ValueError, "device 'meta'"),
    (lambda: m.MINE(1, 1).fit(X, Z, batch_size=500), ValueError, "too few samples"),
    (lambda: m.MINE(1, 1).fit(X, Z, steps=0), ValueError, "steps"),
    (lambda: m.MINE(1, 1).fit(X, Z, lr=-1.0), ValueError, "lr"),
    (lambda: m.MINE(1, 1).fit(X, Z, lr=True), ValueError, "lr"),
    (lambda: m.MINE(1, 1).fit(X, Z, val_fraction=1.0), ValueError, "val_fraction"),
    (lambda: m.MINE(1, 1).fit(X, Z, test_fraction=0.0), ValueError, "test_fraction"),
    (lambda: m.MINE(1, 1).fit(X, Z, val_fraction=0.5, test_fraction=0.5), ValueError, "must be below 1"),
    (lambda: m.MINE(1, 1).fit(X, Z, checkpoint="first"), ValueError, "unknown checkpoint"),
    (lambda: m.MINE(1, 1).fit(X, Z, marginal="product"), ValueError, "unknown marginal"),
    (lambda: m.MINE(1, 1).fit(X, Z, seed=2**64), ValueError, "seed"),
    (lambda: m.MINE(1, 1).fit(X, Z, n_shuffles=0), ValueError, "n_shuffles"),
    (lambda: m.MINE(1, 1).fit(X, Z, eval_every=-5), ValueError, "eval_every"),
    (lambda: m.MINE(1, 2).fit(X, Z), ValueError, "z has 1 columns, the network expects 2"),
    (lambda: m.MINE(1, 1, n_models=2).fit(np.stack([X] * 3), np.stack([Z] * 3)), ValueError, "ensemble members"),
    (lambda: m.MINE(1, 1).estimate(X[:1], Z[:1]), ValueError, "at least 2 samples"),
    (lambda: m.MINE(1, 1).estimate(X, Z, seed=-1), ValueError, "seed"),
    (lambda: m.dv_bound([1.0], [1.0]), TypeError, "critic values"),
    (lambda: m.dv_bound(XT[:, 0], ZT[:, 0], q=-torch.ones(100) / 100), ValueError, "q must hold finite"),
    (lambda: m.dv_bound(XT[:, 0], ZT[:, 0], p=torch.ones(100)), ValueError, "p must sum to 1"),
    (lambda: m.f_bound(XT[:, 0], ZT[:, 0], q=torch.ones(3) / 3), ValueError, "does not match"),
    (lambda: m.update_log_ema(None, torch.zeros(1), 0.0), ValueError, "rate"),
    (lambda: m.update_log_ema(None, torch.zeros(1), 1.0), ValueError, "rate"),
    (lambda: m.update_log_ema(None, 0.5, 0.01), TypeError, "log_value must be a torch tensor"),
    (lambda: log_term_gradient_bias(NET, XT, ZT, 8, n_batches=40, n_groups=1), ValueError, "n_groups"),
    (lambda: log_term_gradient_bias(NET, XT, ZT, 8, n_batches=41, n_groups=4), ValueError, "multiple"),
    (lambda: log_term_gradient_bias(NET, XT, ZT, 8, "ema", ema_rate=1e-9), ValueError, "burn-in of 5 / ema_rate"),
    (lambda: log_term_gradient_bias(NET, X, Z, 8), TypeError, "x must be a 2-D floating-point torch tensor"),
    (lambda: log_term_gradient_bias(NET, XT, ZT[:50], 8), ValueError, "same number of samples"),
    (lambda: log_term_gradient_bias(NET, XT, ZT, 8, seed=-1), ValueError, "seed"),
    (lambda: log_term_gradient_bias(NET, XT, ZT, 8, rule="adam"), ValueError, "unknown rule"),
    (lambda: m.kl_divergence([0.5, 0.6], [0.5, 0.5]), ValueError, "sum to 1"),
    (lambda: m.mutual_information(np.array([[-0.5, 1.5]])), ValueError, "non-negative"),
    (lambda: m.StatisticsNetwork(1, 1, n_models=0), ValueError, "n_models"),
    (lambda: m.MITerm(NET).step(XT, ZT, weight=True), ValueError, "weight must lie strictly between"),
    (lambda: m.MITerm(NET).step(XT, ZT, weight=-1.0, clip=True), ValueError, "model_loss and params go together"),
    # the applications' settings: one set of checks for every config
    (lambda: GANConfig(beta=True), ValueError, "beta must be a finite number >= 0, got True"),
    (lambda: GANConfig(mi="False"), TypeError, "mi must be True or False, got 'False'"),
    (lambda: GANConfig(batch_size=1), ValueError, "batch_size must be at least 2"),
    (lambda: ALIConfig(clip="yes"), TypeError, "clip must be True or False, got 'yes'"),
    (lambda: ALIConfig(batch_norm=1), TypeError, "batch_norm must be True or False, got 1"),
    (lambda: ALIConfig(dropout=1.0), ValueError, r"dropout must lie in \[0, 1\), got 1.0"),
    (lambda: IBConfig(beta="0.1"), ValueError, "beta must be a finite number >= 0, got '0.1'"),
    (lambda: IBConfig(lr_decay=0.0), ValueError, r"lr_decay must lie in \(0, 1\], got 0.0"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_INPUTS)
def test_bad_input_is_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_the_table_is_long_enough():
    assert len(BAD_INPUTS) >= 60


def test_errors_come_before_work(monkeypatch):
    calls = []
    monkeypatch.setattr("minelib.mine.train_critic", lambda *a, **k: calls.append(1))
    for kwargs in ({"batch_size": 1000}, {"checkpoint": "first"}, {"seed": -1}):
        with pytest.raises(ValueError):
            m.MINE(1, 1).fit(X, Z, **kwargs)
    with pytest.raises(TypeError):
        m.estimate_many([(X, Z)], ["ksg", "mine"], colour="red")  # refused before the KSG work too
    assert not calls


ACCEPTED = {
    "list": (X[:, 0].tolist(), Z[:, 0].tolist()),
    "pandas Series": (pd.Series(X[:, 0]), pd.Series(Z[:, 0])),
    "pandas DataFrame": (pd.DataFrame(X, columns=["a"]), pd.DataFrame(Z, columns=["b"])),
    "torch requiring grad": (XT.clone().requires_grad_(True), ZT),
    "torch float16": (XT.half(), ZT.half()),
    "torch bfloat16": (XT.bfloat16(), ZT.bfloat16()),
    "integers": (np.round(X * 1000).astype(np.int64), Z),
    "read-only numpy": (np.broadcast_to(X, X.shape), Z),
}


@pytest.mark.parametrize("kind", list(ACCEPTED))
def test_inputs_people_have_are_accepted(kind):
    x, z = ACCEPTED[kind]
    base = m.ksg_mi(X, Z)
    assert m.ksg_mi(x, z) == pytest.approx(base, abs=0.05)  # float16 rounding moves a few neighbours
    result = m.estimate_mi(x, z, "mine", steps=30, batch_size=32, seed=0, device="cpu")
    assert np.isfinite(result.estimate)
    default = m.estimate_mi(x, z, steps=30, seed=0, device="cpu")  # InfoNCE: blocks of the 10 held-out pairs
    assert np.isfinite(default.estimate) and default.settings["batch_size"] == 10
