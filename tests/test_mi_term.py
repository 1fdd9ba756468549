"""MINE as a building block: the separable critic, the differentiable MI term and the paper's clipping rule."""

import numpy as np
import pytest
import torch

import minelib as m
from minelib.bounds import infonce
from minelib.mi_term import MITerm, adaptive_gradient_clip
from minelib.nets import SeparableCritic


def test_separable_critic_scores_every_pair_in_one_product():
    torch.manual_seed(0)
    critic = SeparableCritic(3, 2, hidden=(16,), embed_dim=8, n_models=2)
    x, z = torch.randn(5, 3), torch.randn(5, 2)
    scores = critic.scores(x, z)
    assert scores.shape == (2, 5, 5)
    for i in range(5):  # entry [k, i, j] is T_k(x_i, z_j), and the diagonal is the paired forward
        for j in range(5):
            torch.testing.assert_close(scores[:, i, j], critic(x[i : i + 1], z[j : j + 1])[:, 0])
    torch.testing.assert_close(scores.diagonal(dim1=-2, dim2=-1), critic(x, z))
    members = critic.scores(torch.randn(2, 5, 3), torch.randn(2, 5, 2))  # one batch per member
    assert members.shape == (2, 5, 5)


def test_statistics_network_is_unchanged_by_the_shared_mlp_code():
    # Same seed, same parameters and outputs as the StatisticsNetwork before the refactor (values pinned).
    torch.manual_seed(0)
    net = m.StatisticsNetwork(1, 1, hidden=(4,))
    out = net(torch.ones(1, 1), torch.zeros(1, 1))
    assert [tuple(p.shape) for p in net.parameters()] == [(1, 2, 4), (1, 4, 1), (1, 1, 4), (1, 1, 1)]
    torch.manual_seed(0)
    w0 = torch.empty(1, 2, 4).uniform_(-1 / np.sqrt(2), 1 / np.sqrt(2))
    torch.testing.assert_close(net.weights[0], w0)
    assert out.shape == (1, 1)


def _pairs(a: torch.Tensor, n: int = 256, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, generator=g)
    return x, a * x + torch.randn(n, 1, generator=g)


@pytest.mark.parametrize("bound", ["dv", "nwj", "smile", "infonce"])
def test_an_encoder_stepping_on_plus_beta_mi_lowers_the_estimate(bound):
    # "Encoder" z = a x + noise: the MI grows with |a|. Minimising +beta * MI must shrink |a| and the estimate.
    torch.manual_seed(0)
    critic = m.StatisticsNetwork(1, 1, hidden=(32, 32))
    mi = MITerm(critic, bound=bound, lr=3e-3)
    a = torch.nn.Parameter(torch.tensor(2.0))
    encoder_opt = torch.optim.SGD([a], lr=0.05)
    for step in range(150):  # train the critic first, so the term measures something
        mi.update(*_pairs(a.detach(), seed=step))
    before = float(mi(*_pairs(a.detach(), 2048, seed=10_000)))
    for step in range(60):
        mi.update(*_pairs(a.detach(), seed=1000 + step))
        x, z = _pairs(a, seed=2000 + step)
        loss = 1.0 * mi(x, z)
        encoder_opt.zero_grad()
        critic_grads = [p.grad.clone() for p in critic.parameters()]  # left by the critic's own step
        loss.backward()
        assert a.grad is not None and a.grad > 0  # d MI / d a > 0 for a > 0
        assert all(torch.equal(g, p.grad) for g, p in zip(critic_grads, critic.parameters()))  # untouched
        encoder_opt.step()
    after = float(mi(*_pairs(a.detach(), 2048, seed=10_000)))
    assert float(a.detach()) < 2.0 and after < before, (float(a.detach()), before, after)


def test_a_shared_optimiser_cannot_move_the_critic():
    critic = m.StatisticsNetwork(1, 1, hidden=(8,))
    mi = MITerm(critic)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor(1.0))
            self.mi = mi

    model = Model()
    assert [p for p in model.parameters()] == [model.a]  # the critic is not the model's
    shared = torch.optim.Adam(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in critic.parameters()]
    x, z = _pairs(model.a)
    loss = mi(x, z)
    shared.zero_grad()
    loss.backward()
    shared.step()
    assert all(torch.equal(b, p) for b, p in zip(before, critic.parameters()))
    mi.update(x, z)  # only its own optimiser moves it
    assert not all(torch.equal(b, p) for b, p in zip(before, critic.parameters()))


def test_infonce_term_with_a_separable_critic_and_pairs_of_a_concatenated_one():
    x, z = _pairs(torch.tensor(1.0), 64)
    sep = MITerm(SeparableCritic(1, 1, hidden=(8,), embed_dim=4), bound="infonce")
    torch.testing.assert_close(sep(x, z), infonce(sep.critic.scores(x, z))[0])
    cat = MITerm(m.StatisticsNetwork(1, 1, hidden=(8,)), bound="infonce")
    b = 64
    full = cat.critic(x.repeat_interleave(b, 0), z.repeat(b, 1)).reshape(b, b)
    torch.testing.assert_close(cat(x, z), infonce(full))
    assert float(cat(x, z)) <= np.log(64) + 1e-6


