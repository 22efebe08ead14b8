"""llama-cpp-python's OpenAI-compatible server on a free port, as a test fixture's real model server."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.procs import cpu_seconds
from tests.engine import provision
from tests.stack import free_port
from tests.util import wait_for

# llama.cpp prints this after each completion: what the engine itself measured.
PERF = re.compile(r"^\S+:\s+eval time =\s+([\d.]+) ms /\s+(\d+) runs", re.M)  # not "prompt eval time"
# Per completion: the prompt's prefix reused from the last one (if any), then the tokens evaluated now.
CONTEXT = re.compile(r"(\d+) prefix-match hit|^\S+:\s+total time =\s+[\d.]+ ms /\s+(\d+) tokens", re.M)
# What llama-cpp-python logs when a stream ends before its finish: the client went away (Stop), or
# another request interrupted it (interrupt_requests=True).
CUT_SHORT = "Disconnected from client"
START_TIMEOUT_S = 90  # loading a 98 MB model takes a second or two; a busy 2-core machine, longer


def why_unavailable() -> str | None:
    """The reason the engine tests cannot run here, or None when they can."""
    hint = "run `make engine` (`make test` does)"
    note = provision.unavailable_note()
    if note.exists():
        return f"no real engine: `make engine` said: {note.read_text().strip()}"
    if importlib.util.find_spec("llama_cpp") is None:
        return f"no real engine: llama-cpp-python is not installed in this environment; {hint}"
    if not provision.model_path().exists():
        return f"no real model: {provision.model_path()} is missing; {hint}"
    return None


def eval_speed(*logs: str) -> str:
    """The engine's own generation timing over every completion in these server logs, in words."""
    runs = [(float(ms), int(n)) for log in logs for ms, n in PERF.findall(log)]
    ms, n = sum(r[0] for r in runs), sum(r[1] for r in runs)
    if not n:
        return "engine speed: no completion timed"
    return (f"engine speed: {n:,} tokens generated in {ms / 1000:.1f} s of eval over {len(runs)} completions "
            f"= {n / (ms / 1000):.0f} tokens/s")


class EngineServer:
    """One `python -m llama_cpp.server` process; its log is kept in a temp file for the test to read."""

    def __init__(self, n_ctx: int, *extra: str):
        self.n_ctx = n_ctx
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = Path(tempfile.mkstemp(prefix="engine", suffix=".log")[1])
        self.args = [sys.executable, "-m", "llama_cpp.server", "--model", str(provision.model_path()),
                     "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(n_ctx), *extra]
        self.proc: subprocess.Popen | None = None

    def start(self) -> "EngineServer":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._answers, START_TIMEOUT_S, interval=0.2, what=f"llama_cpp.server on {self.url} (log: {self.log_path})")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"llama_cpp.server exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/models", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def model_id(self) -> str:
        return httpx.get(f"{self.url}/models", timeout=10).json()["data"][0]["id"]

    def cpu_rate(self, window: float = 0.5) -> float:
        """Cores' worth of CPU the server used over the next `window` seconds (a measurement, not a wait)."""
        before, t0 = cpu_seconds(self.proc.pid), time.monotonic()
        time.sleep(window)
        return (cpu_seconds(self.proc.pid) - before) / (time.monotonic() - t0)

    def context_used(self, since: int = 0) -> list[int]:
        """Tokens in the context (prompt + generated) at the end of each completion since `since`."""
        used, reused = [], 0
        for prefix, total in CONTEXT.findall(self.log(since)):
            if prefix:
                reused = int(prefix)
            else:
                used.append(reused + int(total))
                reused = 0
        return used

    def log(self, since: int = 0) -> str:
        """The server's log, from character `since` on (`len(server.log())` marks a point)."""
        return self.log_path.read_text(errors="replace")[since:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if not os.environ.get("GHOSTWIRE_KEEP_TEST_DIRS"):
            self.log_path.unlink(missing_ok=True)
