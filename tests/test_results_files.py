"""Every stored results file ``book/results/*.json`` is complete, full-budget, and agrees with the numbers
its chapter prints in the stored notebook.

Each file needs an entry in :data:`SCHEMAS`: the chapter that writes it, the fields and types of its records,
the fields that identify a record, and a checker that recomputes, from the JSON alone, what the chapter
prints (parsed from the notebook's stored stdout by the printed format, to the printed precision). A new
results file without an entry fails :func:`test_every_results_file_has_a_schema`.

The checkers take ``(json text, notebook)`` and raise ``AssertionError`` on any disagreement, so the tests
at the bottom feed them corrupted copies (truncated, an estimate changed, a record dropped, ...) and
require that they fail. No kernel runs and ``minelib`` is not imported: this only reads files.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
RESULTS = BOOK / "results"
NUMBER = (int, float)
OPTIONAL_INT = (int, type(None))
OPTIONAL_NUMBER = (int, float, type(None))


# --- generic checks -------------------------------------------------------------------------------------


def load_records(text: str, schema: Schema) -> list[dict]:
    """Parse ``text`` strictly and check the records against ``schema``: a non-empty list of objects, each
    with exactly the registered fields and types, finite numbers, budget ``full``, no duplicate record."""

    def no_constant(name):  # json.loads accepts NaN and Infinity unless told not to
        raise AssertionError(f"non-finite number {name} in the results file")

    try:
        records = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as e:
        raise AssertionError(f"the results file is not valid JSON: {e}") from e
    assert isinstance(records, list) and records, "the results file must be a non-empty list of records"
    for i, record in enumerate(records):
        assert isinstance(record, dict), f"record {i} is not an object: {record!r}"
        assert set(record) == set(schema.fields), (
            f"record {i} has fields {sorted(record)}, the schema {sorted(schema.fields)}: "
            "update the schema in tests/test_results_files.py if the chapter changed"
        )
        for name, types in schema.fields.items():
            value = record[name]
            ok = isinstance(value, types) and (types is bool or not isinstance(value, bool))
            assert ok, f"record {i}: {name}={value!r}"
            if isinstance(value, float):
                assert math.isfinite(value), f"record {i}: {name}={value!r} is not finite"
        assert record["budget"] == "full", f"record {i} comes from budget {record['budget']!r}, not full"
    keys = [tuple(r[k] for k in schema.key) for r in records]
    duplicates = {k for k in keys if keys.count(k) > 1}
    assert not duplicates, f"duplicate records for {schema.key}: {sorted(duplicates)[:3]}"
    if schema.complete_grid:
        axes = [sorted({k[i] for k in keys}, key=repr) for i in range(len(schema.key))]
        missing = set(itertools.product(*axes)) - set(keys)
        assert not missing, f"incomplete grid over {schema.key}: missing {sorted(missing, key=repr)[:3]}"
    return records


def stdout_of(nb) -> str:
    """Everything the stored notebook printed to stdout, cells in order."""
    return "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream" and o.get("name") == "stdout"
    )


def find(pattern: str, text: str, what: str) -> re.Match:
    match = re.search(pattern, text, re.M)
    assert match, f"the stored notebook does not print {what} (pattern {pattern!r}): update the checker"
    return match


def agree(printed: str, value: float, what: str) -> None:
    """``printed`` (a decimal as the chapter printed it) is ``value`` rounded to the printed precision."""
    decimals = len(printed.partition(".")[2])
    assert abs(float(printed) - value) <= 0.5 * 10.0**-decimals + 1e-9, (
        f"{what}: the notebook prints {printed}, the results file gives {value:.{decimals + 3}f}"
    )


def matching(printed: str, values, what: str) -> float:
    """The value of ``values`` that ``printed`` shows: the closest, within the printed precision."""
    closest = min(values, key=lambda v: abs(float(printed) - v))
    agree(printed, closest, what)
    return closest


def check_stamp(records: list[dict], out: str) -> None:
    """The chapter's stamp (first line) says budget full and the device the records name."""
    stamp = find(r"^minelib \S+ \| budget (\S+) \| device (\S+) ", out, "the set-up stamp")
    assert stamp[1] == "full", f"the stored notebook ran at budget {stamp[1]}"
    devices = {r["device"] for r in records}
    assert devices == {stamp[2]}, f"records from devices {devices}, the notebook ran on {stamp[2]}"


def stamped_records(text: str, nb, name: str) -> tuple[list[dict], str]:
    """The checked records of the results file ``name`` and the notebook's stdout, its stamp checked against them."""
    records = load_records(text, SCHEMAS[name])
    out = stdout_of(nb)
    check_stamp(records, out)
    return records, out


def mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def sample_sd(values: list[float]) -> float:
    """The standard deviation with ``n - 1`` in the denominator (numpy's ``ddof=1``), as the chapters print it."""
    m = mean(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1))


