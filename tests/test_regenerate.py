"""``book/regenerate.py`` and the results helpers are crash-safe.

The regenerator runs on a tiny synthetic book in a temporary folder (a ``_toc.yml`` and one chapter
``book/ch.ipynb`` with stored outputs and a stored ``book/results/t.json``), never on the real chapters:

* in-process, with ``ROOT`` and ``RESULTS`` of a freshly loaded module pointed at the tiny book;
* as ``python book/regenerate.py`` in a subprocess, on a byte-for-byte copy of the script placed in the
  tiny book's ``book/`` folder (the script finds its book from its own location, so nothing needs
  configuring).

Three kernels start in the whole file (about 3 s each): a chapter that succeeds, one whose check fails,
one stopped by SIGTERM. The refused budgets start none, by design.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from scripts import load_script

from minelib.book import profile, results_path, save_results

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "book" / "regenerate.py"
STORED_RESULTS = "[0]"


def _load_regenerate():
    """A fresh copy of the module for each test: its stop flag and running set start empty."""
    return load_script("book/regenerate.py", "regenerate_under_test")


def _make_book(root: Path, *sources: str) -> Path:
    """A one-chapter book under ``root``: the chapter's code cells are ``sources``; it has a stored output
    and a stored results file ``t.json``. Returns the notebook's path."""
    (root / "book" / "results").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/index\nchapters:\n  - file: book/ch\n")
    (root / "book" / "index.md").write_text("# Tiny book\n")
    (root / "book" / "results" / "t.json").write_text(STORED_RESULTS)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="stored output\n")]
    path = root / "book" / "ch.ipynb"
    nbformat.write(nb, path)
    shutil.copy2(SCRIPT, root / "book" / "regenerate.py")
    return path


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the tiny book (the script copy aside), by relative path, with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "regenerate.py" and "__pycache__" not in p.parts
    }


