"""The folder tree is the architecture: import-linter's contracts (pyproject.toml) hold on the code,
and they do catch a process importing another process's package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("bus", "commands", "broker", "crud_worker", "llm_worker", "web")


def lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=where, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(where)})


def test_the_import_contracts_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout


def test_a_process_importing_another_process_breaks_the_contract(tmp_path):
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "web" / "leak.py").write_text("from crud_worker import tasks  # a process reaching into another\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "A process never imports another process's package BROKEN" in result.stdout
