"""`make lint` inside `make test` (what CI runs): ruff's checks and formatting on all Python."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
TREES = ["functions", "devtools", "tests"]


@pytest.mark.unit
@pytest.mark.skipif(RUFF is None, reason="ruff not installed (requirements-dev.txt)")
@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff(args: list[str]) -> None:
    r = subprocess.run([RUFF, *args, *TREES], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
