"""Re-execute the book's chapters at the full budget so their stored outputs are one clean run.

    python book/regenerate.py [-j JOBS] [chapter ...]

Runs every notebook listed in ``_toc.yml`` (or the named ones) top to bottom with nbclient (which also
saves widget state), ``OMP_NUM_THREADS=1`` each, ``JOBS`` at a time, and prints the run times.

Crash safety: a chapter runs into a temporary copy of its notebook, and its results files go to a staging
folder (``MINE_RESULTS_DIR``, read by :func:`minelib.book.results_path`). Only when the whole chapter ran
without error (its hidden ``assert`` cells included) are its results and then its notebook moved into
place with ``os.replace``; a failed or interrupted run leaves the stored ones untouched. SIGINT and SIGTERM
are forwarded to the running children (each in its own process group; nbclient then stops its kernel), so
none of them lives on to rewrite a notebook later. If this process itself is killed (SIGKILL, which cannot be
forwarded), each chapter's process notices that it lost its parent within half a second and stops the same way,
and the next run removes the temporary folders the killed one left (``regenerate-*`` whose owner is gone).
Stored outputs are full-budget runs: any other ``MINE_BUDGET`` is refused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "book" / "results"
_running: set[subprocess.Popen] = set()
_lock = threading.Lock()
_stopping = threading.Event()


# Run first in each chapter's process: when its parent (this script) disappears, even by SIGKILL, the process
# sends itself SIGTERM, and nbclient's handler shuts its kernel down (the kernel has a session of its own).
ORPHAN_WATCH = (
    "import os, signal, threading, time\n"
    "def _watch(parent=os.getppid()):\n"
    "    while os.getppid() == parent:\n"
    "        time.sleep(0.5)\n"
    "    os.kill(os.getpid(), signal.SIGTERM)\n"
    "threading.Thread(target=_watch, daemon=True).start()\n"
)
TEMP_PREFIX = "regenerate-"


def remove_stale_folders(folder: str | None = None) -> list[Path]:
    """Remove the temporary folders of runs that were killed: ``regenerate-*`` whose ``owner.pid`` names a
    process that no longer exists (another run's live folders are left alone). Returns what was removed."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        try:
            os.kill(int((path / "owner.pid").read_text()), 0)
            continue  # its owner is alive
        except FileNotFoundError:  # no owner written: stale unless it was created a moment ago
            if time.time() - path.stat().st_mtime > 60:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        except (ProcessLookupError, ValueError):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except PermissionError:  # alive, another user's
            continue
    return removed


def toc_entries() -> list[str]:
    """Every document of ``_toc.yml``, the root first, in reading order (paths without extension)."""

    def walk(node):
        if "file" in node:
            yield node["file"]
        for child in node.get("parts", []) + node.get("chapters", []) + node.get("sections", []):
            yield from walk(child)

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *walk(toc)]


def chapters() -> list[Path]:
    """The notebooks of the book, in reading order."""
    return [ROOT / f"{f}.ipynb" for f in toc_entries() if (ROOT / f"{f}.ipynb").exists()]


def run_notebook(
    notebook: Path,
    output: Path,
    *,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """Execute ``notebook`` top to bottom with nbclient under ``python`` and write the executed copy to ``output``.

    The kernel starts in the notebook's folder and inherits ``env`` (default: this process's). The child
    runs in its own process group; :func:`stop_children` (called on SIGINT/SIGTERM) signals that group,
    and nbclient's own handler then shuts its kernel down (the kernel has a session of its own).
    ``timeout`` bounds the whole run (seconds). Returns the finished process with its captured output;
    ``returncode`` is non-zero on any error, a failed ``assert`` cell included.
    """
    output = Path(output).resolve()
    if output.suffix != ".ipynb":
        raise ValueError(f"output must end in .ipynb, got {output}")
    command = [
        python,
        "-c",
        ORPHAN_WATCH + "import sys; from nbclient.cli import main; sys.exit(main())",
        f"--output={output.with_suffix('')}",
        str(Path(notebook).resolve()),
    ]
    child = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    with _lock:
        _running.add(child)
    if _stopping.is_set():  # a signal that arrived while the child was starting
        _kill(child, signal.SIGTERM)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(child, signal.SIGTERM)  # nbclient's own handler shuts its kernel down
        try:
            out, err = child.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            _kill(child, signal.SIGKILL)
            out, err = child.communicate()
        err += f"\ntimed out after {timeout} s"
    finally:
        with _lock:
            _running.discard(child)
    return subprocess.CompletedProcess(command, child.returncode, out, err)


def _kill(child: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)  # the child's whole group: nbclient and its kernel
    except ProcessLookupError:
        pass


def stop_children(signum: int, _frame=None) -> None:
    """Forward a signal to every running chapter (and its kernel), then let the main loop finish."""
    _stopping.set()
    with _lock:
        for child in list(_running):
            _kill(child, signum)


def execute(notebook: Path) -> tuple[Path, float, int]:
    """Run one chapter into a temporary notebook and staging folder; replace the stored ones only on success."""
    start = time.perf_counter()
    if _stopping.is_set():
        return notebook, 0.0, -signal.SIGTERM
    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{notebook.stem}-") as tmp:
        (Path(tmp) / "owner.pid").write_text(str(os.getpid()))
        staging = Path(tmp) / "results"
        staging.mkdir()
        env = {**os.environ, "MINE_BUDGET": "full", "OMP_NUM_THREADS": "1", "MINE_RESULTS_DIR": str(staging)}
        run = run_notebook(notebook, Path(tmp) / notebook.name, env=env)
        if run.returncode == 0 and not _stopping.is_set():
            RESULTS.mkdir(exist_ok=True)
            for staged in sorted(staging.iterdir()):
                shutil.move(staged, RESULTS / f".{staged.name}.incoming")  # same filesystem as the target
                os.replace(RESULTS / f".{staged.name}.incoming", RESULTS / staged.name)
            shutil.move(Path(tmp) / notebook.name, notebook.with_name(f".{notebook.name}.incoming"))
            os.replace(notebook.with_name(f".{notebook.name}.incoming"), notebook)
        elif run.returncode:
            print(f"{notebook.stem} failed; its stored notebook and results are untouched.", file=sys.stderr)
            print(run.stderr[-3000:], file=sys.stderr)
    return notebook, time.perf_counter() - start, run.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("names", nargs="*", help="chapter names (default: every chapter in _toc.yml)")
    args = parser.parse_args()
    if os.environ.get("MINE_BUDGET", "full") != "full":
        parser.error(f"stored outputs are full-budget runs; MINE_BUDGET={os.environ['MINE_BUDGET']!r} is refused")
    todo = [nb for nb in chapters() if not args.names or nb.stem in args.names]
    unknown = set(args.names) - {nb.stem for nb in todo}
    if unknown:
        parser.error(f"no such chapter(s): {sorted(unknown)}")
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop_children)
    for path in remove_stale_folders():
        print(f"removed {path}, left by a killed run", file=sys.stderr)
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(execute, todo))
    print("| chapter | run time | status |\n|---|---|---|")
    for nb, seconds, rc in results:
        print(f"| {nb.stem} | {seconds / 60:.1f} min | {'ok' if rc == 0 else 'FAILED'} |")
    return 1 if _stopping.is_set() else max((abs(rc) for *_, rc in results), default=0)


if __name__ == "__main__":
    sys.exit(main())
