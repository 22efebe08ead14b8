"""The local engine for a bench: one already running (its root URL), or `python -m engine`'s own server
started here on a free port for the run and stopped after it (`python -m bench.engine` is that process).

A bench's engine is its own, on loopback for one run, so it takes no key (the app's engine does: see
engine/__main__.py) and the stack talks to it as a plain OpenAI-compatible server. `greedy` makes a run
repeat (temperature 0, a fixed seed), for the accuracy bench; its log says how many prompt tokens each
completion evaluated."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench.procs import machine
from tests.stack import clean_env, free_port
from tests.util import wait_for

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 300  # loading the 1.5B takes seconds alone; on a shared 2-core machine, longer
SEED = 1234
EVALUATED = re.compile(r"prompt eval time =\s+[\d.]+ ms /\s+(\d+) tokens")


class Engine:
    def __init__(self, url: str | None = None, *, model_path: Path | None = None, n_ctx: int = 0,
                 threads: int = 0, greedy: bool = False):
        self.url = (url or "").rstrip("/")
        self.model_path, self.n_ctx, self.threads, self.greedy = model_path, n_ctx, threads, greedy
        self.proc: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix="engine-", suffix=".log")[1])

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def unavailable(self) -> str:
        path = self.model_path
        return "" if path is None or path.is_file() else f"no model file at {path}: fetch it first (make model)"

    def __enter__(self) -> Engine:
        if not self.url:
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            env = {k: v for k, v in os.environ.items() if k in ("LLM_MODEL_PATH", "LLM_NUM_CTX")}
            env.update({k: str(v) for k, v in (("LLM_MODEL_PATH", self.model_path), ("LLM_NUM_CTX", self.n_ctx),
                                               ("GHOSTWIRE_ENGINE_THREADS", self.threads)) if v})
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen([sys.executable, "-m", "bench.engine", *(["--greedy"] * self.greedy)],
                                             cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                             env=clean_env(GHOSTWIRE_ENGINE_PORT=str(port), **env))
        wait_for(self.up, START_TIMEOUT_S, interval=0.5, what=f"the engine at {self.url} (log: {self.log})")
        return self

    def up(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"the engine exited: {self.log.read_text(errors='replace')[-2000:]}")
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def describe(self) -> dict:
        props = httpx.get(f"{self.url}/props", timeout=10).json()
        return {**machine(), "model": Path(props.get("model_path", "")).name,
                "n_ctx": (props.get("default_generation_settings") or {}).get("n_ctx"),
                "slots": props.get("total_slots")}

    def busy(self) -> bool:
        """A slot is working on a request (llama.cpp's own `/slots`)."""
        return any(slot.get("is_processing") for slot in httpx.get(f"{self.url}/slots", timeout=10).json())

    def log_size(self) -> int:
        return self.log.stat().st_size

    def evaluated_since(self, offset: int) -> int:
        """Prompt tokens the engine evaluated since the log was `offset` bytes long (its own count)."""
        with open(self.log, "rb") as f:
            f.seek(offset)
            return sum(int(n) for n in EVALUATED.findall(f.read().decode(errors="replace")))

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def main() -> None:
    import xllamacpp as xlc

    from bus import settings
    from engine import checks
    from engine.__main__ import params
    from engine.settings import EngineSettings

    cfg = settings.load(EngineSettings)
    p = params(cfg, checks.model_file(cfg.local.model_file()))  # LLM_MODEL_PATH, else the fetched model
    p.api_keys = []  # this run's own engine, on loopback: the stack talks to it as a plain server
    if "--greedy" in sys.argv:
        p.sampling.temp = 0.0
        p.sampling.seed = SEED
    server = xlc.Server(p)
    print(f"bench engine serving on {server.listening_address}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
