"""bench/device_run.py: the device script end to end on this CPU (one fast chapter), its budget and its errors."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "device_run.py"
FAST = "mutual_information"


def _load_device_run():
    return load_script("bench/device_run.py", "device_run")


device_run = _load_device_run()


def test_one_chapter_end_to_end_on_cpu(tmp_path):
    env = {**os.environ, "PYTHONPATH": ".", "OMP_NUM_THREADS": "1"}  # relative, as on the device machine
    env.pop("MINE_BUDGET", None)  # the script sets the smoke budget itself
    sections = "rehearsal,throughput,ensemble,ksg,ksg_gpu,accuracy,staircase,stacked_mnist,bottleneck,ali_mnist"
    command = [sys.executable, SCRIPT, "--smoke", "--sections", sections, "--chapters", FAST, "--threads", "1"]
    run = subprocess.run(
        [*command, "--budget-s", "300", "--out", tmp_path], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"| rehearsal | {FAST} | ok |" in run.stdout
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith("cpu-") and set(folder.name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    device = json.loads((folder / "device.json").read_text())
    for key in ("device", "torch", "cuda", "cudnn", "float32_matmul_precision", "torch_threads", "python"):
        assert key in device, key
    assert device["minelib"] and device["date_utc"].endswith("+00:00") and device["device_type"] == "cpu"
    assert device["float32_matmul_precision"] in ("highest", "high", "medium")
    host = os.uname().nodename
    assert len(host) < 4 or host not in json.dumps(device), "the host name is recorded"
    assert "git_commit" in device and "git_dirty" in device
    section = json.loads((folder / "rehearsal.json").read_text())
    assert section["status"] == "done" and section["title"] == "Colab GPU rehearsal"
    (row,) = section["rows"]
    assert row["chapter"] == FAST and row["status"] == "ok" and row["seconds"] > 0, row
    assert "budget smoke | device cpu" in row["stamp"]
    assert not list(folder.glob(".*")), "a temporary file was left behind"
    for name in ("throughput", "ensemble", "ksg", "ksg_gpu", "accuracy"):  # the timing sections, at the smoke size
        timing = json.loads((folder / f"{name}.json").read_text())
        assert timing["status"] == "done" and timing["rows"], name
        assert all(r["status"] == "ok" for r in timing["rows"]), timing["rows"]
        assert timing["device_record"]["torch_threads"] == 1
    ksg_gpu = json.loads((folder / "ksg_gpu.json").read_text())["rows"]
    assert {r["precision"] for r in ksg_gpu} == {"mixed", "float64"} and all(
        r["equals_ksg_mi_on_check"] for r in ksg_gpu
    )
    staircase = json.loads((folder / "staircase.json").read_text())
    assert staircase["status"] == "done" and staircase["settings"]["critic"] == "concat"
    assert {r["bound"] for r in staircase["rows"]} == {"mine", "dv", "nwj", "infonce", "js", "smile"}
    stacked = json.loads((folder / "stacked_mnist.json").read_text())
    assert stacked["status"] == "done" and stacked["real"]["source"] == "subset", stacked
    assert [r["variant"] for r in stacked["rows"]] == ["DCGAN", "DCGAN + MINE"]
    assert all(0 <= r["modes"] <= 1000 and r["steps"] == 5 for r in stacked["rows"]), stacked["rows"]
    bottleneck = json.loads((folder / "bottleneck.json").read_text())
    assert bottleneck["status"] == "done" and bottleneck["epochs"] == 1, bottleneck
    assert [r["variant"] for r in bottleneck["rows"]] == ["baseline", "deep VIB", "MINE"]
    assert all(0 <= r["test_error"] <= 1 for r in bottleneck["rows"])
    ali = json.loads((folder / "ali_mnist.json").read_text())
    assert ali["status"] == "done" and [r["variant"] for r in ali["rows"]] == ["ALI", "ALI + MINE"], ali
    assert all(r["steps"] == 5 and 0 <= r["accuracy"] <= 1 and 0 <= r["ms_ssim"] <= 1 for r in ali["rows"])
    from minelib.book.benchmarks import load_timings

    (found,) = load_timings(tmp_path).values()  # the timing chapter reads it back
    assert {"throughput", "ensemble", "ksg", "accuracy"} <= set(found)


def test_a_section_without_budget_runs_nothing(tmp_path):
    ctx = device_run.Context(tmp_path, budget_s=0.0, chapters=[FAST])
    record = device_run.run_section("rehearsal", ctx)
    assert record["status"] == "partial"
    assert record["rows"] == [{"chapter": FAST, "status": "not run (budget)"}]


def test_without_nbclient_every_chapter_is_skipped(tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nbclient" else find_spec(name, *a)
    )
    record = device_run.run_section("rehearsal", device_run.Context(tmp_path, budget_s=300.0))
    assert record["status"] == "done" and record["rows"]
    assert {row["status"] for row in record["rows"]} == {"skipped: nbclient missing"}


def test_the_toc_reader_without_pyyaml_matches_regenerate():
    assert device_run.toc_chapters() == device_run.load_regenerate().chapters()


@pytest.mark.parametrize("option", [["--sections", "rehearsal,no_such_section"], ["--chapters", "no_such_chapter"]])
def test_unknown_names_are_refused(option, capsys):
    with pytest.raises(SystemExit) as exit_:
        device_run.parse_args(option)
    assert exit_.value.code == 2
    assert option[1].split(",")[-1] in capsys.readouterr().err
