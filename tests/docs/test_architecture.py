"""The folder tree is the architecture: import-linter's contracts (pyproject.toml) hold on the code,
and they do catch a process importing another process's package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("bus", "commands", "models", "broker", "crud_worker", "engine", "llm_worker", "web")


def lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=where, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(where)})


def test_the_import_contracts_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout


def copy(tmp_path: Path) -> Path:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_a_process_importing_another_process_breaks_the_contract(tmp_path):
    tree = copy(tmp_path)
    (tree / "web" / "leak.py").write_text("from crud_worker import tasks  # a process reaching into another\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "A process never imports another process's package BROKEN" in result.stdout


def test_a_web_feature_importing_another_feature_breaks_the_contracts(tmp_path):
    tree = copy(tmp_path)
    (tree / "web" / "trust" / "leak.py").write_text("from web.chat import views  # one feature in another's rooms\n")
    result = lint(tree)
    assert result.returncode != 0
    said = " ".join(result.stdout.split())  # import-linter wraps long names
    assert "The web's features import none of each other: what two share is web.respond, web.chips or " \
           "web.fragment BROKEN" in said


def test_the_live_machinery_importing_a_feature_breaks_the_layers(tmp_path):
    tree = copy(tmp_path)
    (tree / "web" / "live" / "leak.py").write_text("from web.tasks import rows  # the hub building HTML again\n")
    result = lint(tree)
    assert result.returncode != 0
    said = " ".join(result.stdout.split())
    assert "the shared route helpers, the live machinery, rendering BROKEN" in said and "1 broken" in said