def _incoming(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*.incoming")]


def _streams(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.fixture
def regenerate(tmp_path, monkeypatch):
    """The module, pointed at a tiny book in ``tmp_path/tiny``; its temporary folders go to ``tmp_path/tmp``."""
    module = _load_regenerate()
    monkeypatch.setattr(module, "ROOT", tmp_path / "tiny")
    monkeypatch.setattr(module, "RESULTS", tmp_path / "tiny" / "book" / "results")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # the staging folders, this process only
    monkeypatch.delenv("MINE_RESULTS_DIR", raising=False)
    return module


def test_success_replaces_stored_results_and_notebook(regenerate, tmp_path):
    book = tmp_path / "tiny"
    notebook = _make_book(
        book,
        "from minelib.book import budget, save_results\n"
        'path = save_results("t.json", [1])\n'
        'print("saved", path.name, "budget", budget())',
    )
    assert regenerate.chapters() == [notebook]
    _, seconds, rc = regenerate.execute(notebook)
    assert rc == 0 and seconds > 0
    assert json.loads((book / "book" / "results" / "t.json").read_text()) == [1]
    streams = _streams(notebook)
    assert "stored output" not in streams
    assert "saved t.json budget full" in streams  # the chapter ran at the full budget, whatever pytest's is
    assert nbformat.read(notebook, as_version=4).cells[0].execution_count == 1
    assert not _incoming(book)
    assert not list((tmp_path / "tmp").iterdir()), "the staging folder was left behind"


def test_failed_check_leaves_stored_notebook_and_results_untouched(regenerate, tmp_path, capsys):
    book = tmp_path / "tiny"
    notebook = _make_book(
        book,
        'from minelib.book import save_results\nsave_results("t.json", [2])\nprint("new output")',
        'assert 1 + 1 == 3, "a hidden check failed"',
    )
    before = _snapshot(book)
    _, _, rc = regenerate.execute(notebook)
    assert rc != 0
    assert _snapshot(book) == before  # byte for byte: notebook, results file, nothing added
    assert not _incoming(book)
    assert not list((tmp_path / "tmp").iterdir()), "the staging folder was left behind"
    err = capsys.readouterr().err
    assert "ch failed; its stored notebook and results are untouched" in err
    assert "a hidden check failed" in err


def _alive(proc: psutil.Process) -> bool:
    try:  # is_running also tells a reused pid apart; a zombie has ended (it only waits to be reaped)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigterm_stops_the_chapter_and_its_kernel(tmp_path):
    book = tmp_path / "tiny"
    started = tmp_path / "started"
    _make_book(
        book,
        'from minelib.book import save_results\nsave_results("t.json", [3])\nprint("new output")',
        # a process of the kernel's own (the kernel runs in a session of its own, not nbclient's)
        'import pathlib, subprocess, time\nsubprocess.Popen(["sleep", "60"])\n'
        f"pathlib.Path({str(started)!r}).touch()\ntime.sleep(60)",
    )
    before = _snapshot(book)
    env = {**os.environ, "MINE_BUDGET": "full"}
    env.pop("MINE_RESULTS_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "book/regenerate.py"],
        cwd=book,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        while not started.exists():
            assert proc.poll() is None, f"regenerate exited early:\n{proc.communicate()}"
            assert time.monotonic() < deadline, "the chapter never reached its sleeping cell"
            time.sleep(0.2)
        children = psutil.Process(proc.pid).children(recursive=True)
        commands = [" ".join(c.cmdline()) for c in children]
        assert any("nbclient" in c for c in commands), commands
        assert any("ipykernel" in c for c in commands), commands
        assert "sleep 60" in commands, commands
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        stopped_after = time.monotonic() - t0
        deadline = time.monotonic() + 5
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [(c.pid, cmd) for c, cmd in zip(children, commands) if _alive(c)]
    finally:  # never leave a process behind, even when the test fails
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for c in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                if _alive(c):
                    c.kill()
    assert not survivors, f"still running after SIGTERM: {survivors}"
    assert stopped_after < 10, f"regenerate took {stopped_after:.1f} s to stop"
    assert proc.returncode != 0, out
    assert "| ch |" in out and "FAILED" in out, (out, err)
    assert _snapshot(book) == before
    assert not _incoming(book)


@pytest.mark.parametrize("value", ["smoke", "huge"])
def test_a_budget_other_than_full_is_refused_before_anything_runs(tmp_path, value):
    book = tmp_path / "tiny"
    ran = tmp_path / "ran"
    _make_book(book, f"import pathlib\npathlib.Path({str(ran)!r}).touch()")
    before = _snapshot(book)
    run = subprocess.run(
        [sys.executable, "book/regenerate.py"],
        cwd=book,
        env={**os.environ, "MINE_BUDGET": value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "MINE_BUDGET" in run.stderr and repr(value) in run.stderr
    assert "| chapter |" not in run.stdout  # no chapter was attempted
    assert not ran.exists()
    assert _snapshot(book) == before


def test_smoke_results_share_one_folder_removed_when_the_process_exits(tmp_path, monkeypatch):
    monkeypatch.setenv("MINE_BUDGET", "smoke")
    monkeypatch.delenv("MINE_RESULTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    a, b = results_path("a.json"), results_path("b.json")
    assert a.parent == b.parent and a.parent.is_dir() and a.parent.name.startswith("mine-smoke-")
    assert a.parent.resolve() != (tmp_path / "results").resolve() and not (tmp_path / "results").exists()

    script = (
        "import json\nfrom minelib.book import results_path, save_results\n"
        "p = save_results('x.json', [1])\n"
        "assert p.parent == results_path('y.json').parent and json.loads(p.read_text()) == [1]\n"
        "print(p.parent)\n"
    )
    env = {**os.environ, "MINE_BUDGET": "smoke"}
    env.pop("MINE_RESULTS_DIR", None)
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    folder = Path(run.stdout.strip())
    assert folder.name.startswith("mine-smoke-")
    assert not folder.exists(), "the smoke results folder outlived its process"
    assert not (tmp_path / "results").exists()


def test_results_path_at_full_budget_and_in_staging(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINE_BUDGET", "full")
    monkeypatch.delenv("MINE_RESULTS_DIR", raising=False)
    assert results_path("a.json") == Path("results") / "a.json"
    monkeypatch.setenv("MINE_RESULTS_DIR", str(tmp_path / "staging"))
    assert results_path("a.json") == tmp_path / "staging" / "a.json"
    for bad in ("", "../a.json", "sub/a.json"):
        with pytest.raises(ValueError, match="plain file name"):
            results_path(bad)


def test_save_results_is_atomic(tmp_path, monkeypatch):
    monkeypatch.setenv("MINE_RESULTS_DIR", str(tmp_path))
    path = save_results("r.json", [{"estimate": 0.5}])
    assert path == tmp_path / "r.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no temporary file left
    stored = path.read_bytes()
    assert json.loads(stored) == [{"estimate": 0.5}]

    for records, error in (([{"estimate": float("nan")}], ValueError), ([{"estimate": object()}], TypeError)):
        with pytest.raises(error):
            save_results("r.json", records)
        assert path.read_bytes() == stored
        assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(profile.os, "fsync", disk_full)  # fails after the temporary file was written
    with pytest.raises(OSError, match="No space"):
        save_results("r.json", [{"estimate": 1.0}])
    assert path.read_bytes() == stored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_sigkill_leaves_no_orphan_and_the_next_run_removes_the_folder(tmp_path):
    """SIGKILL cannot be forwarded: the chapter's process notices it lost its parent and stops its kernel, and the
    next run removes the temporary folder the killed one left behind (and only that one)."""
    book, tmp, started = tmp_path / "tiny", tmp_path / "tmp", tmp_path / "started"
    tmp.mkdir()
    _make_book(book, f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(60)")
    env = {**os.environ, "MINE_BUDGET": "full", "TMPDIR": str(tmp)}
    env.pop("MINE_RESULTS_DIR", None)
    proc = subprocess.Popen([sys.executable, "book/regenerate.py"], cwd=book, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the chapter never started"
            time.sleep(0.1)
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 8
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [c.pid for c in children if _alive(c)]
    finally:
        for c in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                if _alive(c):
                    c.kill()
    assert children and not survivors, f"orphans after SIGKILL: {survivors}"
    left = list(tmp.glob("regenerate-*"))
    assert len(left) == 1
    live = tmp / "regenerate-live-x"  # another run's folder, its owner alive: kept
    live.mkdir()
    (live / "owner.pid").write_text(str(os.getpid()))
    assert _load_regenerate().remove_stale_folders(str(tmp)) == left
    assert list(tmp.glob("regenerate-*")) == [live]
