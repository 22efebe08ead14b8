"""The crud_worker cannot write its database: it says so clearly at start and exits non-zero
(supervisor shows the reason) instead of starting and failing every write later."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.report import STATS
from tests.stack import ROOT, clean_env

ROOT_USER = os.geteuid() == 0


def run_crud_worker(data_dir: Path, *, mount: str = "") -> tuple[int, str, float]:
    """`python -m crud_worker` with GHOSTWIRE_DATA_DIR=data_dir. `mount` is a shell command run first
    in a private mount namespace (root only), to make something truly read-only."""
    run_dir = Path(tempfile.mkdtemp(prefix="gwrun", dir="/tmp"))
    env = clean_env(GHOSTWIRE_DATA_DIR=str(data_dir), GHOSTWIRE_RUN_DIR=str(run_dir))
    cmd = [sys.executable, "-m", "crud_worker"]
    if mount:
        cmd = ["unshare", "-m", "sh", "-c", f"{mount} && exec {shlex.join(cmd)}"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        out += "\n[still running after 8 s: it opened the database]"
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    STATS["sqlite"]["crud_worker starts checked"] += 1
    return proc.returncode, out, time.monotonic() - started


def make_db(path: Path) -> None:
    """A database the way crud_worker leaves it (migrated, WAL), then closed."""
    from crud_worker import db as store

    store.connect(path).conn.close()


def read_only(directory: Path) -> str:
    """The mount command that makes `directory` read-only (root), or '' after chmod (others)."""
    if ROOT_USER:
        d = shlex.quote(str(directory))
        return f"mount --bind {d} {d} && mount -o remount,ro,bind {d}"
    directory.chmod(0o555)
    return ""


@pytest.fixture
def tmp(tmp_path):
    yield tmp_path
    for p in [tmp_path, *tmp_path.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)


def assert_clear_refusal(rc: int, out: str, elapsed: float, db_path: Path) -> None:
    assert rc not in (0, None), f"exit status {rc}: {out}"
    assert elapsed < 10, "it gives up at once"
    assert "Traceback" not in out, out
    assert str(db_path) in out and "database" in out, out
    assert len(out.strip().splitlines()) <= 3, "one clear message, not a wall of text"


CASES = ["empty read-only data dir", "existing db in a read-only dir", "db path is a directory",
         "data dir is under a file",
         "existing db file is read-only"]


@pytest.mark.parametrize("case", CASES)
def test_crud_worker_refuses_to_start_on_an_unwritable_database(tmp, case):
    data = tmp / "data"
    mount = ""
    if case == "empty read-only data dir":
        data.mkdir()
        mount = read_only(data)
    elif case == "existing db in a read-only dir":
        data.mkdir()
        make_db(data / "ghostwire.db")
        mount = read_only(data)
    elif case == "existing db file is read-only":
        data.mkdir()
        make_db(data / "ghostwire.db")
        if ROOT_USER:
            f = shlex.quote(str(data / "ghostwire.db"))
            mount = f"mount --bind {f} {f} && mount -o remount,ro,bind {f}"
        else:
            (data / "ghostwire.db").chmod(0o444)
    elif case == "db path is a directory":
        (data / "ghostwire.db").mkdir(parents=True)
    else:
        (tmp / "afile").write_text("not a directory")
        data = tmp / "afile" / "data"
    rc, out, elapsed = run_crud_worker(data, mount=mount)
    print(f"\n{case}: exit {rc}: {out.strip()}")
    assert_clear_refusal(rc, out, elapsed, data / "ghostwire.db")


def test_the_refusal_names_the_cause(tmp):
    data = tmp / "data"
    data.mkdir()
    rc, out, _ = run_crud_worker(data, mount=read_only(data))
    assert rc != 0
    assert any(word in out.lower() for word in ("read-only", "read only", "not writable", "permission")), out


def test_a_writable_database_starts(tmp):
    """The control: the same start with nothing wrong gets past the database (then waits for a broker)."""
    from tests.util import wait_for

    run_dir = tmp / "run"
    env = clean_env(GHOSTWIRE_DATA_DIR=str(tmp / "data"), GHOSTWIRE_RUN_DIR=str(run_dir))
    proc = subprocess.Popen([sys.executable, "-m", "crud_worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)

    def migrated() -> bool:
        try:
            with contextlib.closing(sqlite3.connect(f"file:{tmp / 'data' / 'ghostwire.db'}?mode=ro", uri=True)) as db:
                return db.execute("SELECT count(*) FROM tasks").fetchone() == (0,)
        except sqlite3.Error:
            return False

    try:
        wait_for(migrated, 10, what="the database created and migrated")
        assert proc.poll() is None, "still running: waiting for the bus"
    finally:
        proc.kill()
        proc.wait(5)
