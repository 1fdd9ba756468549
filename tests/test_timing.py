"""The timing helper, the four comparisons at a tiny size, the exact KSG in torch, and the timing plots."""

import json
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import minelib as m
from minelib.book import benchmarks
from minelib.book.plots import plot_accuracy, plot_ensemble, plot_ksg, plot_throughput
from minelib.book.timing import device_record, device_slug, time_call
from minelib.ksg_torch import ksg_mi_torch


@pytest.mark.parametrize(
    ("n", "dim", "k", "rows"), [(200, 1, 3, None), (517, 2, 1, 64), (300, 8, 5, 7), (257, 20, 3, 256)]
)
def test_torch_ksg_equals_ksg_mi(n, dim, k, rows):
    x, z = m.sample_correlated_gaussians(n, dim, 0.6, seed=n)
    assert ksg_mi_torch(x, z, k, device="cpu", rows=rows) == pytest.approx(m.ksg_mi(x, z, k), abs=1e-9)


def test_torch_ksg_same_preprocessing_ties_and_errors():
    x, z = m.sample_correlated_gaussians(300, 2, 0.5, seed=0)
    x = x.astype(float)
    for prep in ("none", "copula"):
        assert ksg_mi_torch(1e3 * x, z, preprocess=prep, device="cpu") == pytest.approx(
            m.ksg_mi(1e3 * x, z, preprocess=prep), abs=1e-9
        )
    grid = np.round(x * 2)  # ties at the radius: the strict "<" must match
    assert ksg_mi_torch(grid + 0.01 * z, z, device="cpu") == pytest.approx(m.ksg_mi(grid + 0.01 * z, z), abs=1e-9)
    with pytest.raises(ValueError, match="identical samples"):
        ksg_mi_torch(np.repeat(x[:25], 4, 0), np.repeat(z[:25], 4, 0), device="cpu")
    with pytest.raises(ValueError, match="rows must be a positive integer"):
        ksg_mi_torch(x, z, device="cpu", rows=0)
    with pytest.raises(ValueError, match="device"):
        ksg_mi_torch(x, z, device="tpu")


def _tied(rng, n, dx, dz, kind):
    x = rng.standard_normal((n, dx))
    z = 0.6 * x[:, :1] + rng.standard_normal((n, dz))
    if kind == "grid":  # many distances exactly equal to the radius
        x, z = np.round(x * 2) / 2 + 1e-3 * rng.standard_normal((n, dx)), np.round(z * 2) / 2
    elif kind == "offset":  # large coordinates: float32 rounds every distance by more
        x = x + 1e3
    return x, z


