"""The gradient bias of §3.2, measured on a critic whose full-data gradient is known in closed form.

Critic :math:`T_w(u) = w u` with :math:`u \\sim N(0, 1)`: :math:`\\log E[e^{wu}] = w^2/2`, so the
full-data gradient of the log term is exactly :math:`w`. The minibatch gradient
:math:`\\sum_i u_i e^{w u_i} / \\sum_i e^{w u_i}` is biased (below :math:`w`); with the moving average
of :math:`E_B[e^{wu}]` in the denominator the bias vanishes up to the averaging noise.
"""

import math

import numpy as np
import pytest
import torch

import minelib as m

W, K = 1.0, 20_000  # critic weight, number of minibatches averaged


def per_batch_gradients(batch: int, ema: bool, rate: float = 0.01, seed: int = 0) -> np.ndarray:
    u = torch.randn(K, batch, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    w = torch.full((K, 1), W, dtype=torch.float64, requires_grad=True)  # one copy of w per batch
    t = w * u
    if ema:
        log_ma, history = None, []
        for lme in m.log_mean_exp(t.detach()):  # the moving average as training would see it, batch by batch
            log_ma = m.update_log_ema(log_ma, lme, rate)
            history.append(log_ma)
        burn_in = int(5 / rate)  # the average has forgotten its start after a few 1/rate batches
        value = m.ema_log_mean_exp(t[burn_in:], torch.stack(history[burn_in:]))
    else:
        value = m.log_mean_exp(t)
    value.sum().backward()
    g = w.grad.squeeze(1).numpy()
    return g[g != 0] if ema else g


def mean_and_se(g: np.ndarray) -> tuple[float, float]:
    return g.mean(), g.std(ddof=1) / math.sqrt(len(g))


def test_biased_gradient_is_measurably_biased_and_shrinks_with_batch_size():
    biases = []
    for batch in (4, 16, 64):
        mean, se = mean_and_se(per_batch_gradients(batch, ema=False))
        assert W - mean > 5 * se, f"batch {batch}: no measurable bias ({mean:.4f} ± {se:.4f})"
        biases.append(W - mean)
    assert biases[0] > biases[1] > biases[2]


@pytest.mark.parametrize("batch", [4, 16])
def test_ema_gradient_is_unbiased_once_settled(batch):
    biased_mean, _ = mean_and_se(per_batch_gradients(batch, ema=False))
    mean, se = mean_and_se(per_batch_gradients(batch, ema=True))
    # The average's own noise (relative sd ~ sqrt(rate/2 Var e^u / E[e^u]^2 / batch)) leaves a second-order
    # bias far below 5 standard errors of 20k batches; the biased gradient is many se away.
    assert abs(mean - W) < 5 * se + 0.01
    assert abs(mean - W) < 0.25 * abs(biased_mean - W)


def test_autograd_function_and_surrogate_agree():
    t = torch.randn(3, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    log_ma = torch.tensor([0.1, 0.5, -0.3], dtype=torch.float64)
    grads, values = [], []
    for fn in (m.ema_log_mean_exp, m.ema_log_mean_exp_surrogate):
        leaf = t.clone().requires_grad_(True)
        value = fn(leaf, log_ma)
        (value * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
        grads.append(leaf.grad)
        values.append(value.detach())
    torch.testing.assert_close(values[0], values[1], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(values[0], m.log_mean_exp(t))


def test_log_ema_update_matches_linear_average():
    log_ma = None
    values = torch.tensor([1.0, 3.0, 2.0], dtype=torch.float64)
    ma = None
    for v in values:
        log_ma = m.update_log_ema(log_ma, torch.log(v), 0.1)
        ma = v if ma is None else 0.9 * ma + 0.1 * v
    assert float(torch.exp(log_ma)) == pytest.approx(float(ma), rel=1e-12)
