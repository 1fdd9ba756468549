"""Re-execute the book's chapters at the full budget so their stored outputs are one clean run.

    MINE_BUDGET=full python book/regenerate.py [-j JOBS] [chapter ...]

Runs ``jupyter execute --inplace`` (nbclient, which also saves widget state) on every notebook listed in
``_toc.yml`` (or the named ones), ``OMP_NUM_THREADS=1`` each, ``JOBS`` at a time, and prints the run times.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


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


def execute(notebook: Path) -> tuple[Path, float, int]:
    env = {**os.environ, "MINE_BUDGET": os.environ.get("MINE_BUDGET", "full"), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    jupyter = Path(sys.executable).with_name("jupyter")
    run = subprocess.run(
        [jupyter, "execute", "--inplace", notebook.name], cwd=notebook.parent, env=env, capture_output=True, text=True
    )
    if run.returncode:
        print(run.stderr[-3000:], file=sys.stderr)
    return notebook, time.perf_counter() - start, run.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("names", nargs="*", help="chapter names (default: every chapter in _toc.yml)")
    args = parser.parse_args()
    todo = [nb for nb in chapters() if not args.names or nb.stem in args.names]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(execute, todo))
    print("| chapter | run time | status |\n|---|---|---|")
    for nb, seconds, rc in results:
        print(f"| {nb.stem} | {seconds / 60:.1f} min | {'ok' if rc == 0 else 'FAILED'} |")
    return max((rc for *_, rc in results), default=0)


if __name__ == "__main__":
    sys.exit(main())