# --- gaussians.json (book/gaussians.ipynb) ----------------------------------------------------------------

GAUSSIAN_COLUMNS = {"MINE": "mine", "MINE-f": "mine-f", "biased": "mine-biased", "KSG": "ksg"}


def check_gaussians(text: str, nb) -> None:
    records, out = stamped_records(text, nb, "gaussians.json")

    written = find(r"^(\d+) estimates written to (\S+)$", out, "the record count")
    assert int(written[1]) == len(records), f"the notebook wrote {written[1]} records, the file has {len(records)}"
    assert Path(written[2]).name == "gaussians.json"

    setting = find(r"^n = (\d+) samples per data set, seeds = (\d+), MINE settings (\{.*\})$", out, "the settings")
    n, seeds, settings = int(setting[1]), int(setting[2]), ast.literal_eval(setting[3])
    n_ksg = ast.literal_eval(find(r"^KSG with k = \d+ on the first (\{.*\}) samples", out, "the KSG sizes")[1])
    for r in records:
        if r["estimator"] == "ksg":
            assert (r["n"], r["steps"], r["batch_size"]) == (n_ksg[r["d"]], None, None), r
        else:
            assert (r["n"], r["steps"], r["batch_size"]) == (n, settings["steps"], settings["batch_size"]), r
    assert {r["seed"] for r in records} == set(range(seeds)), f"the notebook prints seeds = {seeds}"

    groups = defaultdict(list)
    truths = defaultdict(set)
    for r in records:
        groups[r["estimator"], r["d"], r["rho"]].append(r["estimate"])
        truths[r["d"], r["rho"]].add(r["truth"])
    for (d, rho), truth in truths.items():
        assert len(truth) == 1, f"d={d}, rho={rho}: estimators disagree on the truth {truth}"
        exact = -d / 2 * math.log1p(-rho * rho)  # d independent pairs of correlation rho
        assert math.isclose(next(iter(truth)), exact, rel_tol=1e-9, abs_tol=1e-12), f"d={d}, rho={rho}: wrong truth"

    tables = re.findall(
        r"^d = (\d+): estimates in nats \(mean over (\d+) seed\(s\)\)\n(.*\|.*)\n((?:.*\|.*\n?)+)", out, re.M
    )
    assert tables, "the stored notebook prints no 'd = ...: estimates in nats' table: update the checker"
    assert sorted(int(t[0]) for t in tables) == sorted({r["d"] for r in records}), "a table per dimension"
    for d, n_seeds, header, body in tables:
        d = int(d)
        columns = [c.strip() for c in header.split("|")]
        assert columns[:2] == ["rho", "truth"] and columns[-1] == "closer to truth", header
        estimators = [GAUSSIAN_COLUMNS[c] for c in columns[2:-1]]
        assert sorted(estimators) == sorted({r["estimator"] for r in records}), f"d = {d}: columns {columns}"
        rows = [[cell.strip() for cell in line.split("|")] for line in body.strip("\n").split("\n")]
        rhos = {rho for (d_, rho) in truths if d_ == d}
        printed = [matching(row[0], rhos, f"d = {d}, rho") for row in rows]
        assert sorted(printed) == sorted(rhos), f"d = {d}: the table's rho values differ from the file's"
        for row, rho in zip(rows, printed):
            truth = next(iter(truths[d, rho]))
            agree(row[1], truth, f"d = {d}, rho = {rho}, truth")
            means = {}
            for estimator, cell in zip(estimators, row[2:-1]):
                values = groups[estimator, d, rho]
                assert len(values) == int(n_seeds), f"d = {d}, rho = {rho}, {estimator}: {len(values)} seeds"
                means[estimator] = mean(values)
                agree(cell, means[estimator], f"d = {d}, rho = {rho}, {estimator}")
            closer = "MINE" if abs(means["mine"] - truth) < abs(means["ksg"] - truth) else "KSG"
            assert row[-1] == closer, f"d = {d}, rho = {rho}: the notebook says {row[-1]} is closer, not {closer}"


# --- nonlinear.json (book/nonlinear.ipynb) ----------------------------------------------------------------


