"""The engine for the accuracy bench: `python -m engine`'s own parameters, but greedy (temperature 0,
a fixed seed) so a run repeats. `python -m bench.greedy_engine` is that process; `GreedyEngine` starts it
on a free port with a model from the cache and reads its log (prompt tokens evaluated per completion)."""

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
from tests.stack import clean_env, free_port
from tests.util import wait_for

SEED = 1234
EVALUATED = re.compile(r"prompt eval time =\s+[\d.]+ ms /\s+(\d+) tokens")


class GreedyEngine:
    def __init__(self, model: str, n_ctx: int, threads: int = 0):
        self.path = model_path(MODELS[model])
        self.n_ctx, self.threads, self.port = n_ctx, threads, free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = Path(tempfile.mkstemp(prefix="greedy-engine", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    def unavailable(self) -> str:
        return "" if self.path.is_file() else f"no model file at {self.path}: fetch it first (make model)"

    def start(self) -> "GreedyEngine":
        env = clean_env(LLM_MODEL_PATH=str(self.path), LLM_NUM_CTX=str(self.n_ctx),
                        GHOSTWIRE_ENGINE_PORT=str(self.port), GHOSTWIRE_ENGINE_THREADS=str(self.threads))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bench.greedy_engine"], env=env, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1])
        wait_for(self._up, 300, interval=0.5, what=f"the engine (log: {self.log_path})")
        return self

    def _up(self) -> bool:
        if self.proc and self.proc.poll() is not None:
            raise RuntimeError(f"the engine exited: {self.log_path.read_text(errors='replace')[-2000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def evaluated_since(self, offset: int) -> int:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return sum(int(n) for n in EVALUATED.findall(f.read().decode(errors="replace")))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def main() -> None:
    import xllamacpp as xlc

    from bus import settings
    from engine.__main__ import params
    from engine.settings import EngineSettings

    cfg = settings.load(EngineSettings)
    p = params(cfg, os.environ["LLM_MODEL_PATH"])
    p.sampling.temp = 0.0
    p.sampling.seed = SEED
    p.api_keys = []  # the bench's stack talks to it as a plain OpenAI-compatible server, for one run
    server = xlc.Server(p)
    print(f"greedy engine serving on {server.listening_address}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
