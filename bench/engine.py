"""The local engine for a bench: one already running (its root URL), or `python -m engine` started on a
free port for the run and stopped after it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench.procs import machine
from tests.stack import clean_env, free_port
from tests.util import wait_for

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 180  # loading the 1.5B takes seconds alone; on a shared 2-core machine, longer


class Engine:
    def __init__(self, url: str | None = None):
        self.url = (url or "").rstrip("/")
        self.proc: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix="engine-", suffix=".log")[1])

    def __enter__(self) -> Engine:
        if not self.url:
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen([sys.executable, "-m", "engine"], cwd=ROOT, stdout=log,
                                             stderr=subprocess.STDOUT,
                                             env=clean_env(GHOSTWIRE_ENGINE_PORT=str(port),
                                                           **{k: v for k, v in os.environ.items()
                                                              if k in ("LLM_MODEL_PATH", "LLM_NUM_CTX")}))
        wait_for(self.up, START_TIMEOUT_S, interval=0.5, what=f"the engine at {self.url} (log: {self.log})")
        return self

    def up(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"the engine exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def describe(self) -> dict:
        props = httpx.get(f"{self.url}/props", timeout=10).json()
        return {**machine(), "model": Path(props.get("model_path", "")).name,
                "n_ctx": (props.get("default_generation_settings") or {}).get("n_ctx"),
                "slots": props.get("total_slots")}

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
