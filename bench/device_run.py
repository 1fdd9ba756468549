"""Device runs: measure the book on a rented machine (e.g. one NVIDIA H200) within a fixed time budget.

Run from the repository root (nothing needs installing; minelib comes from the working tree):

    PYTHONPATH=. python bench/device_run.py --sections rehearsal --budget-s 300

Options: ``--sections a,b`` (default: every section below), ``--budget-s`` (total time cap; each section
gets what is left and stops cleanly, recording what it did not finish), ``--out`` (default
``book/results/devices``), ``--chapters a,b`` (restrict the chapters the rehearsal runs), ``--smoke`` (tiny
sizes, for the CPU test). Results go to ``<out>/<device-slug>/``: ``device.json`` (what the machine is)
and one ``<section>.json`` per section, each written atomically. A markdown table is printed at the end.
The exit code is 0 when the script itself worked: a failing chapter is a result, not an error.

Sections:

* ``rehearsal`` (Colab GPU rehearsal): every chapter of ``_toc.yml`` at ``MINE_BUDGET=smoke`` on this
  machine's device (the chapters choose CUDA themselves through ``minelib.book.setup``), executed with
  ``book/regenerate.py``'s ``run_notebook`` into a temporary folder. Needs ``nbclient`` and ``ipykernel``
  (carry them as wheels); without them every chapter is recorded as skipped.

* ``staircase``: the MINE family's staircase (chapter "The MINE family") with a concatenated critic.
* ``stacked_mnist``: DCGAN against DCGAN + MINE on Stacked MNIST (chapter "GAN + MINE"), two seeds each,
  about four minutes. It needs the offline MNIST subset: carry the data folder (``$MINELIB_DATA``, e.g.
  ``MINELIB_DATA=.data``) with ``mnist-subset.npz`` and the cached classifier in it.
* ``bottleneck``: baseline, deep VIB and MINE-IB at the paper's sizes (chapter "The information bottleneck").
* ``ali_mnist``: ALI against ALI + MINE on MNIST (chapter "Reconstruction with ALI + MINE"); needs
  ``torchmetrics`` (carry its wheel). The three application sections need the offline MNIST subset.
* ``ksg_gpu``: ``ksg_mi_torch`` at N = 100,000, float32 with its exact re-check against float64, warm,
  with peak memory and a check that both equal ``ksg_mi`` (issue 22).
* ``throughput``, ``ensemble``, ``ksg``, ``accuracy``: the timing comparisons of
  :mod:`minelib.book.benchmarks` (training throughput against the batch size; an ensemble of N networks
  against N one-at-a-time runs; KSG against N and the dimension, on a GPU the exhaustive torch search;
  error against wall-clock time for MINE and KSG). On a CPU they use ``--threads`` threads (default: every
  core) and the results go to the CPU's own folder: run them here too, so the chapter can compare.

To add a section, write one function ``def name(ctx: Context) -> dict`` decorated with
``@section("name")``; its docstring's first line is its title. It returns ``{"rows": [...], ...}`` with
one row per item (each with a ``"status"``; ``"ok"`` when it worked, ``NOT_RUN`` when the budget ran
out before it), checks ``ctx.remaining()`` before starting each item and uses ``ctx.size(full, smoke)``
for its sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book" / "results" / "devices"
NOT_RUN = "not run (budget)"
FAILURES = ("failed", "timeout")
CHAPTER_TIMEOUT_S = 120.0  # one chapter at the smoke budget (the slowest takes ~30 s on 2 CPU cores)
SECTIONS: dict[str, Callable[[Context], dict]] = {}


@dataclass
class Context:
    """What a section gets: where to write, its time budget, the sizes to use and the chapters to run."""

    out: Path
    budget_s: float
    smoke: bool = False
    chapters: list[str] | None = None  # chapter names to run (None: every chapter)
    chapter_timeout_s: float = CHAPTER_TIMEOUT_S
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return max(0.0, self.budget_s - (time.monotonic() - self.started))

    def size(self, full, smoke):
        return smoke if self.smoke else full

    def deadline(self) -> float:
        """The :func:`time.monotonic` value at which the budget runs out."""
        return self.started + self.budget_s


def section(name: str):
    """Register ``fn`` as the section ``name``."""

    def register(fn):
        SECTIONS[name] = fn
        return fn

    return register


# ------------------------------------------------------------------------------------------ the machine


def git(*args: str) -> str | None:
    """The output of ``git args`` in the repository, or None (no git, or the copy is not a repository)."""
    try:
        run = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return run.stdout.strip() if run.returncode == 0 else None


def package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def device_record() -> dict:
    """What this machine is (no host name): :func:`minelib.book.timing.device_record` plus the packages and
    the code version."""
    from minelib.book.timing import device_record as library_record

    names = ("numpy", "scipy", "nbclient", "ipykernel", "ipywidgets")
    status = git("status", "--porcelain", "--untracked-files=no")
    code = hashlib.sha256()
    for path in sorted([*(ROOT / "minelib").rglob("*.py"), Path(__file__)]):
        code.update(path.read_bytes())
    return {
        **library_record(),
        "code_sha256": code.hexdigest(),  # the code that ran (minelib and this script), whatever git says
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "packages": {n: package_version(n) for n in names},
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
    }


def write_json(path: Path, record: dict) -> None:
    """Write ``record`` to ``path`` atomically: a temporary file in the same folder, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------------- the book's code


