"""Load the repository's scripts (``book/regenerate.py``, ``bench/device_run.py``) as modules in tests."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str, name: str):
    """A fresh module from the script ``ROOT / relative``, registered as ``name`` (dataclasses look it up)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
