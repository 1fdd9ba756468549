r"""One training loop for every critic of the book: MINE, the other bounds of its family, the staircase.

What differs between them (which batch, which critic scores, which bound and which gradient rule) lives in
one function, ``step_value(step)``, that draws the step's batch and returns two ``(n_models,)`` tensors: the
objective to *maximise* (its gradient is the training gradient: the moving-average rule or the
Jensen–Shannon signal enter here) and the value to record (the bound itself). The loop does the rest,
identically for all: Adam on the summed objective (each ensemble member gets exactly its own gradient),
the record of every step, and, given an ``evaluate(step)`` function, validation every ``eval_every`` steps
with a per-member checkpoint of the best validation value (early stopping by selection).

References
----------
M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018, Algorithm 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import trange

CHECKPOINTS = ("best", "last")

StepValue = Callable[[int], tuple[torch.Tensor, torch.Tensor]]
Evaluate = Callable[[int], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one run of :func:`train_critic` (validated by the public entry that builds it).

    ``steps``: Adam steps; ``lr``: learning rate; ``eval_every``: validation period (used only with an
    ``evaluate`` function); ``checkpoint``: ``"best"`` (each member's parameters at its best validation
    value) or ``"last"``; ``fused``: passed to ``torch.optim.Adam``; ``progress``/``desc``: a tqdm bar.
    """

    steps: int
    lr: float
    eval_every: int = 100
    checkpoint: str = "last"
    fused: bool | None = None
    progress: bool = False
    desc: str = "training"


@dataclass
class TrainLog:
    """What :func:`train_critic` saw: ``train`` ``(steps, n_models)`` (the recorded value of every step;
    NaN after an early stop), ``eval_step`` and ``val`` ``(n_evals, n_models)`` (empty without validation),
    and ``best_step`` ``(n_models,)``: the step whose parameters each member kept."""

    train: np.ndarray
    eval_step: np.ndarray
    val: np.ndarray
    best_step: np.ndarray


def train_critic(
    params: Sequence[torch.nn.Parameter],
    step_value: StepValue,
    config: TrainConfig,
    evaluate: Evaluate | None = None,
) -> TrainLog:
    """Maximise ``step_value``'s objective over ``params`` (stacked ``(n_models, ...)`` ensemble parameters).

    With ``evaluate`` (``step -> (n_models,)`` validation values), every ``eval_every`` steps and at the
    last one the values are recorded, and ``checkpoint="best"`` restores, for each member, the parameters of
    its best finite validation value. Training stops early when every member's validation value is
    non-finite (further steps cannot help).
    """
    params = list(params)
    device = params[0].device
    opt = torch.optim.Adam(params, lr=config.lr, fused=config.fused)
    n_models = params[0].shape[0]
    best = [p.detach().clone() for p in params]
    best_value = torch.full((n_models,), -torch.inf, device=device, dtype=torch.float64)
    best_step = torch.zeros(n_models, dtype=torch.long, device=device)
    record = torch.full((config.steps, n_models), torch.nan, device=device)
    evals, eval_steps = [], []
    for step in trange(config.steps, disable=not config.progress, desc=config.desc, leave=False):
        objective, value = step_value(step)
        record[step] = value.detach()
        opt.zero_grad(set_to_none=True)
        (-objective.sum()).backward()
        opt.step()
        if evaluate is not None and ((step + 1) % config.eval_every == 0 or step + 1 == config.steps):
            v = evaluate(step).double()
            evals.append(v)
            eval_steps.append(step + 1)
            better = torch.isfinite(v) & (v > best_value)
            for kept, p in zip(best, params):
                kept[better] = p.detach()[better]
            best_value = torch.where(better, v, best_value)
            best_step = torch.where(better, step + 1, best_step)
            if not torch.isfinite(v).any():
                break
    last = eval_steps[-1] if eval_steps else config.steps  # the last step trained (an early stop ends at an eval)
    if config.checkpoint == "best" and evaluate is not None:
        kept_any = best_step > 0
        with torch.no_grad():
            for kept, p in zip(best, params):
                p[kept_any] = kept[kept_any]
        best_step = torch.where(kept_any, best_step, last)  # no finite value: the member keeps its last parameters
    else:
        best_step = torch.full_like(best_step, last)
    val = torch.stack(evals).cpu().numpy() if evals else np.empty((0, n_models))
    return TrainLog(record.cpu().numpy(), np.array(eval_steps, dtype=int), val, best_step.cpu().numpy())


class DeviceLog:
    """Values recorded at every step on the device and read back once: no host synchronisation per step.

    ``record(step, **values)`` stores 0-d tensors (or numbers) into float64 tensors of length ``steps``;
    ``check(step)``, every ``every`` steps and at the last one, synchronises once and raises a
    ``FloatingPointError`` whose message ``explain(key, step, value)`` gives, when a ``watch``-ed key became
    non-finite; ``numpy()`` returns the records as float64 numpy arrays (NaN where nothing was recorded).
    """

    def __init__(self, keys, steps: int, device, *, watch=(), explain=None, every: int = 100):
        self.values = {k: torch.full((steps,), torch.nan, dtype=torch.float64, device=device) for k in keys}
        self.steps, self.watch, self.explain, self.every = steps, tuple(watch), explain, every

    def record(self, step: int, **values) -> None:
        for key, value in values.items():
            self.values[key][step] = value.detach() if isinstance(value, torch.Tensor) else value

    def check(self, step: int) -> None:
        if (step + 1) % self.every and step + 1 != self.steps:
            return
        for key in self.watch:
            bad = ~torch.isfinite(self.values[key][: step + 1])
            if bad.any():
                first = int(bad.nonzero()[0])
                raise FloatingPointError(self.explain(key, first, float(self.values[key][first])))

    def numpy(self) -> dict[str, np.ndarray]:
        return {k: v.cpu().numpy() for k, v in self.values.items()}


def divergence_message(model: str, **settings) -> Callable[[str, int, float], str]:
    """An ``explain`` for :class:`DeviceLog` when the data were checked finite: training diverged, and the message
    names the ``settings`` to lower (e.g. ``lr=1e-3, beta=1.0``)."""

    def explain(key: str, step: int, value: float) -> str:
        lower = " or ".join(f"{name} (now {v})" for name, v in settings.items())
        return (
            f"the {model}'s {key} became {value} at step {step}: every batch of data was finite (each is checked "
            f"when drawn), so training diverged; lower {lower}"
        )

    return explain
