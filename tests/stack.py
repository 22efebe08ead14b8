"""The real four processes under the real supervisord.conf, in a throwaway run and data dir."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.util import wait_for

ROOT = Path(__file__).resolve().parents[1]
# An empty model cache, so the machine's fetched models don't turn `auto` into the local engine in a
# test that didn't ask for it (a test that does names its own GHOSTWIRE_CACHE_DIR or LLM_MODEL_PATH).
NO_MODELS = Path(tempfile.mkdtemp(prefix="gw-nomodels-"))
atexit.register(shutil.rmtree, NO_MODELS, True)
BIN = Path(sys.executable).parent
HX = {"HX-Request": "true"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment, minus anything of the developer's that would steer the app."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GHOSTWIRE_", "LLM_", "OLLAMA_", "OPENAI_", "ANTHROPIC_"))}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["GHOSTWIRE_CACHE_DIR"] = str(NO_MODELS)
    env.update(extra)
    return env


class Stack:
    def __init__(self, **env: str):
        self.base = Path(tempfile.mkdtemp(prefix="gw", dir="/tmp"))  # short: ipc paths max out at 107 chars
        self.run_dir, self.data_dir = self.base / "run", self.base / "data"
        self.run_dir.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Its own engine port, so stacks (and a developer's running app) never share one.
        self.env = clean_env(GHOSTWIRE_RUN_DIR=str(self.run_dir), GHOSTWIRE_DATA_DIR=str(self.data_dir),
                             GHOSTWIRE_PORT=str(self.port), **{"GHOSTWIRE_ENGINE_PORT": str(free_port()), **env})
        self.log_path = self.base / "supervisord.log"
        self.proc: subprocess.Popen | None = None
        self.http = httpx.Client(base_url=self.url, timeout=10, headers=HX)

    def start(self, timeout: float = 30) -> "Stack":
        log = open(self.log_path, "ab")  # O_APPEND: children's lines must not overwrite each other
        self.proc = subprocess.Popen([str(BIN / "supervisord"), "-c", str(ROOT / "supervisord.conf")],
                                     cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for(self.healthy, timeout, interval=0.1, what=f"a healthy stack (log: {self.log_path})")
        return self

    def healthy(self) -> bool:
        try:
            body = self.http.get("/health").json()
        except (httpx.HTTPError, ValueError):
            return False
        if not isinstance(body, dict) or "ok" not in body:  # not ours: another server took the port first
            raise RuntimeError(f"something else answers on port {self.port}: {str(body)[:200]}")
        return body["ok"] and bool(body["processes"]["llm_worker"]["workers"])

    def health(self) -> dict:
        return self.http.get("/health").json()

    def ctl(self, *args: str) -> str:
        out = subprocess.run([str(BIN / "supervisorctl"), "-c", str(ROOT / "supervisord.conf"), *args],
                             cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=30)
        return out.stdout + out.stderr

    def pid(self, program: str) -> int:
        return int(self.ctl("pid", program).strip())

    def chat(self, text: str) -> str:
        """Post a message; return the assistant reply's id."""
        r = self.http.post("/chat", data={"msg": text})
        assert r.status_code == 200, r.text
        return r.headers["ghostwire-reply-id"]

    @contextlib.contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection, closed on leaving the block (sqlite3's own `with` only commits)."""
        db = sqlite3.connect(f"file:{self.data_dir / 'ghostwire.db'}?mode=ro", uri=True)
        try:
            yield db
        finally:
            db.close()

    def message(self, msg_id: str) -> tuple | None:
        with self.db() as db:
            return db.execute("SELECT role, status, content, error FROM messages WHERE id = ?", [msg_id]).fetchone()

    def wait_message(self, msg_id: str, timeout: float = 15) -> tuple:
        return wait_for(lambda: self.message(msg_id), timeout, what=f"message {msg_id} stored")

    def tasks(self) -> list[tuple]:
        with self.db() as db:
            return db.execute("SELECT id, name, done, priority FROM tasks ORDER BY priority, id").fetchall()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.http.close()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if not os.environ.get("GHOSTWIRE_KEEP_TEST_DIRS"):  # =1 keeps each stack's log and database
            shutil.rmtree(self.base, ignore_errors=True)
