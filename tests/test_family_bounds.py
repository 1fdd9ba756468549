"""The MINE family's bounds at the optimal critic of correlated Gaussians, where their values are known.

Tolerances: Monte-Carlo averages over n = 200,000 pairs (or b x b = 1,000,000 score-matrix entries); the
standard error of each estimate is computed from the samples and 5 of them are allowed.
"""

import math

import numpy as np
import pytest
import torch

import minelib as m
from minelib.bounds import BOUNDS, bound_value, dv, gan_dime, infonce, js, nwj, smile

RHO, DIM = 0.6, 2
TRUTH = m.gaussian_mi(RHO, DIM)  # 0.446 nats
X, Z = (a.astype(np.float64) for a in m.sample_correlated_gaussians(200_000, DIM, RHO, seed=0))
Z_SHUFFLED = np.random.default_rng(1).permutation(Z)
T_JOINT = torch.as_tensor(m.gaussian_log_ratio(X, Z, RHO))
T_MARGINAL = torch.as_tensor(m.gaussian_log_ratio(X, Z_SHUFFLED, RHO))


def se(values) -> float:
    return float(torch.as_tensor(values).std() / math.sqrt(len(values)))


def test_the_optimal_critic_is_a_density_ratio():
    assert float(T_JOINT.mean()) == pytest.approx(TRUTH, abs=5 * se(T_JOINT))
    w = torch.exp(T_MARGINAL)
    assert float(w.mean()) == pytest.approx(1.0, abs=5 * se(w))


def test_dv_nwj_and_smile_equal_the_mi_at_their_optima():
    noise = 5 * (se(T_JOINT) + se(torch.exp(T_MARGINAL)))
    assert float(dv(T_JOINT, T_MARGINAL)) == pytest.approx(TRUTH, abs=noise)
    assert float(dv(T_JOINT + 3.0, T_MARGINAL + 3.0)) == pytest.approx(float(dv(T_JOINT, T_MARGINAL)), abs=1e-12)
    assert float(nwj(T_JOINT + 1, T_MARGINAL + 1)) == pytest.approx(TRUTH, abs=noise)
    assert float(nwj(T_JOINT, T_MARGINAL)) <= float(dv(T_JOINT, T_MARGINAL)) + 1e-12  # log u <= u / e
    # SMILE with a large tau is DV; a small tau clips the rare large ratios and biases the value
    assert float(smile(T_JOINT, T_MARGINAL, tau=50.0)) == pytest.approx(float(dv(T_JOINT, T_MARGINAL)), abs=1e-12)
    assert float(smile(T_JOINT, T_MARGINAL, tau=0.5)) != pytest.approx(float(dv(T_JOINT, T_MARGINAL)), abs=1e-3)
    assert float(js(T_JOINT, T_MARGINAL)) == pytest.approx(float(nwj(T_JOINT + 1, T_MARGINAL + 1)), abs=1e-12)


def test_gan_dime_reads_the_mi_off_the_optimal_critic_with_the_js_gradient():
    # at T* = log dP/dQ the mean over joint pairs is the MI (5 standard errors of that mean)
    assert float(gan_dime(T_JOINT, T_MARGINAL)) == pytest.approx(TRUTH, abs=5 * se(T_JOINT))
    # the registry's standard error is that of the mean, and its value is what the estimators read
    record = BOUNDS["gan-dime"]
    assert float(record.stderr(T_JOINT, T_MARGINAL)) == pytest.approx(se(T_JOINT), rel=1e-12)
    assert float(bound_value(record, T_JOINT, T_MARGINAL)) == float(gan_dime(T_JOINT, T_MARGINAL))
    # not a bound: a critic shifted by +1 reads 1 nat more, where DV is shift-invariant
    assert float(gan_dime(T_JOINT + 1, T_MARGINAL + 1)) == pytest.approx(TRUTH + 1, abs=5 * se(T_JOINT))
    # its gradient is the Jensen-Shannon one (as for js), not that of the mean
    tj, tm = T_JOINT[:100].clone().requires_grad_(), T_MARGINAL[:100].clone().requires_grad_()
    for a, b in zip(torch.autograd.grad(gan_dime(tj, tm), (tj, tm)), torch.autograd.grad(js(tj, tm), (tj, tm))):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_gan_dime_through_estimate_mi():
    x, z = m.sample_correlated_gaussians(2000, dim=1, rho=0.8, seed=0)
    r = m.estimate_mi(x, z, "gan-dime", steps=300, batch_size=128, hidden=(32,), seed=0, device="cpu")
    # a short run on 1,400 training pairs: within 0.1 nats plus 4 standard errors of the truth (0.511)
    assert abs(r.estimate - m.gaussian_mi(0.8)) < 0.1 + 4 * r.stderr and r.settings["bound"] == "gan-dime"


def _matrix(b: int, rho: float, dim: int, seed: int) -> torch.Tensor:
    x, z = m.sample_correlated_gaussians(b, dim, rho, seed=seed)
    return torch.as_tensor(m.gaussian_log_ratio(x[:, None, :], z[None, :, :], rho))


def test_infonce_at_the_optimal_critic():
    # Low MI against a large batch: close to I (the bias is O(e^I / b)); never above ln b.
    low = torch.stack([infonce(_matrix(1000, 0.3, 1, s)) for s in range(10)])
    truth = m.gaussian_mi(0.3)
    assert float(low.mean()) == pytest.approx(truth, abs=0.01)
    # High MI against a small batch: the cap ln b, approached from below.
    high = torch.stack([infonce(_matrix(64, 0.99, 10, s)) for s in range(10)])
    assert m.gaussian_mi(0.99, 10) > 3 * math.log(64)
    assert torch.all(high <= math.log(64) + 1e-12) and float(high.mean()) > math.log(64) - 0.1


def test_score_matrices_and_pairs_agree():
    s = _matrix(50, 0.5, 1, 3)
    b = s.shape[-1]
    off = s[~torch.eye(b, dtype=torch.bool)]
    assert float(dv(s)) == pytest.approx(float(dv(s.diagonal(), off)), abs=1e-12)
    assert float(nwj(s)) == pytest.approx(float(nwj(s.diagonal(), off)), abs=1e-12)
    batched = torch.stack([s, s + 1])
    assert dv(batched).shape == (2,) and infonce(batched).shape == (2,)


def test_js_and_smile_train_with_the_js_gradient():
    t = torch.randn(8, 8, dtype=torch.float64, requires_grad=True)
    sp = torch.nn.functional.softplus
    diag, off = t.diagonal(), t[~torch.eye(8, dtype=torch.bool)]
    (g_expected,) = torch.autograd.grad(-sp(-diag).mean() - sp(off).mean(), t)
    for bound in (js, smile):
        (g,) = torch.autograd.grad(bound(t), t)
        torch.testing.assert_close(g, g_expected)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: dv(torch.zeros(3, 4)), "square"),
        (lambda: infonce(torch.zeros(1, 1)), "b >= 2"),
        (lambda: smile(torch.zeros(3, 3), tau=0), "tau"),
        (lambda: m.gaussian_log_ratio(X[:2], Z[:2], 1.0), "rho"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
