"""The layers of ``minelib`` (its ``__init__`` docstring) import only downward, and the docstring names every module.

Layer 1: ground truth, maths and data; layer 2: networks, the training loop, estimators, the MI term;
layer 3: the paper's applications ``minelib.applications``; layer 4: the notebook helpers ``minelib.book``.
A module may import from its own layer or the ones above it in that list (``minelib._checks`` is below them
all). ``import minelib`` must not import ``minelib.book`` or ``minelib.applications``.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "minelib"
DOC = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text()))


def _layers() -> dict[str, int]:
    """Module -> layer, read from the numbered list of the package docstring."""
    layers = {"minelib._checks": 0}
    for number, text in re.findall(r"^(\d)\. (.*?)(?=^\d\. |\Z)", DOC, re.M | re.S):
        for name in re.findall(r"``(minelib[\w.]*)``", text):
            layers[name] = int(number)
    return layers


LAYERS = _layers()
MODULES = sorted(
    ".".join(("minelib", *p.relative_to(PACKAGE).with_suffix("").parts))
    for p in PACKAGE.rglob("*.py")
    if p.name != "__init__.py"
)


def _layer(module: str) -> int:
    while module not in LAYERS and "." in module:
        module = module.rpartition(".")[0]  # minelib.book.timing belongs to minelib.book
    return LAYERS[module]


def _imports(module: str) -> set[str]:
    path = PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("minelib"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("minelib")}
    return found


def test_the_docstring_names_every_module():
    unnamed = [
        m for m in MODULES if m != "minelib._checks" and not any(m == k or m.startswith(k + ".") for k in LAYERS)
    ]
    assert not unnamed, f"modules missing from the layer list of minelib/__init__.py: {unnamed}"
    assert len(set(LAYERS.values())) == 5, LAYERS


@pytest.mark.parametrize("module", MODULES)
def test_imports_go_only_downward(module):
    upward = {i for i in _imports(module) if i != "minelib" and _layer(i) > _layer(module)}
    assert not upward, f"{module} (layer {_layer(module)}) imports from a higher layer: {sorted(upward)}"


def test_import_minelib_does_not_import_the_book_helpers_or_the_applications():
    late = ("minelib.book", "minelib.applications")
    code = f"import sys, minelib; print(any(m.startswith({late!r}) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