@pytest.mark.parametrize("precision", ["mixed", "float64"])
@pytest.mark.parametrize("seed", range(12))
def test_torch_ksg_is_exact_in_both_precisions(precision, seed):
    """Many n, dimensions, k, block sizes and kinds of ties: the float32 path with its float64 re-check gives
    ksg_mi's value to the last digit (the counts are integers and the radius is recomputed in float64)."""
    rng = np.random.default_rng(seed)
    n, dx, dz, k = int(rng.integers(12, 600)), int(rng.integers(1, 7)), int(rng.integers(1, 7)), int(rng.integers(1, 6))
    x, z = _tied(rng, n, dx, dz, ("plain", "grid", "offset")[seed % 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        expected = m.ksg_mi(x, z, k, preprocess="none")
        got = ksg_mi_torch(
            x, z, k, device="cpu", rows=int(rng.integers(1, n + 1)), precision=precision, preprocess="none"
        )
    assert got == pytest.approx(expected, abs=1e-12)


def test_the_float32_path_redoes_crowded_rows_and_rechecks_pairs_at_the_radius(monkeypatch):
    """On a coarse grid the radius is shared by more than k + 9 points (the row is redone in float64) and many
    float32 distances sit at it (each re-checked); the value is still ksg_mi's."""
    from minelib import ksg_torch

    redone = []
    exact_rows = ksg_torch._exact_rows
    monkeypatch.setattr(ksg_torch, "_exact_rows", lambda *a: redone.append(len(a[2])) or exact_rows(*a))
    rng = np.random.default_rng(0)
    x, z = np.round(rng.standard_normal((400, 2)) * 3), np.round(rng.standard_normal((400, 1)) * 3)
    x = x + 1e-6 * rng.standard_normal(x.shape)  # no duplicated rows, but the grid's distances
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", m.MINEWarning)
        assert ksg_mi_torch(x, z, 2, device="cpu", rows=64, preprocess="none") == pytest.approx(
            m.ksg_mi(x, z, 2, preprocess="none"), abs=1e-12
        )
    assert redone and sum(redone) < 400  # some rows, not all


def test_time_call_counts_warmup_and_repeats():
    calls = []
    t = time_call(lambda: calls.append(time.sleep(0.002)), "cpu", warmup=2, repeats=5)
    assert len(calls) == 7 and t.repeats == 5
    assert 0.002 <= t.q25 <= t.median <= t.q75 < 0.5
    with pytest.raises(ValueError, match="repeats"):
        time_call(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        time_call(lambda: None, warmup=-1)


def test_device_record():
    record = device_record("cpu")
    for key in ("device", "device_type", "torch", "cuda", "cudnn", "float32_matmul_precision", "torch_threads"):
        assert key in record
    assert record["device"].startswith("cpu ") and record["device_type"] == "cpu"
    assert device_slug("NVIDIA H200") == "nvidia-h200" and device_slug(record["device"]).startswith("cpu-")


def test_the_comparisons_at_a_tiny_size_and_their_deadline():
    rows = benchmarks.training_throughput("cpu", [32, 64], steps=3, repeats=1)
    assert [r["batch_size"] for r in rows] == [32, 64] and all(r["pairs_per_s"] > 0 for r in rows)
    rows = benchmarks.ensemble_speedup("cpu", [1, 3], steps=3, repeats=1)
    assert rows[0]["one_at_a_time_s"] == rows[0]["one_model_s"] and rows[1]["one_at_a_time_s"] > rows[0]["one_model_s"]
    rows = benchmarks.ksg_times("cpu", [100, 200], [1, 3])
    assert len(rows) == 4 and all(
        r["estimate"] == pytest.approx(m.ksg_mi(*m.sample_correlated_gaussians(r["n"], r["dim"], 0.5, seed=1)))
        for r in rows
    )
    rows = benchmarks.time_to_accuracy("cpu", [1], mine_steps=(3,), ksg_sizes=(100,), n=1000)
    assert {r["method"] for r in rows} == {"mine", "ksg"} and all(r["truth"] == m.gaussian_mi(0.5) for r in rows)
    past = time.monotonic() - 1
    assert {r["status"] for r in benchmarks.ksg_times("cpu", [100], [1], deadline=past)} == {benchmarks.NOT_RUN}
    assert {r["status"] for r in benchmarks.training_throughput("cpu", [32], deadline=past)} == {benchmarks.NOT_RUN}


def _fake_device(folder, name, device_type, scale):
    sub = folder / device_slug(name)
    sub.mkdir(parents=True)
    record = {"device": name, "device_type": device_type, "date_utc": "2026-11-29T00:00:00+00:00", "torch": "2.11"}
    (sub / "device.json").write_text(json.dumps(record))
    rows = {
        "throughput": [{"batch_size": b, "pairs_per_s": scale * b, "status": "ok"} for b in (64, 256)],
        "ensemble": [{"n_models": n, "speedup": scale * n, "status": "ok"} for n in (1, 4)],
        "ksg": [{"n": n, "dim": 1, "method": "x", "seconds": n / scale, "status": "ok"} for n in (100, 1000)],
        "accuracy": [
            {"method": me, "dim": 1, "seconds": s, "error": 0.1 / s, "status": "ok"}
            for me in ("mine", "ksg")
            for s in (1, 2)
        ],
    }
    for section, section_rows in rows.items():
        (sub / f"{section}.json").write_text(json.dumps({"rows": section_rows, "device_record": record}))


@pytest.mark.parametrize("devices", [1, 2])
def test_the_chapter_plots_one_or_two_devices(tmp_path, devices):
    _fake_device(tmp_path, "cpu AMD EPYC", "cpu", 1.0)
    if devices == 2:
        _fake_device(tmp_path, "NVIDIA H200", "cuda", 50.0)
    timings = benchmarks.load_timings(tmp_path)
    assert len(timings) == devices
    fig, axes = plt.subplots(1, 4)
    plot_throughput(axes[0], timings)
    plot_ensemble(axes[1], timings)
    plot_ksg(axes[2], timings, 1)
    plot_accuracy(axes[3], timings, 1)
    assert len(axes[0].get_lines()) == devices and len(axes[3].get_lines()) == 2 * devices
    assert {t.get_text() for t in axes[0].get_legend().get_texts()} == set(timings)
    plt.close(fig)
    assert benchmarks.load_timings(tmp_path / "absent") == {}


STORED = sorted((Path(__file__).resolve().parents[1] / "book" / "results" / "devices").glob("*/device.json"))


@pytest.mark.parametrize("record_file", STORED, ids=lambda p: p.parent.name)
def test_stored_device_results_are_complete(record_file):
    # Every stored device folder: a device record that names the folder, and sections that parse, each row
    # either measured ("ok", with its numbers) or openly not run; no device is claimed without a record.
    record = json.loads(record_file.read_text())
    assert device_slug(record["device"]) == record_file.parent.name
    for key in ("device_type", "torch", "cuda", "float32_matmul_precision", "torch_threads", "date_utc"):
        assert key in record, key
    sections = {p.stem: json.loads(p.read_text()) for p in record_file.parent.glob("*.json") if p.name != "device.json"}
    assert sections, "a device folder without measurements"
    for name, data in sections.items():
        assert data["status"] in ("done", "partial"), (name, data["status"])
        for row in data["rows"]:
            assert row["status"] in ("ok", benchmarks.NOT_RUN), (name, row)
            if row["status"] == "ok" and "seconds" in row:
                assert row["seconds"] > 0
