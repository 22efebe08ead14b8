"""A clean start: a message sent the moment the page first answers is never refused because a worker
has not announced itself yet (the web waits a few seconds for it), and /health says 503, naming what
is missing, until all four processes are up."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import yaml

from tests.faults.helpers import PROCESSES
from tests.report import STATS
from tests.lifecycle.makerun import MakeRun, alive
from tests.stack import ROOT
from tests.util import wait_for

COLD_STARTS = 5
START_TIMEOUT_S = 60.0


def first_page(run: MakeRun) -> float:
    """Poll GET / until it answers; return when it did."""
    def answered() -> bool:
        try:
            return run.http.get("/").status_code == 200
        except httpx.TransportError:
            return False
    wait_for(answered, START_TIMEOUT_S, interval=0.01, what=f"the page to answer ({run.terminal_path})")
    return time.monotonic()


def reply_status(run: MakeRun, reply_id: str) -> str | None:
    try:
        db = sqlite3.connect(f"file:{run.data_dir / 'ghostwire.db'}?mode=ro", uri=True)
    except sqlite3.OperationalError:
        return None
    try:
        row = db.execute("SELECT status FROM messages WHERE id = ?", [reply_id]).fetchone()
    finally:
        db.close()
    return row[0] if row else None


def test_requests_made_the_moment_the_page_answers_are_never_refused():
    held_ms = []
    for n in range(COLD_STARTS):
        run = MakeRun().start()
        try:
            answered_at = first_page(run)
            r = run.http.post("/chat", data={"msg": f"add cold start {n}"})
            held_ms.append(round((time.monotonic() - answered_at) * 1000))
            assert r.status_code == 200, f"cold start {n}: refused: {r.text}"
            task = run.http.post("/tasks", data={"name": f"clicked at cold start {n}"})
            assert task.status_code == 200, f"cold start {n}: the task was refused: {task.text}"

            # /health is 503 while anything is missing (naming it), 200 once all four are up.
            saw_503 = False

            def health_ok() -> bool:
                nonlocal saw_503
                h = run.http.get("/health")
                body = h.json()
                assert (h.status_code == 200) == (not body["missing"]) == body["ok"], (h.status_code, body)
                saw_503 |= bool(body["missing"])
                return h.status_code == 200
            wait_for(health_ok, 30, interval=0.05, what="/health 200")
            assert run.http.get("/health").json()["missing"] == []
            STATS["clean start"]["starts where /health said 503 first"] += saw_503
            wait_for(lambda: reply_status(run, r.headers["ghostwire-reply-id"]) == "done", 30,
                     what=f"cold start {n}: the reply stored")
            STATS["clean start"]["cold starts"] += 1
            STATS["clean start"]["messages never refused"] += 1
        finally:
            ours = run.ours()
            os.killpg(run.proc.pid, signal.SIGTERM)
            wait_for(lambda: not any(alive(p) for p in ours), 15, what="the run stopped")
            run.close()
    STATS["clean start"]["first POST answered after ms (max)"] = max(held_ms)


def compose_probe(stack) -> int:
    """docker-compose.yml's healthcheck for the app, run against this stack: its exit status."""
    test = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["app"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    return subprocess.run([sys.executable, "-c", test[3]], env=stack.env, capture_output=True, timeout=10).returncode


def test_health_is_503_and_names_the_missing_process(stack):
    """On a running stack, a stopped process shows in `missing` and /health answers 503 until it is back;
    the compose healthcheck follows it."""
    assert stack.http.get("/health").status_code == 200
    assert compose_probe(stack) == 0
    stack.ctl("stop", "crud_worker")
    try:
        def says_missing() -> bool:
            h = stack.http.get("/health")
            return h.status_code == 503 and h.json()["missing"] == ["crud_worker"]
        wait_for(says_missing, 15, interval=0.1, what="/health 503 naming crud_worker")
        # Once it was up and went quiet it is down: refused at once, not after the start-up grace.
        t0 = time.monotonic()
        r = stack.http.post("/tasks", data={"name": "while the database worker is stopped"})
        assert r.status_code == 422 and "crud_worker" in r.text
        STATS["clean start"]["refusal of a stopped worker ms"] = round((time.monotonic() - t0) * 1000)
        assert compose_probe(stack) != 0, "the compose healthcheck passed with crud_worker down"
    finally:
        stack.ctl("start", "crud_worker")
    wait_for(lambda: stack.http.get("/health").status_code == 200, 30, interval=0.1, what="/health 200 again")
    assert set(stack.health()["processes"]) == set(PROCESSES)
