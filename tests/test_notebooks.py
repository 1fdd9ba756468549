"""Notebook hygiene: every chapter in _toc.yml exists and its stored outputs are one clean run of this code."""

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from scripts import load_script

import minelib
from minelib.book import budget

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _load_regenerate():
    """``book/regenerate.py`` reads the table of contents; the tests use the same reader."""
    return load_script("book/regenerate.py", "regenerate")


TOC = _load_regenerate().toc_entries()
NOTEBOOKS = sorted(f for f in TOC if (ROOT / f"{f}.ipynb").exists())


def test_every_toc_entry_exists():
    missing = [f for f in TOC if not any((ROOT / f"{f}{ext}").exists() for ext in (".ipynb", ".md"))]
    assert not missing, f"chapters listed in _toc.yml but missing: {missing}"
    assert len(NOTEBOOKS) >= 4


def test_ci_runs_notebooks_at_the_smoke_budget():
    if os.environ.get("CI"):
        assert budget() == "smoke", "CI must run the notebooks with MINE_BUDGET=smoke"


@pytest.fixture(params=NOTEBOOKS)
def nb(request):
    notebook = nbformat.read(ROOT / f"{request.param}.ipynb", as_version=4)
    nbformat.validate(notebook)
    return notebook


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_kernel_and_clean_top_to_bottom_run(nb):
    assert nb.metadata["kernelspec"]["name"] == "python3"
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts} are not 1..n"
    errors = [o for c in code_cells(nb) for o in c.outputs if o.output_type == "error"]
    assert not errors, f"stored error output: {errors[0].get('ename')}"
    streams = "".join(o.get("text", "") for c in code_cells(nb) for o in c.outputs if o.output_type == "stream")
    assert not re.search(r"0x[0-9a-f]{8,}", streams), "a memory address is printed"
    # an uncaught warning lands on stderr; chapters that show the library's warnings print them on stdout
    stderr = "".join(o.get("text", "") for c in code_cells(nb) for o in c.outputs if o.get("name") == "stderr")
    assert "Warning" not in stderr, "an uncaught warning is stored in the outputs"


# The versions whose stored outputs are this library's numbers: 0.2.0 changed the API, not a number; 0.3.0 the
# default method of estimate_mi, which no chapter relies on (each names its method)
# (tests/test_golden.py holds every estimator, the MI term and the applications to 0.1.0's values), so chapters
# stamped 0.1.0 stay valid until their next full regeneration stamps them anew.
SAME_NUMBERS = {minelib.__version__, "0.2.0", "0.1.0"}


def test_first_cell_installs_from_the_configured_repository_and_stamps_the_version(nb):
    first = code_cells(nb)[0]
    assert f'"git+{CONFIG["repository"]["url"]}"' in first.source, "install URL differs from _config.yml"
    assert "--no-deps" in first.source and "setup(" in first.source
    stamp = "".join(o.get("text", "") for o in first.outputs)
    version = re.match(r"minelib (\S+) \| budget full", stamp)
    assert version and version[1] in SAME_NUMBERS, f"stale or missing stamp: {stamp!r}"


def test_checks_are_hidden_asserts_and_widgets_are_ignored_by_nbval(nb):
    checks = [c for c in code_cells(nb) if re.search(r"^\s*assert ", c.source, re.M)]
    assert checks, "a chapter needs hidden assert cells that check its numbers"
    for c in checks:
        assert "remove-cell" in c.metadata.get("tags", []), f"assert cell is not hidden:\n{c.source[:200]}"
    for c in code_cells(nb):  # interactive cells (progress bars aside) are never compared by nbval
        if re.search(r"\b(slider_stack|interact|interact_manual)\(", c.source):
            assert "nbval-ignore-output" in c.metadata.get("tags", []), f"untagged widget cell:\n{c.source[:200]}"
    if any("widget-view" in json.dumps(c.outputs) for c in code_cells(nb)):
        assert "state" in nb.metadata["widgets"][WIDGET_STATE], "widget state was not saved"


def test_chapter_shape(nb):
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("What you will learn", "Prerequisites", "## Summary", "## Exercises", "## References"):
        assert heading in text, f"missing {heading!r}"
    assert ":::{dropdown} Solution" in text and "{cite}" in text
