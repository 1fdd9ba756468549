"""The fast paths against the readable references (minelib.reference): MINE is Algorithm 1, KSG is its formula.

MINE: the library and the from-scratch loop start from the same float64 weights and see the same pairs, batches
and re-pairings, so their validation curves agree to rounding (summation order inside the batched ensemble
products; 1.0e-13 nats measured over 200 steps, 1e-10 allowed). KSG: the same neighbour counts, hence the
same float64 value to 1e-12."""

import numpy as np
import torch

import minelib as m
from minelib.reference import ksg_from_scratch, mine_from_scratch, statistics_network


def test_minelib_mine_is_algorithm_1():
    x, z = (a.astype(np.float64) for a in m.sample_correlated_gaussians(2000, 1, 0.8, seed=0))
    library = m.MINE(1, 1, hidden=(16, 16), preprocess="none", dtype=torch.float64, seed=0)
    net = statistics_network(2, (16, 16))
    with torch.no_grad():  # the library's initial weights, stored as (fan_in, fan_out)
        for layer, w, b in zip(net[::2], library.T.weights, library.T.biases):
            layer.weight.copy_(w[0].T)
            layer.bias.copy_(b[0, 0])
    curve = mine_from_scratch(x, z, net, steps=200, eval_every=50, seed=0)
    library.fit(x, z, steps=200, batch_size=64, eval_every=50, checkpoint="last", seed=0)
    assert len(curve) == len(library.history["val"]) == 4
    np.testing.assert_allclose(library.history["val"], curve, rtol=0, atol=1e-10)


def test_minelib_ksg_is_the_formula():
    x, z = (a[:, 0].astype(np.float64) for a in m.sample_correlated_gaussians(800, 1, 0.9, seed=5))
    value, eps, n_x, n_z = ksg_from_scratch(x, z)
    assert abs(m.ksg_mi(x, z, k=3, preprocess="none") - value) < 1e-12
    assert n_x.min() >= 2 and n_z.min() >= 2  # both counts are at least k - 1