def check_nonlinear(text: str, nb) -> None:
    records, out = stamped_records(text, nb, "nonlinear.json")

    written = find(r"^(\d+) values written to (\S+) \((\d+) samples, (\d+) seed\(s\), (\{.*\})\)$", out, "the count")
    assert int(written[1]) == len(records), f"the notebook wrote {written[1]} records, the file has {len(records)}"
    assert Path(written[2]).name == "nonlinear.json"
    n, seeds, settings = int(written[3]), int(written[4]), ast.literal_eval(written[5])
    assert all(r["n"] == n and r["steps"] == settings["steps"] for r in records), "n or steps differ"
    assert {r["seed"] for r in records} == set(range(seeds)), f"the notebook prints {seeds} seed(s)"
    assert all(0 <= r["estimate"] <= 1 for r in records if r["estimator"] == "pearson_r2"), "r² outside [0, 1]"

    table = find(r"^exact I\(X;Y\) in nats; rows: sigma, columns: (\[.*\])\n((?:sigma = .*\n?)+)", out, "exact MI")
    functions = ast.literal_eval(table[1])
    assert sorted(functions) == sorted({r["f"] for r in records}), f"functions {functions}"
    truth = {}
    for r in records:
        assert truth.setdefault((r["f"], r["sigma"]), r["truth"]) == r["truth"], f"truths differ: {r}"
    rows = re.findall(r"^sigma = *(\S+): +(.*)$", table[2], re.M)
    sigmas = {r["sigma"] for r in records}
    printed = [matching(s, sigmas, "sigma") for s, _ in rows]
    assert sorted(printed) == sorted(sigmas), "one row of exact MI per sigma"
    for sigma, (_, cells) in zip(printed, rows):
        cells = cells.split()
        assert len(cells) == len(functions), f"sigma = {sigma}: {cells}"
        for f, cell in zip(functions, cells):
            agree(cell, truth[f, sigma], f"exact MI, f = {f}, sigma = {sigma}")

    def largest_error(estimator: str) -> float:
        estimates = defaultdict(list)
        for r in records:
            if r["estimator"] == estimator:
                estimates[r["f"], r["sigma"]].append(r["estimate"])
        assert set(estimates) == set(truth), f"{estimator}: not every (f, sigma)"
        return max(abs(mean(v) - truth[key]) for key, v in estimates.items())

    worst = find(
        r"^largest \|MINE - exact\| over the grid: (\S+) nats; largest \|KSG - exact\|: (\S+) nats$", out, "errors"
    )
    agree(worst[1], largest_error("mine"), "largest |MINE - exact|")
    agree(worst[2], largest_error("ksg"), "largest |KSG - exact|")


# --- robustness.json (book/robustness.ipynb) --------------------------------------------------------------

ROBUSTNESS_COLUMNS = [
    ("mine", "none"),
    ("mine", "standardize"),
    ("mine", "copula"),
    ("ksg", "standardize"),
    ("ksg", "copula"),
]


def check_robustness(text: str, nb) -> None:
    records, out = stamped_records(text, nb, "robustness.json")
    written = find(
        r"^(\d+) estimates written to (\S+) \(5,000 samples, (\d+) seed\(s\), (\d+) steps\)$", out, "the count"
    )
    assert int(written[1]) == len(records), f"the notebook wrote {written[1]} records, the file has {len(records)}"
    assert Path(written[2]).name == "robustness.json"
    assert {r["seed"] for r in records} == set(range(int(written[3]))), f"the notebook prints {written[3]} seed(s)"
    assert all(r["steps"] == int(written[4]) and r["n"] == 5000 for r in records), "steps or n differ"
    blocks = re.findall(r"^(\d+) \+ (\d+) dimensions\n((?:  nu = .*\n?)+)", out, re.M)
    shapes = {(r["x_dim"], r["z_dim"]) for r in records}
    assert {(int(a), int(b)) for a, b, _ in blocks} == shapes, f"one table per shape {shapes}"
    for dx, dz, rows in blocks:
        for nu, cells, exact in re.findall(r"^  nu = +(\d+): (.*)\| (\S+)$", rows, re.M):
            chosen = [r for r in records if (r["x_dim"], r["z_dim"], r["nu"]) == (int(dx), int(dz), int(nu))]
            assert chosen, f"no records for {dx} + {dz} dimensions, nu = {nu}"
            agree(exact, chosen[0]["truth"], f"exact MI, nu = {nu}")
            for cell, (estimator, prep) in zip(cells.split(), ROBUSTNESS_COLUMNS, strict=True):
                values = [r["estimate"] for r in chosen if (r["estimator"], r["preprocess"]) == (estimator, prep)]
                agree(cell, mean(values), f"{estimator}, {prep}, {dx} + {dz} dimensions, nu = {nu}")


# --- staircase.json (book/family.ipynb) -------------------------------------------------------------------


