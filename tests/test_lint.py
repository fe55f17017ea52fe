"""Static checks that catch real bugs: undefined names, unused imports, syntax errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ruff_finds_no_errors() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "--select", "F,E9", "slsa_models", "flows", "tasks", "tests", "benchmarks"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_library_imports_no_framework_or_prefect() -> None:
    """A serving process installs the library alone: importing it must not pull the heavy parts in."""
    code = (
        "import sys, importlib, pkgutil, slsa_models\n"
        "for m in pkgutil.walk_packages(slsa_models.__path__, 'slsa_models.'):\n"
        "    importlib.import_module(m.name)\n"
        "heavy = [n for n in ('prefect', 'tensorflow', 'keras', 'torch') if n in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
