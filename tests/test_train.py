"""The shared training loop (minelib.train.train_critic): per-member best checkpoints, the last checkpoint,
early stopping when every member's validation value is non-finite, no validation, and maximisation.

The "networks" here are tiny stacked tensors with a hand-made objective, so every expected value is known
exactly: the loop's bookkeeping is checked to the bit, not statistically."""

import numpy as np
import pytest
import torch

from minelib.train import TrainConfig, train_critic

NAN, INF = float("nan"), float("inf")


def _params():
    """Two stacked parameters of a two-member "ensemble": ``(2, 3)`` and ``(2,)``, float64."""
    return [
        torch.nn.Parameter(torch.zeros(2, 3, dtype=torch.float64)),
        torch.nn.Parameter(torch.tensor([1.0, -1.0], dtype=torch.float64)),
    ]


def _linear_step(params, calls=None):
    """Objective a fixed linear function of the parameters: Adam moves every entry on every step, so the
    parameters after different steps all differ and a snapshot identifies its step."""
    w = torch.tensor([[1.0, -2.0, 3.0], [-1.0, 0.5, 2.0]], dtype=torch.float64)

    def step_value(step):
        if calls is not None:
            calls.append(step)
        objective = (params[0] * w).sum(-1) + params[1]
        return objective, objective.detach().float()

    return step_value


def _scripted_evaluate(params, table, snapshots):
    """Returns row ``k`` of ``table`` at the ``k``-th evaluation and keeps the parameters it saw, by the
    step count ``step + 1`` that train_critic records in ``eval_step``."""
    rows = iter(table)

    def evaluate(step):
        snapshots[step + 1] = [p.detach().clone() for p in params]
        return torch.tensor(next(rows), dtype=torch.float64)

    return evaluate


def _member(params, i):
    return [p.detach()[i].clone() for p in params]


def _assert_same(a, b):
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def _run_scripted(table, checkpoint):
    """10 steps, eval_every 3 (evaluations after steps 3, 6, 9, 10), validation values read from ``table``."""
    params, snapshots = _params(), {}
    log = train_critic(
        params,
        _linear_step(params),
        TrainConfig(steps=10, lr=0.1, eval_every=3, checkpoint=checkpoint),
        _scripted_evaluate(params, table, snapshots),
    )
    return params, snapshots, log


def test_best_checkpoint_restores_each_members_own_best_step():
    # 10 steps, eval_every 3: evaluations after steps 3, 6, 9 and the last step 10.
    # Member 0: best finite value 5 at the 2nd evaluation (step 6); the later NaN and +inf are skipped.
    # Member 1: +inf (not finite) is skipped, 4 first reached at step 9, the tie at step 10 is not "better".
    table = [[1.0, 0.0], [5.0, INF], [NAN, 4.0], [INF, 4.0]]
    params, snapshots, log = _run_scripted(table, "best")
    np.testing.assert_array_equal(log.eval_step, [3, 6, 9, 10])
    np.testing.assert_array_equal(log.val, np.array(table))
    np.testing.assert_array_equal(log.best_step, [6, 9])
    assert log.train.shape == (10, 2) and np.isfinite(log.train).all()
    # the snapshots really differ from step to step, so the comparison below identifies the step
    assert not torch.equal(snapshots[6][0][0], snapshots[9][0][0])
    assert not torch.equal(snapshots[9][0][1], snapshots[10][0][1])
    _assert_same(_member(params, 0), [p[0] for p in snapshots[6]])
    _assert_same(_member(params, 1), [p[1] for p in snapshots[9]])


def test_best_step_of_a_member_without_any_finite_validation_value():
    # Member 1 is never finite while member 0 is, so training runs to the end and member 1 keeps its final
    # parameters. TrainLog documents best_step as "the step whose parameters each member kept": 10 here.
    table = [[1.0, NAN], [2.0, NAN], [0.0, INF], [0.5, NAN]]
    params, snapshots, log = _run_scripted(table, "best")
    _assert_same(_member(params, 0), [p[0] for p in snapshots[6]])
    _assert_same(_member(params, 1), [p[1] for p in snapshots[10]])  # the final parameters are kept...
    np.testing.assert_array_equal(log.best_step, [6, 10])  # ...and the log must say so


def test_last_checkpoint_keeps_the_final_parameters():
    table = [[1.0, 0.0], [5.0, 3.0], [NAN, 4.0], [INF, 4.0]]
    params, snapshots, log = _run_scripted(table, "last")
    np.testing.assert_array_equal(log.best_step, [10, 10])
    np.testing.assert_array_equal(log.val, np.array(table))
    _assert_same([p.detach() for p in params], snapshots[10])


