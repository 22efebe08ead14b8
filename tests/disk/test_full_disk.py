"""The data directory on a small tmpfs, filled up mid-run and then made read-only: writes fail with a
clear message in the page, nothing already stored is lost or corrupted (`PRAGMA integrity_check`),
the crud_worker keeps running, and the app carries on by itself once writes work again."""

from __future__ import annotations

import errno
import re
import signal
import subprocess

import pytest

from tests.report import STATS
from tests.fakes import Script
from tests.stack import Stack
from tests.util import SseReader, wait_for

DISK = "16m"
MAX_TRIES_UNTIL_FULL = 200  # SQLite reuses free pages first: a few writes may still fit


def mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=10)


@pytest.fixture(scope="module")
def disk_stack(fake_ollama):
    s = Stack(LLM_BACKEND="ollama", OLLAMA_HOST=fake_ollama.url)
    s.data_dir.mkdir()
    tried = mount("-t", "tmpfs", "-o", f"size={DISK}", "gwtestdata", str(s.data_dir))
    if tried.returncode:
        s.stop()
        pytest.skip(f"cannot mount a small tmpfs for the data dir: {tried.stderr.strip() or 'not root'}")
    try:
        yield s.start()
    finally:
        if s.proc and s.proc.poll() is None:
            s.proc.send_signal(signal.SIGTERM)
            s.proc.wait(30)
        subprocess.run(["umount", "-l", str(s.data_dir)], timeout=10)
        s.stop()


def snapshot(stack) -> tuple[list, list]:
    with stack.db() as db:
        return (db.execute("SELECT id, name, done FROM tasks ORDER BY id").fetchall(),
                db.execute("SELECT id, role, status, content FROM messages ORDER BY id").fetchall())


def integrity(stack) -> str:
    with stack.db() as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def fill(path) -> int:
    written = 0
    with open(path, "wb") as f:
        try:
            while True:
                written += f.write(b"\0" * 65536)
                f.flush()
        except OSError as err:
            assert err.errno == errno.ENOSPC, err
    return written


def add(stack, name: str):
    return stack.http.post("/tasks", data={"name": name})


def names(stack) -> set[str]:
    return {t[1] for t in stack.tasks()}


def test_a_full_disk_refuses_writes_clearly_loses_nothing_and_recovers(disk_stack, fake_ollama):
    stack = disk_stack
    for n in range(5):
        assert add(stack, f"kept {n}").status_code == 200
    fake_ollama.enqueue(Script(tokens=["stored", " before", " the", " disk", " filled"]))
    kept = stack.chat("a reply to keep")
    assert stack.wait_message(kept)[1:3] == ("done", "stored before the disk filled")
    before = snapshot(stack)
    crud_pid = stack.pid("crud_worker")

    filler = stack.data_dir / "filler"
    fill(filler)
    accepted, refused = [], None
    for n in range(MAX_TRIES_UNTIL_FULL):
        r = add(stack, f"while full {n}")
        if r.status_code != 200:
            refused = (f"while full {n}", r)
            break
        accepted.append(f"while full {n}")
    assert refused, f"{MAX_TRIES_UNTIL_FULL} writes fitted on a full disk: the test proved nothing"
    name, r = refused
    assert r.status_code == 422 and "the disk is full — nothing was saved" in r.text, r.text

    with SseReader(stack.url, tab="full") as sse:
        r = stack.http.post("/chat", data={"msg": "sent while the disk is full"})
        assert r.status_code == 422 and "the disk is full — nothing was saved" in r.text, r.text
        reply_id = wait_for(lambda: re.search(r'<article[^>]*id="msg-(a\w+)"', sse.text()), 10,
                            what="the reply's bubble in a watching tab").group(1)
        wait_for(lambda: f'<div id="msg-{reply_id}" hx-swap-oob="delete">' in sse.text(), 10,
                 what="withdrawn from it: never stored, nothing of it stays (the sender's tab says why)")
    assert stack.pid("crud_worker") == crud_pid, "a full disk must not crash the crud_worker"

    filler.unlink()
    r = add(stack, "after the disk had room again")  # the very next write works: no restart, no retry
    assert r.status_code == 200, r.text
    fake_ollama.enqueue(Script(tokens=["working", " again"]))
    reply = stack.chat("and now?")
    assert wait_for(lambda: stack.message(reply), 15, what="the reply stored")[1:3] == ("done", "working again")

    assert integrity(stack) == "ok"
    after = snapshot(stack)
    assert set(before[0]) <= set(after[0]) and set(before[1]) <= set(after[1]), "something stored was lost"
    assert name not in names(stack), "a refused write was half-saved"
    assert set(accepted) <= names(stack), "a write that was confirmed was lost"
    assert stack.pid("crud_worker") == crud_pid
    s = STATS["full disk"]
    s["writes refused"] += 2
    s["writes that still fitted"] += len(accepted)
    s["rows kept"] += len(before[0]) + len(before[1])
    s["integrity_check ok"] += 1


def test_a_read_only_disk_stops_the_crud_worker_clearly_and_it_comes_back_by_itself(disk_stack):
    """Linux won't remount a disk read-only under processes holding its files open for writing (the
    crud_worker, and the web's WAL index), so the read-only case a running app meets is a restart onto
    it (after a crash or a reboot; a disk the kernel remounted after errors): the crud_worker says why
    and exits, and supervisor keeps trying until it can write again."""
    stack = disk_stack
    assert add(stack, "before read-only").status_code == 200
    before = snapshot(stack)
    stack.ctl("stop", "web", "crud_worker")
    tried = mount("-o", "remount,ro", str(stack.data_dir))
    assert tried.returncode == 0, tried.stderr
    try:
        stack.ctl("start", "crud_worker")  # fails to stay up: supervisor retries with a growing back-off
        wait_for(lambda: "is read-only" in stack.log(), 15, what="the crud_worker to say why it can't start")
    finally:
        assert mount("-o", "remount,rw", str(stack.data_dir)).returncode == 0
    wait_for(lambda: " RUNNING " in f" {stack.ctl('status', 'crud_worker')} ", 60, interval=0.2,
             what="the crud_worker back by itself once the disk is writable")
    stack.ctl("start", "web")
    wait_for(stack.healthy, 30, interval=0.1, what="all four up")
    assert add(stack, "after read-only").status_code == 200
    assert integrity(stack) == "ok"
    assert set(before[0]) <= set(snapshot(stack)[0]), "something stored was lost"
    STATS["full disk"]["read-only restarts survived"] += 1
