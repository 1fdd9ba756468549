import warnings

import numpy as np
import pytest
import torch

import minelib as m
from minelib.bounds import bound_value, get_bound


def test_mine_estimate_close_to_truth_rho_07():
    # 8,000 pairs, 20% held out: the held-out DV value has sd ~ 0.02 nats, plus an optimisation gap.
    x, z = m.sample_correlated_gaussians(8000, 1, 0.7, seed=0)
    truth = m.gaussian_mi(0.7)
    result = m.estimate_mi(x, z, method="mine", seed=0, device="cpu")
    assert abs(result.estimate - truth) < max(0.05, 0.1 * truth)
    assert result.history["train"].shape == (2000,)


def test_mine_held_out_estimate_near_zero_at_independence():
    # Held out, there is nothing to overfit to: the DV value on 1,600 pairs has sd ~ 0.01 at zero MI.
    x, z = m.sample_correlated_gaussians(8000, 1, 0.0, seed=1)
    mine = m.MINE(1, 1, seed=1, device="cpu").fit(x, z)
    assert abs(mine.estimate_) < 0.03
    # ...while the same network evaluated on the pairs it was trained on can look dependent.
    assert np.all(np.isfinite(mine.history["train"]))


def test_no_nan_at_high_mi():
    x, z = m.sample_correlated_gaussians(4000, 20, 0.99, seed=2)
    mine = m.MINE(20, 20, bound=["mine", "dv", "nwj"], seed=0)
    mine.fit(x, z, steps=300)
    assert np.all(np.isfinite(mine.estimate_)) and np.all(np.isfinite(mine.history["train"]))
    assert np.all(mine.estimate_ > 1.0)  # it learns something, far below the 39 nats of truth


def test_ensemble_members_train_like_separate_models():
    # Members share nothing: member i of an ensemble follows the same trajectory as a single model
    # given the same initial weights and batches (up to float reduction order: 1e-4).
    x, z = m.sample_correlated_gaussians(1000, 2, 0.5, seed=3)
    ens = m.MINE(2, 2, n_models=2, hidden=(16,), seed=0, device="cpu", dtype=torch.float64)
    single = m.MINE(2, 2, n_models=1, hidden=(16,), seed=5, device="cpu", dtype=torch.float64)
    with torch.no_grad():
        for ps, pe in zip(single.parameters(), ens.parameters()):
            ps.copy_(pe[1:2])
    opt_e, opt_s = (torch.optim.SGD(e.T.parameters(), lr=0.05) for e in (ens, single))
    xt, zt = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(z, dtype=torch.float64)
    for step in range(20):
        idx = torch.arange(step * 40, step * 40 + 40)
        zm = zt[idx.flip(0)]
        for est, opt in ((ens, opt_e), (single, opt_s)):
            t = est.T(torch.cat([xt[idx], xt[idx]]), torch.cat([zt[idx], zm]))
            opt.zero_grad()
            (-bound_value(get_bound("mine"), t[:, :40], t[:, 40:], average=est.average, update=True).sum()).backward()
            opt.step()
    for ps, pe in zip(single.parameters(), ens.parameters()):
        torch.testing.assert_close(ps[0], pe[1], rtol=1e-10, atol=1e-10)


def test_same_seed_gives_the_same_result():
    x, z = m.sample_correlated_gaussians(3000, 1, 0.8, seed=4)
    a = m.MINE(1, 1, bound=["mine", "nwj"], seed=7, device="cpu").fit(x, z, steps=400)
    b = m.MINE(1, 1, bound=["mine", "nwj"], seed=7, device="cpu").fit(x, z, steps=400)
    np.testing.assert_array_equal(a.estimate_, b.estimate_)
    np.testing.assert_array_equal(a.history["train"], b.history["train"])


def test_per_member_data_in_one_ensemble():
    rhos = [0.0, 0.9]
    data = [m.sample_correlated_gaussians(4000, 1, r, seed=i) for i, r in enumerate(rhos)]
    x, z = np.stack([d[0] for d in data]), np.stack([d[1] for d in data])
    est = m.MINE(1, 1, n_models=2, seed=0, device="cpu").fit(x, z, steps=1500).estimate_
    assert est == pytest.approx(m.gaussian_mi(np.array(rhos)), abs=0.08)