@pytest.mark.parametrize("checkpoint", ["best", "last"])
def test_stops_early_when_every_member_is_non_finite(checkpoint):
    # 20 steps, eval_every 2. At the 2nd evaluation only member 1 is non-finite: training goes on. At the
    # 3rd (step 6) both are: the loop stops, and steps 7..20 are never taken.
    table = [[1.0, 2.0], [3.0, NAN], [NAN, -INF], [9.0, 9.0]]
    params, snapshots, calls = _params(), {}, []
    log = train_critic(
        params,
        _linear_step(params, calls),
        TrainConfig(steps=20, lr=0.1, eval_every=2, checkpoint=checkpoint),
        _scripted_evaluate(params, table, snapshots),
    )
    assert calls == list(range(6))
    np.testing.assert_array_equal(log.eval_step, [2, 4, 6])
    np.testing.assert_array_equal(log.val, np.array(table[:3]))
    assert log.train.shape == (20, 2)
    assert np.isfinite(log.train[:6]).all() and np.isnan(log.train[6:]).all()
    if checkpoint == "best":
        np.testing.assert_array_equal(log.best_step, [4, 2])
        _assert_same(_member(params, 0), [p[0] for p in snapshots[4]])
        _assert_same(_member(params, 1), [p[1] for p in snapshots[2]])
    else:  # the parameters at the stop, and the step they come from
        np.testing.assert_array_equal(log.best_step, [6, 6])
        _assert_same([p.detach() for p in params], snapshots[6])


@pytest.mark.parametrize("checkpoint", ["best", "last"])
def test_without_evaluate_no_validation_and_best_step_is_steps(checkpoint):
    params = _params()
    log = train_critic(params, _linear_step(params), TrainConfig(steps=7, lr=0.1, eval_every=2, checkpoint=checkpoint))
    assert log.val.shape == (0, 2) and log.eval_step.shape == (0,)
    np.testing.assert_array_equal(log.best_step, [7, 7])
    assert log.train.shape == (7, 2) and np.isfinite(log.train).all()


def test_maximises_a_concave_objective_with_adam():
    # Objective -(p - 3)^2 per member, from three starting points on both sides of 3 (and one farther away).
    start = torch.tensor([[0.0], [6.0], [-2.0]], dtype=torch.float64)
    p = torch.nn.Parameter(start.clone())

    def step_value(step):
        objective = -((p - 3) ** 2).sum(-1)
        return objective, objective.detach()

    steps, lr = 500, 0.1
    log = train_critic([p], step_value, TrainConfig(steps=steps, lr=lr))
    # The first record is the objective at the start, exactly: -(0-3)^2, -(6-3)^2, -(-2-3)^2.
    np.testing.assert_array_equal(log.train[0], [-9.0, -9.0, -25.0])

    # The same Adam run written out by hand (minimising the loss (p - 3)^2) is reproduced bit for bit:
    # train_critic maximises the objective (it descends its negative) and adds nothing else.
    q = torch.nn.Parameter(start.clone())
    opt = torch.optim.Adam([q], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        ((q - 3) ** 2).sum().backward()
        opt.step()
    assert torch.equal(p.detach(), q.detach())

    # Convergence: Adam moves a parameter by at most about lr per step (Kingma & Ba 2015, Sec. 2.1), so the
    # approach from 5 away takes >= 50 of the 500 steps; an iterate that failed to converge (ascending the
    # wrong way, or oscillating at the step scale) would sit >= lr away. lr / 100 separates the two cases.
    assert np.all(np.abs(p.detach().numpy() - 3) < lr / 100)
    # and the recorded objective climbed to nearly its maximum 0
    assert np.all(log.train[-1] > -((lr / 100) ** 2))


# ------------------------------------------------------------------------- DeviceLog: records without syncs
def test_device_log_records_and_checks_only_every_n_steps():
    from minelib.train import DeviceLog, divergence_message

    log = DeviceLog(("loss", "mi"), 10, "cpu", watch=("loss",), explain=divergence_message("GAN", lr=0.1), every=4)
    for step in range(10):
        log.record(step, loss=torch.tensor(float("nan") if step == 5 else 1.0), mi=float("nan"))
        if step < 7:
            log.check(step)  # steps 3 (clean so far) and 7 are checked; the NaN at 5 is found at 7
    with pytest.raises(FloatingPointError, match=r"the GAN's loss became nan at step 5: .* lower lr \(now 0.1\)"):
        log.check(7)
    out = log.numpy()
    assert out["loss"].dtype == np.float64 and out["loss"][0] == 1.0 and np.isnan(out["mi"]).all()
