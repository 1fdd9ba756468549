r"""Readable references: MINE and KSG written out as the chapters write them, in plain torch and numpy.

The library's fast paths are tested against these (``tests/test_reference.py``): :class:`~minelib.MINE`
(batched ensembles, per-member checkpoints, a bound registry) must give the same validation curve as
:func:`mine_from_scratch` from the same initial network, and :func:`~minelib.ksg_mi` (trees, blocks, threads) the
same value as :func:`ksg_from_scratch`. Chapter 3 ("The MINE algorithm") and chapter 5 ("Correlated Gaussians")
derive these functions in their cells; they are kept here too so that the claim "the library is this algorithm"
is a test of the library, not only an assertion of a chapter.

References
----------
M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, Algorithm 1 and §3.2.
A. Kraskov, H. Stögbauer, P. Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import digamma


def statistics_network(in_dim: int, hidden: tuple[int, ...] = (64, 64)) -> torch.nn.Sequential:
    """A float64 MLP with ELU activations and one output: :math:`T([x, z])`."""
    sizes = [in_dim, *hidden, 1]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out, dtype=torch.float64), torch.nn.ELU()]
    return torch.nn.Sequential(*layers[:-1])  # no activation after the last layer


def derange(n: int, generator: torch.Generator) -> torch.Tensor:
    """A random order; each position takes the ``z`` of the next one in that order: no position keeps its own."""
    order = torch.rand(n, generator=generator).argsort()
    return torch.empty_like(order).scatter_(0, order, order.roll(-1))


def mine_from_scratch(x, z, net, *, steps=1000, batch_size=64, lr=1e-3, rate=0.01, eval_every=50, seed=0):
    """MINE (Algorithm 1) with the moving-average gradient, on a 70/10/20 split; returns the validation curve:
    the DV bound on the validation pairs (``z`` re-paired once) every ``eval_every`` steps."""
    order = np.random.default_rng(seed).permutation(len(x))  # 20% test (unused here), 10% val., 70% train
    n_test, n_val = round(0.2 * len(x)), round(0.1 * len(x))
    val, train = order[n_test : n_test + n_val], order[n_test + n_val :]
    x_tr, z_tr, x_val, z_val = (torch.as_tensor(a, dtype=torch.float64) for a in (x[train], z[train], x[val], z[val]))

    def T(x, z):
        return net(torch.cat([x, z], 1)).squeeze(1)

    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    log_ma, curve = None, []
    for step in range(steps):
        idx = torch.randint(len(x_tr), (batch_size,), generator=gen)
        xb, zb = x_tr[idx], z_tr[idx]
        zm = zb[derange(batch_size, gen)]  # pairs from P_X x P_Z
        t_joint, t_marg = T(xb, zb), T(xb, zm)
        log_mean = (torch.logsumexp(t_marg, 0) - math.log(batch_size)).detach()  # log E_B[e^T]
        log_ma = log_mean if log_ma is None else torch.logaddexp(log_ma + math.log1p(-rate), log_mean + math.log(rate))
        ratio = torch.exp(t_marg - log_ma).mean()  # gradient: E_B[grad T e^T] / moving average
        loss = -(t_joint.mean() - (log_mean + ratio - ratio.detach()))  # value: minus the DV bound
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % eval_every == 0:  # the DV bound on the validation pairs, z shuffled once
            with torch.no_grad():
                z_repaired = z_val[derange(len(z_val), torch.Generator().manual_seed(step))]
                log_mean_val = torch.logsumexp(T(x_val, z_repaired), 0) - math.log(len(z_val))
                curve.append(float(T(x_val, z_val).mean() - log_mean_val))
    return curve


def ksg_from_scratch(x, z, k=3):
    """KSG estimator 1 for one-dimensional ``x`` and ``z`` from all pairwise distances; returns the estimate,
    each sample's :math:`\\epsilon_i` and its marginal counts :math:`n_x(i)`, :math:`n_z(i)`."""
    dx = np.abs(x[:, None] - x[None, :])  # distances in each marginal space (1-D here)
    dz = np.abs(z[:, None] - z[None, :])
    np.fill_diagonal(dx, np.inf)
    np.fill_diagonal(dz, np.inf)
    joint = np.maximum(dx, dz)  # the max-norm in the joint space
    eps = np.partition(joint, k - 1, axis=1)[:, k - 1]  # distance to the k-th neighbour
    n_x, n_z = (dx < eps[:, None]).sum(1), (dz < eps[:, None]).sum(1)  # strictly within eps
    value = digamma(k) + digamma(len(x)) - np.mean(digamma(n_x + 1) + digamma(n_z + 1))
    return value, eps, n_x, n_z