def check_staircase(text: str, nb) -> None:
    records, out = stamped_records(text, nb, "staircase.json")
    written = find(
        r"^(\d+) level summaries written to (\S+) \((\d+) steps per level, (\d+) seed\(s\), batch (\d+), d = (\d+)\)$",
        out,
        "the count",
    )
    assert int(written[1]) == len(records), f"the notebook wrote {written[1]} records, the file has {len(records)}"
    assert Path(written[2]).name == "staircase.json"
    settings = (int(written[3]), int(written[4]), int(written[5]), int(written[6]))
    assert all((r["steps_per_level"], r["seeds"], r["batch_size"], r["dim"]) == settings for r in records), settings
    levels = sorted({r["truth"] for r in records})
    rows = re.findall(r"^(\w+) +\| (.*)$", out, re.M)
    printed = {name: cells for name, cells in rows if name in {r["bound"] for r in records}}
    assert set(printed) == {r["bound"] for r in records}, f"a table row per bound, got {sorted(printed)}"
    for bound, cells in printed.items():
        values = re.findall(r"(-?[\d.]+) ± ([\d.]+) \[ *([-\d.e+]+)\]", cells)
        assert len(values) == len(levels), f"{bound}: {cells}"
        for level, (mean_, sd, var) in zip(levels, values):
            (r,) = [r for r in records if r["bound"] == bound and r["truth"] == level]
            agree(mean_, r["mean"], f"{bound} at {level} nats")
            agree(sd, r["seed_sd"], f"{bound} seed s.d. at {level} nats")
            rel = abs(float(var) - r["step_variance"]) / max(abs(r["step_variance"]), 1e-12)
            assert rel < 0.06, f"{bound} step variance at {level}: printed {var}, file {r['step_variance']}"


# --- hard_cases.json (book/hard_cases.ipynb) --------------------------------------------------------------

HARD_PREPROCESS = ("none", "standardize", "copula")


def check_hard_cases(text: str, nb) -> None:
    records, out = stamped_records(text, nb, "hard_cases.json")
    written = find(
        r"^(\d+) estimates written to (\S+) \(([\d,]+) samples, (\d+) seed\(s\), (\d+) steps, batch (\d+)\)$",
        out,
        "the count",
    )
    assert int(written[1]) == len(records), f"the notebook wrote {written[1]} records, the file has {len(records)}"
    assert written[2] == "hard_cases.json"
    assert {r["seed"] for r in records} == set(range(int(written[4]))), f"the notebook prints {written[4]} seed(s)"
    assert all(r["n"] == int(written[3].replace(",", "")) for r in records), "n differs"
    for r in records:
        neural = r["method"] != "ksg"
        assert (r["steps"], r["batch_size"]) == ((int(written[5]), int(written[6])) if neural else (None, None)), r
    listed = re.findall(r"^([\w-]+) +\| +\d+ \+ \d+ +\| +([\d.]+) \|", out, re.M)
    assert {task for task, _ in listed} == {r["task"] for r in records}, "the task list names every task"
    for task, truth in listed:
        agree(truth, next(r["truth"] for r in records if r["task"] == task), f"{task}: exact MI in the task list")
    blocks = re.findall(r"^([\w-]+): .*; true MI (\S+) nats\n  method .*\n((?:  [\w-]+ +\| .*\n?)+)", out, re.M)
    assert {b[0] for b in blocks} == {r["task"] for r in records}, "one table per task"
    for task, truth, rows in blocks:
        chosen = [r for r in records if r["task"] == task]
        agree(truth, chosen[0]["truth"], f"{task}: exact MI")
        printed = re.findall(r"^  ([\w-]+) +\| (.*)$", rows, re.M)
        assert {m for m, _ in printed} == {r["method"] for r in chosen}, f"{task}: a row per method"
        for method, cells in printed:
            values = re.findall(r"(-?[\d.]+|nan) ± +([\d.]+|nan)(\*?)", cells)
            assert len(values) == len(HARD_PREPROCESS), f"{task}, {method}: {cells}"
            for pre, (mean_, sd, star) in zip(HARD_PREPROCESS, values):
                runs = [r for r in chosen if (r["method"], r["preprocess"]) == (method, pre)]
                estimates = [r["estimate"] for r in runs]
                assert {r["warned"] for r in runs} == {star == "*"}, f"{task}, {method}, {pre}: warning mark"
                if None in estimates:
                    assert mean_ == "nan", f"{task}, {method}, {pre}: a diverged seed prints nan"
                    continue
                agree(mean_, mean(estimates), f"{task}, {method}, {pre}")
                agree(sd, sample_sd(estimates), f"{task}, {method}, {pre}: s.d. over seeds")


# --- gan_toy.json (book/gan.ipynb) --------------------------------------------------------------------------


