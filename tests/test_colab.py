"""Colab rehearsal: every chapter runs from a wheel of this repository in an environment holding only what
Colab preinstalls.

A reader on Colab runs each chapter's first cell, which installs ``minelib`` with ``pip install --no-deps``
from the repository URL of ``_config.yml``; nothing else is installed. The rehearsal does the same offline:

1. the wheel is built from a copy of the sources (nothing is written into the repository) and must hold
   every package folder under ``minelib/`` (each folder with an ``__init__.py``) and every module in it;
2. a fresh virtual environment gets only Colab's preinstalled packages (torch, numpy, scipy, matplotlib,
   ipywidgets, tqdm, pandas) and the notebook kernel's (ipykernel, nbclient, nbformat, jupyter_client),
   with their dependency closure, symlinked from this interpreter's copies (no download). The editable
   ``minelib`` of the project environment is never linked, and ``pip`` is linked so the install cell works;
3. each chapter of ``_toc.yml`` is copied to a folder outside the repository, its install URL replaced by
   the wheel's path, a last cell appended that checks ``minelib`` was imported from the fresh environment,
   and it is executed at the smoke budget by that environment's Python, as ``book/regenerate.py`` does.

One wheel and one environment serve the whole module; the chapters run one after another (``--dist
loadfile`` keeps them on one worker).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
COLAB = ["torch", "numpy", "scipy", "matplotlib", "ipywidgets", "tqdm", "pandas"]
KERNEL = ["ipykernel", "nbclient", "nbformat", "jupyter_client"]
# Installed from PyPI by a chapter's own first cell when missing (the ALI chapter's MS-SSIM). On Colab that pip
# reaches PyPI; this rehearsal is offline, so they are linked in as if that install had run.
FIRST_CELL_INSTALLS = ["torchmetrics"]
TIMEOUT = 600  # seconds per chapter at the smoke budget (the slowest, gaussians, takes ~30 s on 2 shared cores)
MARKER = "COLAB-REHEARSAL minelib from"
CHECK_CELL = f"""\
import os, sys
import minelib
where = os.path.realpath(minelib.__file__)
print("{MARKER}", where, "| prefix", sys.prefix)
assert where.startswith(os.path.realpath(sys.prefix) + os.sep), (where, sys.prefix)
assert "site-packages" in where, where
"""


def _load_regenerate():
    return load_script("book/regenerate.py", "regenerate")


REGENERATE = _load_regenerate()
CHAPTERS = REGENERATE.chapters()


def package_dirs() -> list[str]:
    """Every package folder under ``minelib/`` (relative, with ``/``): those holding an ``__init__.py``."""
    return sorted(
        p.parent.relative_to(ROOT).as_posix()
        for p in (ROOT / "minelib").rglob("__init__.py")
        if "__pycache__" not in p.parts
    )


# ---------------------------------------------------------------------------------------------- wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this repository, built without isolation from a copy of its sources."""
    src = tmp_path_factory.mktemp("colab-src")
    for name in ("pyproject.toml", "README.md", *(p.name for p in ROOT.glob("LICEN[CS]E*"))):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "minelib", src / "minelib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("colab-wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", out, src],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert build.returncode == 0, f"wheel build failed:\n{build.stdout[-3000:]}{build.stderr[-3000:]}"
    (built,) = out.glob("minelib-*.whl")
    return built


def test_wheel_ships_every_package_and_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = package_dirs()
    assert {"minelib", "minelib/book"} <= set(packages)
    missing = [p for p in packages if f"{p}/__init__.py" not in names]
    assert not missing, f"package folders missing from the wheel: {missing}"
    modules = [p.relative_to(ROOT).as_posix() for pkg in packages for p in (ROOT / pkg).glob("*.py")]
    assert not [m for m in modules if m not in names], "modules missing from the wheel"


# ------------------------------------------------------------------------------------------ environment


def closure(names: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``names`` and everything they require (extras left out), by metadata."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found[name] = dist = importlib.metadata.distribution(name)
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(found.values())


def link_distributions(dists, site: Path) -> list[str]:
    """Symlink each distribution's top-level files and folders (from its RECORD) into ``site``."""
    linked = []
    for dist in dists:
        base = Path(dist.locate_file(""))
        tops = {Path(f).parts[0] for f in dist.files or []}
        for top in sorted(tops - {"..", "__pycache__"}):
            if top.startswith("__editable__") or (site / top).exists() or not (base / top).exists():
                continue
            (site / top).symlink_to(base / top)
            linked.append(top)
    return linked


@pytest.fixture(scope="module")
def colab_env(tmp_path_factory) -> Path:
    """A virtual environment with Colab's preinstalled packages, the kernel's, and pip: nothing else."""
    env_dir = tmp_path_factory.mktemp("colab-env")
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(env_dir)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))
    assert site.is_dir(), site
    dists = closure(COLAB + KERNEL + FIRST_CELL_INSTALLS + ["pip"])
    assert "minelib" not in {canonicalize_name(d.metadata["Name"]) for d in dists}
    linked = link_distributions(dists, site)
    assert not any("minelib" in name or name.endswith(".pth") and "editable" in name for name in linked)
    return env_dir