def load_regenerate() -> types.ModuleType:
    """``book/regenerate.py`` as a module. It imports PyYAML, which only its chapter list uses: where
    PyYAML is missing (the GPU machine), a placeholder lets it load and :func:`book_chapters` reads the
    table of contents itself."""
    placeholder = importlib.util.find_spec("yaml") is None
    if placeholder:
        sys.modules["yaml"] = types.ModuleType("yaml")
    try:
        spec = importlib.util.spec_from_file_location("regenerate", ROOT / "book" / "regenerate.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if placeholder:
            del sys.modules["yaml"]
    return module


def book_chapters(regenerate: types.ModuleType) -> list[Path]:
    """The notebooks of ``_toc.yml`` in reading order: ``regenerate.chapters()`` (or without PyYAML,
    :func:`toc_chapters`)."""
    return regenerate.chapters() if importlib.util.find_spec("yaml") is not None else toc_chapters()


def toc_chapters() -> list[Path]:
    """The notebooks of ``_toc.yml`` without PyYAML: its ``root:`` and ``file:`` lines, in order (the same
    depth-first order as ``regenerate.chapters()``)."""
    lines = (ROOT / "_toc.yml").read_text().splitlines()
    files = [m[1] for line in lines if (m := re.match(r"\s*(?:-\s*)?(?:root|file):\s*(\S+)", line))]
    return [ROOT / f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").exists()]


def child_environ() -> dict[str, str]:
    """The chapters' environment: smoke budget, and an absolute PYTHONPATH (their kernels start in book/)."""
    paths = [str(ROOT), *(str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    env = {k: v for k, v in os.environ.items() if k != "MINE_RESULTS_DIR"}  # smoke results: a temporary folder
    env.update(MINE_BUDGET="smoke", PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)))
    return env


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def stamp(executed: Path) -> str | None:
    """The first line the chapter printed (``minelib ... | device ...``), from its executed copy."""
    try:
        cells = json.loads(executed.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return None
    first = next((c for c in cells if c["cell_type"] == "code"), {"outputs": []})
    text = "".join("".join(o.get("text", "")) for o in first["outputs"])
    return text.splitlines()[0] if text else None


@contextlib.contextmanager
def forward_signals(regenerate):
    """On SIGINT/SIGTERM end the running chapter and its kernel (their own process group), then stop."""

    def stop(signum, frame):
        regenerate.stop_children(signum, frame)
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_chapter(regenerate, notebook: Path, folder: Path, timeout: float) -> dict:
    start = time.perf_counter()
    executed = folder / notebook.name
    run = regenerate.run_notebook(notebook, executed, env=child_environ(), timeout=timeout)
    row = {"chapter": notebook.stem, "seconds": round(time.perf_counter() - start, 2), "stamp": stamp(executed)}
    if run.returncode == 0:
        return {**row, "status": "ok"}
    status = "timeout" if "timed out after" in run.stderr[-200:] else "failed"
    return {**row, "status": status, "returncode": run.returncode, "error_tail": ANSI.sub("", run.stderr)[-3000:]}


# ------------------------------------------------------------------------------------------- sections


@section("rehearsal")
def rehearsal(ctx: Context) -> dict:
    """Colab GPU rehearsal

    Every chapter at the smoke budget on this machine's device, executed from the working tree.
    """
    regenerate = load_regenerate()
    notebooks = [nb for nb in book_chapters(regenerate) if ctx.chapters is None or nb.stem in ctx.chapters]
    missing = [name for name in ("nbclient", "ipykernel") if importlib.util.find_spec(name) is None]
    if missing:
        message = f"skipped: {', '.join(missing)} missing"
        print(f"rehearsal: {' and '.join(missing)} cannot be imported here; carry their wheels to run chapters.")
        return {"rows": [{"chapter": nb.stem, "status": message} for nb in notebooks], "message": message}
    rows = []
    with forward_signals(regenerate), tempfile.TemporaryDirectory(prefix="device-rehearsal-") as folder:
        for nb in notebooks:
            if ctx.remaining() < ctx.chapter_timeout_s:
                rows.append({"chapter": nb.stem, "status": NOT_RUN})
                continue
            print(f"rehearsal: {nb.stem} ...", flush=True)
            rows.append(run_chapter(regenerate, nb, Path(folder), ctx.chapter_timeout_s))
            print(f"rehearsal: {nb.stem} {rows[-1]['status']} in {rows[-1]['seconds']:.1f} s", flush=True)
    return {"rows": rows, "chapter_timeout_s": ctx.chapter_timeout_s, "env": {"MINE_BUDGET": "smoke"}}


def _device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _timing_record() -> dict:
    from minelib.book.timing import device_record

    return device_record(_device())


def _timing_section(ctx: Context, rows: list[dict]) -> dict:
    return {"rows": rows, "device_record": _timing_record(), "smoke": ctx.smoke}


@section("throughput")
def throughput(ctx: Context) -> dict:
    """MINE training throughput against the batch size

    Steps and pairs per second of one network, batch sizes 64 to 65,536 (comparison 1 of the timing chapter).
    """
    from minelib.book.benchmarks import training_throughput

    sizes = ctx.size([64, 256, 1024, 4096, 16_384, 65_536], [64, 256])
    rows = training_throughput(
        _device(), sizes, steps=ctx.size(200, 5), repeats=ctx.size(3, 1), deadline=ctx.deadline()
    )
    return _timing_section(ctx, rows)


@section("ensemble")
def ensemble(ctx: Context) -> dict:
    """An ensemble of N networks against N one-at-a-time runs

    N = 1 to 256 MINE networks trained in one batched pass, and N times one network alone (comparison 2).
    """
    from minelib.book.benchmarks import ensemble_speedup

    sizes = ctx.size([1, 4, 16, 64, 256], [1, 4])
    rows = ensemble_speedup(_device(), sizes, steps=ctx.size(300, 5), repeats=ctx.size(3, 1), deadline=ctx.deadline())
    return _timing_section(ctx, rows)


@section("ksg")
def ksg(ctx: Context) -> dict:
    """KSG against the number of samples and the dimension

    The exhaustive torch search on a GPU, the tree and blocked searches of ksg_mi on a CPU (comparison 3).
    """
    from minelib.book.benchmarks import ksg_times

    sizes = ctx.size([1000, 3000, 10_000, 30_000, 100_000], [300, 600])
    rows = ksg_times(_device(), sizes, ctx.size([1, 5, 10, 20], [1, 10]), deadline=ctx.deadline())
    return _timing_section(ctx, rows)


@section("ksg_gpu")
def ksg_gpu(ctx: Context) -> dict:
    """The exact KSG on this device: float32 with its float64 re-check against float64, warm

    At N = 100,000 and 1 or 10 dimensions per variable: one warm-up call, then the median of three of
    ``ksg_mi_torch`` in each precision, the peak device memory, and whether both equal ``ksg_mi`` on the
    CPU (compared on the first 20,000 pairs, where the CPU's search takes seconds). Issue 22's gate: at
    N = 1e5, d = 10, at least 20x the 2-core CPU's ``ksg_mi``.
    """
    import numpy as np
    import torch

    import minelib as m
    from minelib.book.timing import time_call
    from minelib.ksg_torch import ksg_mi_torch

    device, rows = _device(), []
    n, check_n = ctx.size(100_000, 600), ctx.size(20_000, 300)
    for dim in ctx.size([1, 10], [1, 3]):
        x, z = m.sample_correlated_gaussians(n, dim, 0.5, seed=1)
        x, z = x.astype(np.float64), z.astype(np.float64)
        exact = m.ksg_mi(x[:check_n], z[:check_n], workers=-1)
        for precision in ("mixed", "float64"):
            if ctx.remaining() < 30 and not ctx.smoke:
                rows.append({"n": n, "dim": dim, "precision": precision, "status": NOT_RUN})
                continue
            same = ksg_mi_torch(x[:check_n], z[:check_n], device=device, precision=precision) == exact
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            out = []

            def call(x=x, z=z, precision=precision, out=out):
                out.append(ksg_mi_torch(x, z, device=device, precision=precision))

            t = time_call(call, device, warmup=1, repeats=ctx.size(3, 1))
            peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
            rows.append({"n": n, "dim": dim, "precision": precision, "median_s": t.median, "q25_s": t.q25,
                         "q75_s": t.q75, "estimate": out[-1], "equals_ksg_mi_on_check": bool(same),
                         "check_n": check_n, "peak_mib": peak, "status": "ok"})  # fmt: skip
            print(f"ksg_gpu: n={n} d={dim} {precision}: {t.median:.3f} s, equal to ksg_mi: {same}", flush=True)
    return _timing_section(ctx, rows)


@section("accuracy")
def accuracy(ctx: Context) -> dict:
    """Time to accuracy on correlated Gaussians

    Error against wall-clock seconds for MINE and KSG at d = 1, 5, 20 per variable (comparison 4).
    """
    from minelib.book.benchmarks import time_to_accuracy

    rows = time_to_accuracy(
        _device(),
        ctx.size([1, 5, 20], [1]),
        mine_steps=ctx.size((100, 300, 1000, 3000), (5, 10)),
        ksg_sizes=ctx.size((1000, 3000, 10_000, 30_000), (300, 600)),
        n=ctx.size(20_000, 2000),
        deadline=ctx.deadline(),
    )
    return _timing_section(ctx, rows)


@section("staircase")
def staircase_section(ctx: Context) -> dict:
    """The staircase with the concatenated critic

    Every bound of the MINE family (d = 20, batch 64, 2 to 10 nats) with a concatenated critic on all b^2
    pairs: the chapter "The MINE family" runs the separable critic on the CPU. Steps per level shrink to fit
    the budget (measured on 20 steps first), and the row says so.
    """
    from minelib.staircase import level_summary, staircase

    levels = (2.0, 4.0, 6.0, 8.0, 10.0)
    options = dict(levels=levels, seeds=ctx.size(3, 1), critic="concat", device=_device(), seed=0)
    if ctx.smoke:
        options.update(hidden=(16,), batch_size=16, dim=4)
    start = time.perf_counter()
    staircase(**{**options, "levels": (2.0,)}, steps_per_level=20)
    per_step = (time.perf_counter() - start) / 20
    wanted = ctx.size(4000, 5)
    fits = int(0.8 * ctx.remaining() / per_step / len(levels))
    steps = min(wanted, fits)
    if steps < min(10, wanted):
        return {"rows": [{"name": "staircase", "status": NOT_RUN, "seconds_per_step": per_step}]}
    start = time.perf_counter()
    result = staircase(**options, steps_per_level=steps)
    rows = [{**row, "status": "ok"} for row in level_summary(result, last=max(1, steps // 4))]
    return {
        "rows": rows,
        "steps_per_level": steps,
        "steps_per_level_wanted": wanted,
        "seconds": time.perf_counter() - start,
        "seconds_per_step": per_step,
        "settings": {k: result[k] for k in ("batch_size", "dim", "critic", "hidden", "lr", "tau", "ema_rate")},
        "device_record": _timing_record(),
    }


APPLICATION_SECONDS = 240.0  # each application section's share of the budget: about four minutes on an H200


def _fitting(ctx: Context, per_unit_s: float, runs: int, wanted: int, spent_s: float, overhead_s: float = 0.0) -> int:
    """Steps (or epochs) per run that fit 85% of the section's share of the budget, at most ``wanted``: ``runs``
    runs of ``per_unit_s`` seconds a unit plus ``overhead_s`` each, after ``spent_s`` already spent."""
    budget = min(ctx.remaining() + spent_s, ctx.size(APPLICATION_SECONDS, 60.0))
    return min(wanted, int((0.85 * budget - spent_s - runs * overhead_s) / (runs * per_unit_s)))


def _probe(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _finished(rows: list[dict], unit: str, count: int, wanted: int, per_unit_s: float, base, fields, **extra) -> dict:
    """The record of an application section that ran: its rows, ``count`` steps or epochs (``unit``) of the
    ``wanted``, the measured seconds per unit, the settings ``fields`` of ``base``, and the device."""
    return {
        "rows": [{**row, "name": row["variant"], "status": "ok"} for row in rows],
        unit: count,
        f"{unit}_wanted": wanted,
        f"seconds_per_{unit[:-1]}": per_unit_s,
        "settings": {k: getattr(base, k) for k in fields},
        **extra,
        "device_record": _timing_record(),
    }


@section("stacked_mnist")
def stacked_mnist_section(ctx: Context) -> dict:
    """DCGAN against DCGAN + MINE on Stacked MNIST

    Two seeds of each on the offline MNIST subset (``$MINELIB_DATA``: carry ``mnist-subset.npz`` and the cached
    classifier), the counter checked on 26,000 real stacks first, then modes and KL of 26,000 generated stacks
    per run. Steps shrink to fit about four minutes (measured on 20 steps first); the record says so.
    """
    import dataclasses

    from minelib.applications.classifier import classifier
    from minelib.applications.dcgan import dcgan_networks
    from minelib.applications.gan import train_gan
    from minelib.applications.stacked import stacked_sampler
    from minelib.book.stacked_gan import BASE, VARIANTS, real_stack_modes, stacked_experiment
    from minelib.mnist import load_mnist

    device, seeds, n_eval = _device(), ctx.size(2, 1), ctx.size(26_000, 300)
    base = dataclasses.replace(BASE, hidden=(ctx.size(64, 8),))
    start = time.perf_counter()
    classifier("subset", device=device)  # trained once (or loaded): not a cost of every run
    count_s = _probe(lambda: real_stack_modes("subset", n_eval, device=device))
    real = real_stack_modes("subset", n_eval, device=device)
    sampler = stacked_sampler(load_mnist("subset", "train"))

    def steps_of(variant: dict, steps: int):
        config = dataclasses.replace(base, steps=steps, **variant)
        return lambda: train_gan(sampler, config, device=device, networks=dcgan_networks)

    _probe(steps_of({}, 5))  # warm-up: the first steps on a GPU pay one-off start-up costs
    per_step = sum(_probe(steps_of(v, 20)) / 20 for v in VARIANTS.values()) / len(VARIANTS)  # mean of the variants
    wanted = ctx.size(10_000, 5)
    steps = _fitting(ctx, per_step, len(VARIANTS) * seeds, wanted, time.perf_counter() - start, count_s)
    if steps < min(200, wanted):
        return {"rows": [{"name": "stacked_mnist", "status": NOT_RUN, "seconds_per_step": per_step}], "real": real}
    out = stacked_experiment(seeds=seeds, steps=steps, base=base, n_eval=n_eval, device=device, progress=False)
    fields = ("batch_size", "lr", "critic_lr", "code_dim", "code_groups", "noise_dim", "hidden", "beta", "clip")
    return _finished(out["rows"], "steps", steps, wanted, per_step, base, fields, real=real)


@section("bottleneck")
def bottleneck_section(ctx: Context) -> dict:
    """The information bottleneck at the paper's sizes

    Baseline, deep VIB and MINE-IB with deep VIB's protocol (encoder 784-1024-1024-2x256, Adam 1e-4, beta 1e-3,
    up to 200 epochs) on the offline MNIST subset, two seeds each; epochs shrink to fit about four minutes
    (measured on one epoch of the slowest method first).
    """
    import dataclasses

    from minelib.applications.bottleneck import IBConfig, train_ib
    from minelib.book.ib import VARIANTS, ib_experiment
    from minelib.mnist import load_mnist

    device, seeds = _device(), ctx.size(2, 1)
    base = IBConfig() if not ctx.smoke else IBConfig(hidden=(16,), z_dim=4, batch_size=500)
    start = time.perf_counter()
    train = load_mnist("subset", "train")
    per_epoch = _probe(lambda: train_ib(train, dataclasses.replace(base, epochs=1, method="mine"), device=device))
    wanted = ctx.size(200, 1)
    epochs = _fitting(ctx, per_epoch, len(VARIANTS) * seeds, wanted, time.perf_counter() - start)
    if epochs < min(5, wanted):
        return {"rows": [{"name": "bottleneck", "status": NOT_RUN, "seconds_per_epoch": per_epoch}]}
    out = ib_experiment(VARIANTS, seeds=seeds, epochs=epochs, base=base, device=device, progress=False)
    fields = ("hidden", "z_dim", "lr", "beta", "batch_size", "polyak")
    return _finished(out["rows"], "epochs", epochs, wanted, per_epoch, base, fields)


@section("ali_mnist")
def ali_mnist_section(ctx: Context) -> dict:
    """ALI against ALI + MINE on MNIST

    Two seeds of each on the offline MNIST subset with the chapter's networks, reconstructions of 2,000 test
    digits scored (error, accuracy by the shared classifier, MS-SSIM); steps shrink to fit about four minutes
    (measured on 20 steps first). Needs ``torchmetrics`` for MS-SSIM (carry its wheel).
    """
    import dataclasses

    from minelib.applications.ali import mnist_sampler, train_ali
    from minelib.book.ali_runs import MNIST_BASE as base
    from minelib.book.ali_runs import VARIANTS, ali_experiment
    from minelib.mnist import load_mnist

    device, seeds = _device(), ctx.size(2, 1)
    if ctx.smoke:
        base = dataclasses.replace(base, hidden=(16,), critic_hidden=(16,), z_dim=4)
    start = time.perf_counter()
    sampler = mnist_sampler(load_mnist("subset", "train"))
    per_step = _probe(lambda: train_ali(sampler, dataclasses.replace(base, steps=20), device=device)) / 20
    wanted = ctx.size(30_000, 5)
    steps = _fitting(ctx, per_step, len(VARIANTS) * seeds, wanted, time.perf_counter() - start)
    if steps < min(500, wanted):
        return {"rows": [{"name": "ali_mnist", "status": NOT_RUN, "seconds_per_step": per_step}]}
    options = dict(seeds=seeds, steps=steps, base=base, n_eval=ctx.size(2000, 200), device=device, progress=False)
    out = ali_experiment("MNIST", VARIANTS, **options)
    fields = ("hidden", "z_dim", "lr", "beta", "batch_size", "clip")
    return _finished(out["rows"], "steps", steps, wanted, per_step, base, fields)


# --------------------------------------------------------------------------------------------- driver


def run_section(name: str, ctx: Context) -> dict:
    """Run one section, timed; an exception is recorded (status ``error``) instead of stopping the others."""
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    start = time.perf_counter()
    record = {
        "section": name,
        "title": (SECTIONS[name].__doc__ or name).splitlines()[0].strip(),
        "started_utc": started,
    }
    record["budget_s"] = round(ctx.remaining(), 1)
    try:
        result = SECTIONS[name](ctx)
        statuses = [row["status"] for row in result.get("rows", [])]
        record["status"] = "partial" if NOT_RUN in statuses else "done"
        record.update(result)
    except Exception:
        record.update(status="error", traceback=traceback.format_exc()[-5000:])
        print(f"{name}: internal error\n{record['traceback']}", file=sys.stderr)
    record["seconds"] = round(time.perf_counter() - start, 2)
    return record


def markdown_table(records: list[dict]) -> str:
    lines = ["| section | item | status | seconds |", "|---|---|---|---|"]
    for rec in records:
        lines.append(f"| {rec['section']} | (section) | {rec['status']} | {rec['seconds']:.1f} |")
        for row in rec.get("rows", []):
            keys = ("chapter", "name", "method", "batch_size", "n_models", "n", "dim", "budget")
            item = row.get("chapter") or ", ".join(f"{k} {row[k]}" for k in keys if k in row)
            status = f"**{row['status'].upper()}**" if row["status"] in FAILURES else row["status"]
            seconds = f"{row['seconds']:.1f}" if "seconds" in row else "-"
            lines.append(f"| {rec['section']} | {item} | {status} | {seconds} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma list of {sorted(SECTIONS)}")
    parser.add_argument("--budget-s", type=float, default=300.0, help="total time cap in seconds")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder (one subfolder per device)")
    parser.add_argument("--chapters", default=None, help="comma list of chapter names for the rehearsal")
    parser.add_argument("--chapter-timeout-s", type=float, default=CHAPTER_TIMEOUT_S)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (the CPU test)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads on a CPU (default: all)")
    args = parser.parse_args(argv)
    args.sections = [s for s in args.sections.split(",") if s]
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    if args.chapters is not None:
        args.chapters = [c for c in args.chapters.split(",") if c]
        known = {nb.stem for nb in book_chapters(load_regenerate())}
        if set(args.chapters) - known:
            parser.error(f"unknown chapter(s): {', '.join(sorted(set(args.chapters) - known))}")
    return args


def main(argv: list[str] | None = None) -> int:
    import torch

    args = parse_args(argv)
    if not torch.cuda.is_available():
        torch.set_num_threads(args.threads)
    record = device_record()
    from minelib.book.timing import device_slug

    out = args.out.resolve() / device_slug(record["device"])
    ctx = Context(out, args.budget_s, args.smoke, args.chapters, args.chapter_timeout_s)
    write_json(ctx.out / "device.json", record)
    print(f"device: {record['device']} | torch {record['torch']} | CUDA {record['cuda']} | results in {ctx.out}")
    records = []
    for name in args.sections:
        records.append(run_section(name, ctx))
        write_json(ctx.out / f"{name}.json", {"device": record["device"], **records[-1]})
    print(markdown_table(records))
    rows = [(r["section"], row) for r in records for row in r.get("rows", [])]
    failed = [f"{name}/{row.get('chapter') or row.get('name')}" for name, row in rows if row["status"] in FAILURES]
    if failed:
        print(f"FAILED (results, not script errors): {', '.join(failed)}")
    return 1 if any(r["status"] == "error" for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