def check_gan_toy(text: str, nb) -> None:
    records, out = stamped_records(text, nb, "gan_toy.json")
    written = find(
        r"^(\d+) runs written to (\S+) \((\d+) seed\(s\), (\d+) steps, 2,500 samples each\)$", out, "the count"
    )
    assert int(written[1]) == len(records), f"the notebook wrote {written[1]} records, the file has {len(records)}"
    assert written[2] == "gan_toy.json"
    assert {r["seed"] for r in records} == set(range(int(written[3]))), f"the notebook prints {written[3]} seed(s)"
    assert all(r["steps"] == int(written[4]) and r["n_modes"] == 25 for r in records), "steps or modes differ"
    blocks = re.findall(
        r"^(.+?) \((?:of 25 modes|GAN \+ MINE with one change)\)\n  variant .*\n((?:  .+ \| .*\n?)+)", out, re.M
    )
    assert len(blocks) == len({(r["experiment"], r["data"]) for r in records}), "one table per experiment and data set"
    for title, rows in blocks:
        experiment = "ablation" if title.startswith("ablation") else "main"
        data = "25 Gaussians" if experiment == "ablation" else title
        chosen = [r for r in records if (r["experiment"], r["data"]) == (experiment, data)]
        assert chosen, f"no records for {title}"
        printed = re.findall(r"^  (.+?) +\| ([\d ]+?) +\| ([\d. ]+?) +\| (.*)$", rows, re.M)
        assert {v for v, *_ in printed} == {r["variant"] for r in chosen}, f"{title}: a row per variant"
        for variant, modes, quality, kl in printed:
            runs = sorted((r for r in chosen if r["variant"] == variant), key=lambda r: r["seed"])
            assert [r["seed"] for r in runs] == list(range(int(written[3]))), f"{title}, {variant}: seeds"
            assert [int(m) for m in modes.split()] == [r["modes"] for r in runs], f"{title}, {variant}: modes"
            for cell, r in zip(quality.split(), runs, strict=True):
                agree(cell, r["high_quality"], f"{title}, {variant}, seed {r['seed']}: high quality")
            for cell, r in zip(kl.split(), runs, strict=True):
                if cell == "inf":
                    assert r["reverse_kl"] is None, f"{title}, {variant}: reverse KL"
                else:
                    agree(cell, r["reverse_kl"], f"{title}, {variant}, seed {r['seed']}: reverse KL")


# --- stacked_mnist.json (book/gan.ipynb) --------------------------------------------------------------------


def check_stacked_mnist(text: str, nb) -> None:
    records, out = stamped_records(text, nb, "stacked_mnist.json")
    head = find(
        r"^Stacked MNIST on (\w+): 1 seed, (\d+) steps of 64 stacks per run, ([\d,]+) generated stacks counted "
        r"\((\d+) rows written to (\S+)\)$",
        out,
        "the Stacked MNIST header",
    )
    assert int(head[4]) == len(records) and head[5] == "stacked_mnist.json", "rows written"
    assert all(r["n_modes"] == 1000 and r["seed"] == 0 for r in records), "1,000 modes, seed 0"
    real = [r for r in records if r["steps"] is None]
    runs = [r for r in records if r["steps"] is not None]
    assert len(real) == 1 and {r["variant"] for r in runs} == {"DCGAN", "DCGAN + MINE"}, "the real row and two runs"
    assert all(r["steps"] == int(head[2]) and r["n_eval"] == int(head[3].replace(",", "")) for r in runs)
    counter = find(
        r"^counter on ([\d,]+) real stacks .*\): (\d+) modes, KL ([\d.]+), confident ([\d.]+);", out, "the counter"
    )
    assert int(counter[1].replace(",", "")) == real[0]["n_eval"] and int(counter[2]) == real[0]["modes"]
    agree(counter[3], real[0]["kl"], "the counter's KL")
    agree(counter[4], real[0]["confident"], "the counter's confident share")
    table = re.findall(r"^  (.+?) +\| +(\d+) \| +([\d.]+) \| +([\d.]+) \| +(\S+) \| +(\S+)$", out, re.M)
    table = [row for row in table if row[0] in {r["variant"] for r in records}]
    assert len(table) == len(records), f"the table has {len(table)} rows, the file {len(records)}"
    for (variant, modes, kl, confident, mi, _), r in zip(table, records, strict=True):
        assert variant == r["variant"] and int(modes) == r["modes"], f"{variant}: modes"
        agree(kl, r["kl"], f"{variant}: KL")
        agree(confident, r["confident"], f"{variant}: confident share")
        assert (mi == "-") == (r["mi_end"] is None), f"{variant}: MI estimate"
        if mi != "-":
            agree(mi, r["mi_end"], f"{variant}: MI estimate")


# --- bottleneck.json (book/bottleneck.ipynb) ----------------------------------------------------------------