def clean_environ(env_dir: Path) -> dict[str, str]:
    """This process's environment for a child in ``env_dir``: no PYTHONPATH, no project venv, smoke budget."""
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "MINE_RESULTS_DIR", "MINE_BUDGET"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("COVERAGE_", "PIP_"))}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not p.startswith(str(ROOT))]
    env.update(
        PATH=os.pathsep.join([str(env_dir / "bin"), *path]),
        VIRTUAL_ENV=str(env_dir),
        MINE_BUDGET="smoke",
        OMP_NUM_THREADS="1",
        PIP_NO_INDEX="1",  # the install cell gets the wheel and nothing else
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONNOUSERSITE="1",
    )
    return env


def test_fresh_environment_has_no_minelib_and_the_colab_packages(colab_env):
    probe = (
        "import importlib.util as u, sys; "
        f"print([n for n in {COLAB + KERNEL + ['pip']!r} if u.find_spec(n) is None], "
        "u.find_spec('minelib') is None, sys.prefix)"
    )
    run = subprocess.run(
        [colab_env / "bin" / "python", "-c", probe],
        cwd=colab_env,
        env=clean_environ(colab_env),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[:2] == ["[]", "True"], f"missing packages or minelib importable: {run.stdout}"


# ------------------------------------------------------------------------------------------- chapters


def rehearsal_copy(chapter: Path, wheel: Path, folder: Path) -> Path:
    """``chapter`` copied into ``folder`` with the wheel's path as install URL and the location check appended."""
    nb = nbformat.read(chapter, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    url = f'"git+{URL}"'
    assert url in first.source, f"{chapter.name}: the install cell does not use {url}"
    first.source = first.source.replace(url, repr(str(wheel)))
    nb.cells.append(nbformat.v4.new_code_cell(CHECK_CELL))
    copy = folder / chapter.name
    nbformat.write(nb, copy)
    return copy


@pytest.fixture
def without_minelib(colab_env) -> Path:
    """The shared environment with ``minelib`` uninstalled, so every chapter's install cell runs."""
    python = colab_env / "bin" / "python"
    probe = subprocess.run(
        [python, "-m", "pip", "show", "-q", "minelib"], env=clean_environ(colab_env), capture_output=True
    )
    if probe.returncode == 0:
        subprocess.run(
            [python, "-m", "pip", "uninstall", "-y", "-q", "minelib"], env=clean_environ(colab_env), check=True
        )
    return colab_env


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_on_a_colab_like_environment(chapter, wheel, without_minelib, tmp_path, monkeypatch):
    colab_env = without_minelib
    assert ROOT not in tmp_path.resolve().parents, "the rehearsal must run outside the repository"
    monkeypatch.chdir(tmp_path)  # nbclient's own working folder: not the repository either
    copy = rehearsal_copy(chapter, wheel, tmp_path)
    output = tmp_path / "executed" / chapter.name
    output.parent.mkdir()
    run = REGENERATE.run_notebook(
        copy, output, env=clean_environ(colab_env), python=str(colab_env / "bin" / "python"), timeout=TIMEOUT
    )
    assert run.returncode == 0, f"{chapter.stem} failed on the Colab-like environment:\n{run.stderr[-5000:]}"
    executed = nbformat.read(output, as_version=4)
    streams = "".join(
        o.get("text", "")
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream"
    )
    found = re.search(rf"{MARKER} (\S+) \| prefix (\S+)", streams)
    assert found, f"the location check printed nothing:\n{streams[-2000:]}"
    where, prefix = Path(found[1]), Path(found[2])
    assert Path(os.path.realpath(colab_env)) in where.parents and os.path.realpath(prefix) == os.path.realpath(
        colab_env
    ), f"minelib came from {where} (kernel prefix {prefix}), not from {colab_env}"
    assert ROOT not in where.parents, f"minelib was imported from the repository: {where}"
