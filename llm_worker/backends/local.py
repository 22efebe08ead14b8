"""The local engine (`python -m engine`: llama.cpp's own server on loopback), spoken to as the
OpenAI-compatible server it is. Only the words differ, and one fact: llama-server answers its model list
while it generates (it never cuts a stream for another request), so probing it mid-reply is safe."""

from __future__ import annotations

from pathlib import Path

import httpx

from llm_worker.backends.base import BackendError
from llm_worker.backends.openai import OpenAIBackend
from models.local import engine_key

SERVICE = "The local engine"


class LocalBackend(OpenAIBackend):
    name = "local"
    service = SERVICE
    key_var = "the engine's key (engine.key in the run dir)"

    def __init__(self, url: str, run_dir: Path, **kwargs):
        super().__init__(url, "", "", **kwargs)  # the engine serves one file: LLM_MODEL is not its model
        self.run_dir = run_dir

    def headers(self) -> dict[str, str]:
        if not self._api_key:  # read when first needed: the run dir is the app's, made when it starts
            self._api_key = engine_key(self.run_dir)
        return super().headers()
    probe_while_streaming = True

    def unreachable(self) -> str:
        return f"{SERVICE} is not answering at {self.url}; if it stopped, supervisord starts it again."

    def status_error(self, status: int, body: bytes, headers: httpx.Headers, model: str) -> BackendError:
        if status == 503:  # llama-server answers 503 "Loading model" until the GGUF is in memory
            return BackendError(f"{SERVICE} is still loading its model.", kind="unreachable")
        return super().status_error(status, body, headers, model)