def check_bottleneck(text: str, nb) -> None:
    records, out = stamped_records(text, nb, "bottleneck.json")
    written = find(
        r"^(\d+) runs written to (\S+) \((\d+) seed\(s\) of each method, (\d+) epochs, encoder .*\)$", out, "the count"
    )
    assert int(written[1]) == len(records) and written[2] == "bottleneck.json", "runs written"
    assert all(r["epochs"] == int(written[4]) for r in records), "epochs differ"
    test = find(r"^MNIST (\w+): ([\d,]+) training digits .*, ([\d,]+) test digits", out, "the data")
    assert all(r["n_test"] == int(test[3].replace(",", "")) and r["source"] == test[1] for r in records), "data"
    main = [r for r in records if r["experiment"] == "main"]
    seeds = int(written[3])
    rows = re.findall(
        r"^  (baseline|deep VIB|MINE) +\| ([\d. ]+?) +\| ([\d.]+) ± ([\d.]+) +\| \[([\d.]+), ([\d.]+)\] +\| +"
        r"(-?[\d.]+) \| +(-?[\d.]+)$",
        out,
        re.M,
    )
    assert {row[0] for row in rows} == {"baseline", "deep VIB", "MINE"} == {r["variant"] for r in main}, "methods"
    for variant, per_seed, mean_error, sd, low, high, i_xz, i_zy in rows:
        runs = sorted((r for r in main if r["variant"] == variant), key=lambda r: r["seed"])
        assert [r["seed"] for r in runs] == list(range(seeds)), f"{variant}: seeds"
        for cell, r in zip(per_seed.split(), runs, strict=True):
            agree(cell, 100 * r["test_error"], f"{variant}, seed {r['seed']}: test error")
        errors = [100 * r["test_error"] for r in runs]
        agree(mean_error, mean(errors), f"{variant}: mean error")
        if seeds > 1:
            agree(sd, sample_sd(errors), f"{variant}: s.d.")
        assert float(low) <= float(mean_error) <= float(high), f"{variant}: the interval holds the mean"
        agree(i_xz, mean([r["i_xz"] for r in runs]), f"{variant}: I(X;Z)")
        agree(i_zy, mean([r["i_zy"] for r in runs]), f"{variant}: I(Z;Y)")
    sweep = [r for r in records if r["experiment"] == "sweep"]
    assert sweep and all(r["seed"] == 0 for r in sweep), "the beta sweep: one seed"
    assert {(r["method"], r["beta"]) for r in sweep} == {(m, b) for m in ("vib", "mine") for b in (0.01, 0.1, 1.0)}


# --- ali.json (book/ali.ipynb) ------------------------------------------------------------------------------


def check_ali(text: str, nb) -> None:
    records, out = stamped_records(text, nb, "ali.json")
    written = find(r"^(\d+) runs written to (\S+)$", out, "the count")
    assert int(written[1]) == len(records) and written[2] == "ali.json", "runs written"
    blocks = re.findall(
        r"^(25 Gaussians|MNIST)(?: \((\w+), (\d+) steps\))?: mean ± s\.d\. over seeds \(per seed\)\n"
        r"  variant .*\n((?:  .+ \| .*\n?)+)",
        out,
        re.M,
    )
    assert {b[0] for b in blocks} == {r["data"] for r in records} == {"25 Gaussians", "MNIST"}, "a table per data set"
    for data, source, steps, rows in blocks:
        chosen = [r for r in records if r["data"] == data]
        if data == "MNIST":
            assert all(r["source"] == source and r["steps"] == int(steps) for r in chosen), "MNIST source or steps"
        keys = ("error", "accuracy") if data == "25 Gaussians" else ("error", "accuracy", "ms_ssim")
        printed = re.findall(r"^  (.+?) +((?:\| +[\d.]+ ± [\d.]+ \([\d. ]+\) *)+)$", rows, re.M)
        assert {v for v, _ in printed} == {r["variant"] for r in chosen}, f"{data}: a row per variant"
        for variant, cells in printed:
            runs = sorted((r for r in chosen if r["variant"] == variant), key=lambda r: r["seed"])
            assert [r["seed"] for r in runs] == list(range(len(runs))), f"{data}, {variant}: seeds"
            found = re.findall(r"([\d.]+) ± ([\d.]+) \(([\d. ]+)\)", cells)
            assert len(found) == len(keys), f"{data}, {variant}: columns"
            for key, (m, sd, per_seed) in zip(keys, found):
                values = [r[key] for r in runs]
                agree(m, mean(values), f"{data}, {variant}: mean {key}")
                if len(values) > 1:
                    agree(sd, sample_sd(values), f"{data}, {variant}: s.d. of {key}")
                for cell, v in zip(per_seed.split(), values, strict=True):
                    agree(cell, v, f"{data}, {variant}: {key}")
    assert all((r["ms_ssim"] is None) == (r["data"] == "25 Gaussians") for r in records), "MS-SSIM on MNIST only"
    printed_mi = dict(re.findall(r"^(25 Gaussians|MNIST): the MI term's estimate .*: ([\d. -]+)$", out, re.M))
    assert set(printed_mi) == {"25 Gaussians", "MNIST"}, "the MI estimates of ALI + MINE"
    for data, cells in printed_mi.items():
        runs = sorted(
            (r for r in records if (r["data"], r["variant"]) == (data, "ALI + MINE")), key=lambda r: r["seed"]
        )
        for cell, r in zip(cells.split(), runs, strict=True):
            agree(cell, r["mi_end"], f"{data}: the MI estimate of seed {r['seed']}")