def test_moving_average_enters_the_models_gradient():
    torch.manual_seed(0)
    mi = MITerm(m.StatisticsNetwork(1, 1, hidden=(8,)), bound="mine", ema_rate=0.01)
    x, z = _pairs(torch.tensor(1.0))
    for _ in range(20):
        mi.update(x, z)
    assert mi.average.log is not None
    biased = MITerm(mi.critic, bound="dv")
    xs = x.clone().requires_grad_(True)
    torch.manual_seed(1)
    (g_ema,) = torch.autograd.grad(mi(xs, z), xs)
    torch.manual_seed(1)
    (g_biased,) = torch.autograd.grad(biased(xs, z), xs)
    assert not torch.allclose(g_ema, g_biased)  # the denominator differs: the moving average, not the batch's


def test_adaptive_gradient_clip_uses_every_tensor_and_clips_the_mi_part():
    w1, w2 = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
    loss_u = (3 * w1).sum() + 0 * w2.sum()  # g_u = (3, 3, 3 | 0, 0): norm sqrt(27)
    loss_m = (10 * w1).sum() + (10 * w2).sum()  # g_m = 10 everywhere: norm sqrt(500)
    norm_u, norm_m = adaptive_gradient_clip([w1, w2], loss_u, loss_m)
    assert norm_u == pytest.approx(np.sqrt(27)) and norm_m == pytest.approx(np.sqrt(500))  # all tensors count
    g_a1, g_a2 = w1.grad - 3, w2.grad
    clipped = torch.sqrt((g_a1**2).sum() + (g_a2**2).sum())
    assert float(clipped) == pytest.approx(np.sqrt(27))  # min(|g_u|, |g_m|)
    torch.testing.assert_close(g_a1 / clipped, torch.full((3,), 10 / np.sqrt(500)))  # the MI direction kept
    # a small MI gradient passes unchanged
    w1.grad = w2.grad = None
    adaptive_gradient_clip([w1, w2], (3 * w1).sum(), (0.1 * w1).sum())
    torch.testing.assert_close(w1.grad, torch.full((3,), 3.1))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: MITerm("net"), TypeError, "critic must be a torch.nn.Module"),
        (lambda: MITerm(m.StatisticsNetwork(1, 1, n_models=2)), ValueError, "n_models=1"),
        (lambda: MITerm(m.StatisticsNetwork(1, 1), bound="tuba"), ValueError, "unknown bound"),
        (lambda: MITerm(m.StatisticsNetwork(1, 1), gradient="ema"), TypeError, "bound="),
        (lambda: MITerm(m.StatisticsNetwork(1, 1), ema_rate=1.0), ValueError, "ema_rate"),
        (lambda: MITerm(m.StatisticsNetwork(1, 1))(torch.zeros(4, 1), torch.zeros(3, 1)), ValueError, "same b"),
        (lambda: adaptive_gradient_clip([torch.zeros(2)], torch.zeros(()), torch.zeros(())), ValueError, "requires"),
        (lambda: SeparableCritic(1, 1, embed_dim=0), ValueError, "embed_dim"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _step_setup(seed: int = 0):
    torch.manual_seed(seed)
    mi = MITerm(m.StatisticsNetwork(1, 1, hidden=(8,)), lr=1e-2)
    g = torch.Generator().manual_seed(seed)
    x, noise = torch.randn(64, 1, generator=g), torch.randn(64, 1, generator=g)
    return mi, x, noise


@pytest.mark.parametrize("clip", [False, True])
def test_step_is_one_critic_step_then_the_models_gradient_of_its_loss_plus_the_weighted_term(clip):
    mi, x, noise = _step_setup()
    by_hand = _step_setup()[0]  # the same critic, stepped by hand
    before = [p.detach().clone() for p in mi.critic.parameters()]
    a = torch.nn.Parameter(torch.tensor(1.5))  # the "model": z = a x + noise

    def model_loss():
        return (a - 1.0) ** 2

    torch.manual_seed(1)  # the same re-pairings for both
    value, estimate, term = mi.step(x, a * x + noise, weight=-0.5, params=[a], model_loss=model_loss(), clip=clip)
    grad, a.grad = a.grad, None
    torch.manual_seed(1)
    value_by_hand = by_hand.update(x, (a * x + noise).detach())
    term_by_hand = -0.5 * by_hand(x, a * x + noise)
    if clip:
        adaptive_gradient_clip([a], model_loss(), term_by_hand)
    else:
        (model_loss() + term_by_hand).backward()
    assert value == value_by_hand
    assert torch.equal(grad, a.grad) and grad != 2 * (1.5 - 1.0)  # the MI term's gradient is in it
    assert torch.equal(term, term_by_hand.detach()) and torch.equal(term, -0.5 * estimate)
    for p, q, p0 in zip(mi.critic.parameters(), by_hand.critic.parameters(), before):
        assert torch.equal(p, q) and not torch.equal(p, p0)  # exactly one optimiser step of the critic


def test_step_without_a_model_loss_returns_the_term_and_a_floor_clamps_a_negative_estimate():
    class Anti(torch.nn.Module):  # scores the joint pairs (z = x) lowest: the DV estimate is negative
        def __init__(self):
            super().__init__()
            self.k = torch.nn.Parameter(torch.tensor(5.0))

        def forward(self, x, z):
            return (self.k * (x - z).pow(2).sum(-1)).unsqueeze(0)

    x = torch.randn(32, 1, generator=torch.Generator().manual_seed(0))
    z = x.clone().requires_grad_()
    mi = MITerm(Anti(), lr=1e-3)
    _, estimate, term = mi.step(x, z, weight=2.0)
    assert estimate < 0 and torch.equal(term, 2.0 * estimate) and term.requires_grad
    assert z.grad is None  # nothing was backpropagated
    _, floored, term = mi.step(x, z, weight=2.0, floor=0.0)
    assert floored == 0.0 and term == 0.0
    term.backward()
    assert torch.all(z.grad == 0)  # a clamped estimate rewards nothing


# ----------------------------------------------------------------------------- non-finite batches
def _state(mi: MITerm) -> list[torch.Tensor]:
    """The critic's parameters and its optimiser's tensors, copied."""
    params = [p.detach().clone() for p in mi.critic.parameters()]
    state = [v.clone() for s in mi.critic_optimizer.state.values() for v in s.values() if torch.is_tensor(v)]
    return params + state


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("first", [True, False])
def test_a_non_finite_batch_takes_no_step_and_is_counted(bad, first):
    """The critic after (clean, poisoned, clean) batches equals the critic after (clean, clean): bitwise, the
    optimiser's moments and step count included; a poisoned first batch leaves a fresh optimiser."""
    x, z = _pairs(torch.tensor(1.0), n=64)
    poisoned = x.clone()
    poisoned[3, 0] = bad

    def run(batches):
        torch.manual_seed(0)
        mi = MITerm(m.StatisticsNetwork(1, 1, hidden=(8,)), lr=1e-2)
        for batch in batches:
            torch.manual_seed(1)  # the same re-pairing for every batch, poisoned or not
            mi.update(batch, z)
        return mi

    clean = run([x, x] if first else [x, x])
    mixed = run([poisoned, x, x] if first else [x, poisoned, x])
    assert int(mixed.skipped) == 1 and int(clean.skipped) == 0
    for a, b in zip(_state(mixed), _state(clean)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert all(torch.isfinite(p).all() for p in mixed.critic.parameters())
    with pytest.warns(m.MINEWarning, match="skipped 1 critic step"):
        assert mixed.check() == 1


def test_a_poisoned_first_batch_leaves_the_moving_average_unstarted():
    x, z = _pairs(torch.tensor(1.0), n=64)
    mi = MITerm(m.StatisticsNetwork(1, 1, hidden=(8,)), lr=1e-2)
    bad = x.clone()
    bad[0, 0] = float("nan")
    mi.update(bad, z)  # the very first batch poisoned: the moving average is not started by it
    assert int(mi.skipped) == 1 and mi.average.log is not None and not bool(mi.average.started)
    assert torch.isfinite(mi(x, z))  # the model's term: the plain DV bound until a clean batch starts the average
    mi.update(x, z)
    assert bool(mi.average.started) and torch.isfinite(mi.average.log).all() and torch.isfinite(mi(x, z))


@pytest.mark.parametrize(
    ("x", "z", "error", "match"),
    [
        (torch.zeros(8, 1, dtype=torch.float64), torch.zeros(8, 1), TypeError, "float64 on cpu but the critic"),
        (torch.zeros(8, 2), torch.zeros(8, 1), ValueError, "x has 2 columns, the critic expects 1"),
        (torch.zeros(8, 1, dtype=torch.long), torch.zeros(8, 1), TypeError, "floating-point"),
    ],
)
def test_batches_the_critic_cannot_take_are_named(x, z, error, match):
    mi = MITerm(m.StatisticsNetwork(1, 1, hidden=(8,)))
    with pytest.raises(error, match=match):
        mi.update(x, z)


def test_a_critic_returning_a_column_is_named():
    class Column(torch.nn.Module):  # returns (n, 1) instead of (1, n)
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def forward(self, x, z):
            return self.lin(torch.cat([x, z], 1))

    with pytest.raises(ValueError, match=r"must return scores of shape \(1, n\), got \(16, 1\)"):
        MITerm(Column()).update(torch.zeros(8, 1), torch.zeros(8, 1))


def test_adaptive_clip_returns_device_tensors_without_branching_on_the_host():
    w = torch.nn.Parameter(torch.ones(3))
    norm_u, norm_m = adaptive_gradient_clip([w], (2 * w).sum(), (0 * w).sum())  # g_m = 0: no MI gradient
    assert isinstance(norm_u, torch.Tensor) and float(norm_m) == 0.0
    torch.testing.assert_close(w.grad, torch.full((3,), 2.0))  # the model's own gradient, unchanged
