"""Private files: the data, run and key directories are 0700 and their files 0600 whatever the umask,
and an existing one that is wider is named in a warning at start."""

from __future__ import annotations

import logging
import os
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest

from bus import curve, runtime
from tests.report import STATS
from tests.stack import Stack


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def assert_private(*paths: Path) -> None:
    for p in paths:
        want = 0o700 if p.is_dir() else 0o600
        got = mode(p)
        if stat.S_ISSOCK(p.lstat().st_mode):
            want = 0o700  # a socket needs its owner's write bit to connect; nobody else gets any
        assert got & ~want == 0 and got & 0o077 == 0, f"{p} is {got:03o}, want {want:03o}"
        STATS["security"]["private files checked"] += 1


def test_keys_are_private_under_umask_022(tmp_path):
    with umask(0o022):
        curve.make_keys(tmp_path / "keys", ["gpu-box"])
    keys = tmp_path / "keys"
    assert_private(keys, keys / "authorized", *keys.glob("*.key*"), *(keys / "authorized").glob("*"))


def test_the_database_and_its_wal_are_private_under_umask_022(tmp_path):
    from crud_worker import db as store  # the file the crud_worker writes; opened here as it opens it

    with umask(0o022):
        db = store.connect(tmp_path / "data" / "ghostwire.db")
        try:
            files = [tmp_path / "data", *(tmp_path / "data").iterdir()]
            assert {p.name for p in files} >= {"ghostwire.db", "ghostwire.db-wal", "ghostwire.db-shm"}
            assert_private(*files)
        finally:
            db.conn.close()


def test_an_existing_wide_directory_is_named_in_a_warning(tmp_path, caplog):
    wide = tmp_path / "wide"
    wide.mkdir(mode=0o755)
    wide.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="runtime"):
        runtime.private_dir(wide)
        runtime.private_dir(tmp_path / "new" / "dir")
    assert [r.getMessage() for r in caplog.records] == [f"{wide} is open to other users (mode 755): chmod 700 {wide}"]
    assert mode(tmp_path / "new" / "dir") == 0o700


@pytest.fixture(scope="module")
def private_stack():
    """A stack started the way `make run` starts one: the run dir made under `umask 077`, the data dir
    left for the crud_worker to create; the test's own umask is the usual 022."""
    with umask(0o022):
        s = Stack(LLM_BACKEND="demo", GHOSTWIRE_DEMO_RATE="0")
        s.run_dir.chmod(0o700)
        try:
            yield s.start()
        finally:
            s.stop()


def test_a_running_stack_keeps_its_files_private(private_stack):
    s = private_stack
    assert s.http.post("/tasks", data={"name": "a private task"}).status_code == 200
    data = sorted(s.data_dir.iterdir())
    assert {p.name for p in data} >= {"ghostwire.db", "ghostwire.db-wal", "ghostwire.db-shm"}
    # supervisord.pid (a number, no secret) takes the umask supervisord was started with: `make run`
    # starts it under umask 077; this harness doesn't. Everything the four processes make is checked.
    run = [p for p in s.run_dir.iterdir() if p.name != "supervisord.pid"]
    assert {p.name for p in run} >= {"broker.lock", "events-in.sock", "supervisor.sock"}
    assert_private(s.data_dir, *data, s.run_dir, *run)
    assert "open to other users" not in s.log()


def test_a_run_dir_made_wider_is_warned_about_at_start(stack):
    """The shared stack's harness makes its run dir with the test's umask (0755): the broker says so."""
    assert mode(stack.run_dir) & 0o077, "this stack's run dir is wide"
    assert f"{stack.run_dir} is open to other users" in stack.log()


def test_make_run_makes_its_dirs_and_log_under_umask_077():
    """`make run` creates the run and data dirs and appends the whole log to the run dir: all private."""
    recipe = (Path(__file__).resolve().parents[2] / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n")[0]
    mkdir, start = [line for line in recipe.splitlines() if "mkdir" in line or "tee" in line or "supervisord" in line][:2]
    assert "umask 077" in mkdir and mkdir.index("umask 077") < mkdir.index("mkdir -p")
    assert start.strip().startswith("umask 077;"), start