# --- the registry ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schema:
    chapter: str  # the notebook, in book/, that writes the file
    fields: dict[str, type | tuple[type, ...]]  # every field of a record and its JSON type(s)
    key: tuple[str, ...]  # the fields that identify one record (unique; the records cover their full grid)
    check: Callable[[str, nbformat.NotebookNode], None]  # (json text, notebook) -> raises AssertionError
    value: str = "estimate"  # the main number of a record (the corruption tests change it)
    complete_grid: bool = True  # the keys cover their full product (False: the checker checks completeness)
    truth: str = "truth"  # the ground-truth field (the corruption tests change it)
    marker: str = ""  # text of the stored output that prints this file's table (a chapter may print several)


SCHEMAS: dict[str, Schema] = {
    "gaussians.json": Schema(
        chapter="gaussians",
        fields=dict(
            estimator=str,
            d=int,
            rho=NUMBER,
            seed=int,
            estimate=NUMBER,
            truth=NUMBER,
            steps=OPTIONAL_INT,
            batch_size=OPTIONAL_INT,
            n=int,
            device=str,
            budget=str,
        ),
        key=("estimator", "d", "rho", "seed"),
        check=check_gaussians,
    ),
    "nonlinear.json": Schema(
        chapter="nonlinear",
        fields=dict(
            estimator=str,
            f=str,
            sigma=NUMBER,
            seed=int,
            estimate=NUMBER,
            truth=NUMBER,
            n=int,
            steps=int,
            device=str,
            budget=str,
        ),
        key=("estimator", "f", "sigma", "seed"),
        check=check_nonlinear,
    ),
    "robustness.json": Schema(
        chapter="robustness",
        fields=dict(
            estimator=str,
            preprocess=str,
            x_dim=int,
            z_dim=int,
            nu=NUMBER,
            seed=int,
            estimate=NUMBER,
            truth=NUMBER,
            n=int,
            steps=int,
            warned=bool,
            device=str,
            budget=str,
        ),
        key=("estimator", "preprocess", "x_dim", "nu", "seed"),
        check=check_robustness,
    ),
    "hard_cases.json": Schema(
        chapter="hard_cases",
        fields=dict(
            task=str,
            truth=NUMBER,
            preprocess=str,
            method=str,
            seed=int,
            estimate=OPTIONAL_NUMBER,
            n=int,
            steps=OPTIONAL_INT,
            batch_size=OPTIONAL_INT,
            warned=bool,
            device=str,
            budget=str,
        ),
        key=("task", "preprocess", "method", "seed"),
        check=check_hard_cases,
    ),
    "gan_toy.json": Schema(
        chapter="gan",
        fields=dict(
            experiment=str,
            data=str,
            variant=str,
            seed=int,
            modes=int,
            n_modes=int,
            high_quality=NUMBER,
            reverse_kl=OPTIONAL_NUMBER,
            steps=int,
            beta=NUMBER,
            code=str,
            clip=bool,
            seconds=NUMBER,
            device=str,
            budget=str,
        ),
        key=("experiment", "data", "variant", "seed"),
        check=check_gan_toy,
        value="high_quality",
        complete_grid=False,  # the ablation runs other variants, on one data set
        truth="n_modes",
    ),
    "stacked_mnist.json": Schema(
        chapter="gan",
        fields=dict(
            variant=str,
            seed=int,
            modes=int,
            kl=NUMBER,
            confident=NUMBER,
            mi_end=OPTIONAL_NUMBER,
            steps=OPTIONAL_INT,
            n_eval=int,
            seconds=OPTIONAL_NUMBER,
            beta=OPTIONAL_NUMBER,
            source=str,
            checksum=str,
            n_modes=int,
            device=str,
            budget=str,
        ),
        key=("seed", "variant"),
        check=check_stacked_mnist,
        value="kl",
        truth="n_modes",
        marker="Stacked MNIST on",
    ),
    "bottleneck.json": Schema(
        chapter="bottleneck",
        fields=dict(
            experiment=str,
            variant=str,
            method=str,
            beta=NUMBER,
            seed=int,
            test_error=NUMBER,
            ci_low=NUMBER,
            ci_high=NUMBER,
            n_test=int,
            i_xz=NUMBER,
            i_zy=NUMBER,
            penalty=NUMBER,
            epochs=int,
            hidden=list,
            z_dim=int,
            lr=NUMBER,
            seconds=NUMBER,
            source=str,
            checksum=str,
            device=str,
            budget=str,
        ),
        key=("experiment", "variant", "seed"),
        check=check_bottleneck,
        value="test_error",
        complete_grid=False,  # the beta sweep runs one seed
        truth="n_test",
    ),
    "ali.json": Schema(
        chapter="ali",
        fields=dict(
            data=str,
            variant=str,
            seed=int,
            error=NUMBER,
            accuracy=NUMBER,
            ms_ssim=OPTIONAL_NUMBER,
            mi_end=OPTIONAL_NUMBER,
            steps=int,
            beta=NUMBER,
            clip=bool,
            n_eval=int,
            seconds=NUMBER,
            source=(str, type(None)),
            checksum=(str, type(None)),
            device=str,
            budget=str,
        ),
        key=("data", "variant", "seed"),
        check=check_ali,
        value="error",
        complete_grid=False,  # the beta variants run one seed, on the grid only
        truth="n_eval",
    ),
    "staircase.json": Schema(
        chapter="family",
        fields=dict(
            bound=str,
            truth=NUMBER,
            mean=NUMBER,
            seed_sd=NUMBER,
            step_variance=NUMBER,
            seeds=int,
            steps_per_level=int,
            batch_size=int,
            dim=int,
            critic=str,
            device=str,
            budget=str,
        ),
        key=("bound", "truth"),
        check=check_staircase,
        value="mean",
    ),
}

