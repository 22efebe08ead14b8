"""The real engine (`python -m engine`: xllamacpp's llama.cpp server) and the real model it serves in
these tests, Qwen2.5-Coder-0.5B-Instruct (`make test` fetches it into the model cache once)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from models.catalogue import MODELS, model_path
from models.local import engine_key
from tests.stack import ROOT, clean_env, free_port
from tests.util import wait_for

MODEL = MODELS["0.5b"]
# llama.cpp prints this after each completion: what the engine itself measured ("prompt eval time" apart).
PERF = re.compile(r"(?<!prompt )eval time =\s+([\d.]+) ms /\s+(\d+) tokens")
PROMPT = re.compile(r"prompt eval time =\s+([\d.]+) ms /\s+(\d+) tokens")
START_TIMEOUT_S = 90  # loading 491 MB takes a second or two; a busy 2-core machine, longer


def model_file() -> Path:
    return model_path(MODEL)


def why_unavailable() -> str | None:
    """The reason the engine tests cannot run here, or None when they can."""
    if not model_file().is_file():
        return (f"no real model: {model_file()} is missing; `make test` fetches it (`python -m models fetch "
                f"{MODEL.key}`), and that fetch failed or did not run")
    return None


def eval_speed(*logs: str) -> str:
    """The engine's own timing over every completion in these logs, in words."""
    runs = [(float(ms), int(n)) for log in logs for ms, n in PERF.findall(log)]
    prompts = [(float(ms), int(n)) for log in logs for ms, n in PROMPT.findall(log)]
    ms, n = sum(r[0] for r in runs), sum(r[1] for r in runs)
    if not n:
        return "engine speed: no completion timed"
    pms, pn = sum(r[0] for r in prompts), sum(r[1] for r in prompts)
    return (f"engine speed: {n:,} tokens generated in {ms / 1000:.1f} s over {len(runs)} completions = "
            f"{n / (ms / 1000):.0f} tokens/s; {pn:,} prompt tokens at {pn / (pms / 1000):.0f} tokens/s")


class EngineServer:
    """One `python -m engine` on a free port, outside supervisord; its output kept in a temp file."""

    def __init__(self, n_ctx: int, model: Path | None = None, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.run_dir = Path(tempfile.mkdtemp(prefix="gwengine"))
        self.log_path = self.run_dir / "engine.log"
        self.env = clean_env(LLM_MODEL_PATH=str(model or model_file()), GHOSTWIRE_ENGINE_PORT=str(self.port),
                             LLM_NUM_CTX=str(n_ctx), GHOSTWIRE_RUN_DIR=str(self.run_dir), **env)
        self.proc: subprocess.Popen | None = None
        self.popen: dict = {}  # more for subprocess.Popen (a test's resource limit)

    def spawn(self) -> "EngineServer":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "engine"], cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True, **self.popen)
        return self

    def start(self) -> "EngineServer":
        self.spawn()
        wait_for(self._answers, START_TIMEOUT_S, interval=0.2, what=f"the engine on {self.url} (log: {self.log_path})")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the engine exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
        try:
            return httpx.get(f"{self.url.removesuffix('/v1')}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def headers(self) -> dict[str, str]:
        """What a client of this engine sends: its key (the engine made it in its run dir)."""
        return {"Authorization": f"Bearer {engine_key(self.run_dir)}"}

    def log(self, since: int = 0) -> str:
        return self.log_path.read_text(errors="replace")[since:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