def test_ksg_method_and_result_repr():
    x, z = m.sample_correlated_gaussians(2000, 1, 0.5, seed=6)
    r = m.estimate_mi(x, z, method="ksg", k=4)
    assert r.method == "ksg" and r.settings == {"k": 4} and "nats" in repr(r)
    assert r.estimate == pytest.approx(m.ksg_mi(x, z, k=4))


def test_independent_marginal_sampling_runs():
    x, z = m.sample_correlated_gaussians(2000, 1, 0.5, seed=6)
    r = m.estimate_mi(x, z, method="mine-f", marginal="independent", steps=300, seed=0)
    assert np.isfinite(r.estimate)


def test_estimate_many_trains_one_ensemble_and_orders_results():
    pairs = [m.sample_correlated_gaussians(3000, 1, r, seed=i) for i, r in enumerate((0.0, 0.9))]
    out = m.estimate_many(pairs, methods=("ksg", "mine", "mine-f"), steps=800, seed=0, device="cpu", k=3)
    assert list(out) == ["ksg", "mine", "mine-f"] and all(v.shape == (2,) for v in out.values())
    truth = m.gaussian_mi(np.array([0.0, 0.9]))
    assert out["ksg"] == pytest.approx(truth, abs=0.05)
    assert out["mine"] == pytest.approx(truth, abs=0.12)  # 800 steps: most of the way
    assert out["mine-f"][1] < truth[1] + 0.05
    with pytest.raises(ValueError, match="same shapes"):
        m.estimate_many([pairs[0], (pairs[1][0][:100], pairs[1][1][:100])])


def test_read_only_arrays_are_accepted_without_warnings():
    # np.broadcast_to gives a read-only view, which torch cannot share: it must be copied, silently.
    x, z = m.sample_correlated_gaussians(400, 1, 0.5, seed=3)
    x_ro, z_ro = np.broadcast_to(x, x.shape), np.broadcast_to(z, z.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = m.MINE(1, 1, seed=0, device="cpu").fit(x_ro, z_ro, steps=50, batch_size=64).estimate_
    assert a == m.MINE(1, 1, seed=0, device="cpu").fit(x, z, steps=50, batch_size=64).estimate_


def test_js_and_smile_estimators():
    # rho = 0.7, 8,000 pairs: the family's pair-based members recover the MI like MINE (test split s.e. ~0.03).
    x, z = m.sample_correlated_gaussians(8000, 1, 0.7, seed=0)
    truth = m.gaussian_mi(0.7)
    out = m.estimate_many([(x, z)], ["mine", "nwj", "js", "smile"], steps=1000, seed=0, device="cpu")
    for method, value in out.items():
        assert abs(value[0] - truth) < 0.08, (method, value, truth)
    single = m.estimate_mi(x, z, "smile", steps=1000, seed=0, device="cpu", tau=1.0)
    assert single.settings["bound"] == "smile" and np.isfinite(single.estimate)
    with pytest.raises(ValueError, match="tau"):
        m.MINE(1, 1, bound="smile", tau=0.0)


def test_js_training_signal_and_reported_values():
    t_joint = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    t_marg = torch.tensor([0.0, 3.0], dtype=torch.float64, requires_grad=True)
    js, smile = (get_bound(name) for name in ("js", "smile"))
    value_js = bound_value(js, t_joint, t_marg, tau=0.5)
    value_smile = bound_value(smile, t_joint, t_marg, tau=0.5)
    assert float(value_js) == pytest.approx(1.5 + 1 - (1 + np.exp(3)) / 2)  # NWJ of T + 1
    assert float(value_smile) == pytest.approx(1.5 - np.log((1 + np.exp(0.5)) / 2))  # DV with clipped scores
    with torch.no_grad():  # without autograd: the same values
        assert float(bound_value(js, t_joint, t_marg)) == float(value_js)
    (g,) = torch.autograd.grad(value_js, t_marg)
    torch.testing.assert_close(g, -torch.sigmoid(t_marg.detach()) / 2)  # d/dT of -mean softplus(T): the JS gradient