STORED = sorted(p.name for p in RESULTS.glob("*.json"))


def notebook(schema: Schema):
    return nbformat.read(BOOK / f"{schema.chapter}.ipynb", as_version=4)


# --- the tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STORED)
def test_every_results_file_has_a_schema(name):
    if name not in SCHEMAS:
        pytest.fail(
            f"book/results/{name} has no schema: register its chapter, fields, key and a checker of what the "
            "chapter prints in SCHEMAS in tests/test_results_files.py"
        )


def test_every_registered_and_every_written_results_file_is_stored():
    assert set(SCHEMAS) <= set(STORED), f"registered but not stored: {sorted(set(SCHEMAS) - set(STORED))}"
    for path in sorted(BOOK.glob("*.ipynb")):
        source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        for name in re.findall(r"save_results\(\s*[\"']([^\"']+)[\"']", source):
            assert name in STORED, f"{path.name} writes {name}, which is not in book/results/"
            assert SCHEMAS.get(name) and SCHEMAS[name].chapter == path.stem, f"{name}: register {path.stem}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_results_file_agrees_with_its_chapter(name):
    schema = SCHEMAS[name]
    schema.check((RESULTS / name).read_text(), notebook(schema))


def _corrupt_value(records: list[dict], schema: Schema) -> None:
    """Move the first record's main number (a MINE estimate, or a level mean) by a whole nat."""
    records[0][schema.value] += 1.0


def _first_of_last_key(records: list[dict], schema: Schema) -> list[dict]:
    """The records of one value of the last key field (seed 0, or the first level): a complete grid that is
    smaller than what the notebook printed."""
    last = schema.key[-1]
    return [r for r in records if r[last] == records[0][last]]


CORRUPTIONS = {
    "truncated": lambda text, schema: text[: len(text) // 2],
    "empty list": lambda text, schema: "[]",
    "estimate changed": lambda text, schema: _edit(text, lambda rs: _corrupt_value(rs, schema)),
    "record dropped": lambda text, schema: _edit(text, lambda rs: rs.pop()),
    "record duplicated": lambda text, schema: _edit(text, lambda rs: rs.append(rs[-1])),
    "a seed's records dropped": lambda text, schema: _edit(
        text, lambda rs: rs.__setitem__(slice(None), _first_of_last_key(rs, schema))
    ),
    "truth changed": lambda text, schema: _edit(
        text, lambda rs: rs[0].update({schema.truth: rs[0][schema.truth] + (1 if schema.truth == "n_modes" else 0.01)})
    ),
    "smoke budget": lambda text, schema: _edit(text, lambda rs: rs[0].update(budget="smoke")),
    "field missing": lambda text, schema: _edit(text, lambda rs: rs[0].pop(schema.key[-1])),
    "NaN estimate": lambda text, schema: _edit(text, lambda rs: rs[0].update({schema.value: float("nan")})),
    "string estimate": lambda text, schema: _edit(
        text, lambda rs: rs[0].update({schema.value: str(rs[0][schema.value])})
    ),
}


def _edit(text: str, change) -> str:
    records = json.loads(text)
    change(records)
    return json.dumps(records, indent=1)


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_corrupted_results_file_fails_the_check(name, corruption, tmp_path):
    schema = SCHEMAS[name]
    copy = tmp_path / name
    copy.write_text(CORRUPTIONS[corruption]((RESULTS / name).read_text(), schema))
    with pytest.raises(AssertionError):
        schema.check(copy.read_text(), notebook(schema))


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_notebook_that_prints_other_numbers_fails_the_check(name):
    """The other direction: the JSON is intact but the stored notebook printed a different number."""
    schema = SCHEMAS[name]
    nb = notebook(schema)
    pattern = re.compile(r"(?:\| +|grid: )(-?\d+\.(\d{2,3}))\b")  # a table cell, or the largest error
    output = next(
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if pattern.search(o.get("text", "")) and schema.marker in o.get("text", "")
    )
    match = pattern.search(output.text)
    decimals = len(match[2])
    changed = f"{float(match[1]) + 2 * 10.0**-decimals:.{decimals}f}"  # two units of the last printed digit
    output.text = output.text[: match.start(1)] + changed + output.text[match.end(1) :]
    with pytest.raises(AssertionError):
        schema.check((RESULTS / name).read_text(), nb)
