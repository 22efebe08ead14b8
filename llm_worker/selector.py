"""Which backend answers the next job. `auto` uses Ollama when it answers with a chat model, else the
local engine when a model file is there (fetched, or LLM_MODEL_PATH), else the demo model, and keeps
probing so starting Ollama or fetching a model later switches over by itself. The note says which and why."""

from __future__ import annotations

import asyncio
import logging

from bus import contract as c
from llm_worker.backends import make_backend
from llm_worker.backends.base import Backend, ModelInfo, Probe
from llm_worker.backends.demo import DemoBackend
from llm_worker.backends.ollama_models import is_chat_model
from llm_worker.backends.openai import is_local
from llm_worker.engine_control import EngineControl
from llm_worker.settings import LlmSettings

log = logging.getLogger(__name__)
PROBE_FAST_S = 3.0   # while on the demo model or a backend is down
PROBE_SLOW_S = 30.0  # while everything answers
STRUCTURED_BACKENDS = ("openai", "ollama", "local")  # those whose servers take a reply schema

NO_OLLAMA = "No Ollama answered at {host}"
FETCH_HINT = ("For a real model: fetch one with the banner's button (or `!pull local`), or install Ollama from "
              "ollama.com and run `ollama pull llama3.2`; Ghostwire switches over by itself.")
DEMO_NOTE = NO_OLLAMA + " and no local model is fetched, so this is the built-in demo model. " + FETCH_HINT
LOADING_NOTE = NO_OLLAMA + ", so the demo model answers meanwhile. {why}"
LOCAL_NOTE = NO_OLLAMA + ", so this is the local engine with {file}."
NO_LOCAL_MODEL = ("LLM_BACKEND is local, but no local model is fetched yet and LLM_MODEL_PATH is not set, so this "
                  "is the demo model meanwhile. Fetch one with the banner's button, `!pull local` or `make model`.")
ENGINE_DOWN = {"FATAL": "The local engine stopped and won't start: {error}",
               "BACKOFF": "The local engine failed to start and is trying again: {error}",
               "unsupervised": "{detail}: no supervisord runs it here, so start it with `python -m engine`. {error}"}
LOADING = "The local engine is loading {file}…"


def _chat(m: ModelInfo) -> bool:
    """Ollama says what a model can do; other servers' lists don't, so judge those by name."""
    return is_chat_model(m) if m.capabilities else "embed" not in m.name.lower()


def _usable(probe: Probe) -> bool:
    return probe.reachable and bool(probe.model)


class Selector:
    def __init__(self, cfg: LlmSettings):
        self.cfg = cfg
        self.primary = make_backend(cfg)  # the configured backend; for `auto`, Ollama
        self.local = self.primary if cfg.backend == "local" else make_backend(cfg, "local") \
            if cfg.backend == "auto" else None
        self.engine = EngineControl(cfg.common.run_dir) if self.local else None
        self.demo = DemoBackend(rate=cfg.demo_rate)
        self.backend: Backend = self.demo if cfg.backend in ("auto", "local") else self.primary
        self.probe = Probe(reachable=False, detail="not probed yet")
        self._lock = asyncio.Lock()

    @property
    def model(self) -> str:
        return self.probe.model

    def interval(self) -> float:
        healthy = self.probe.reachable and self.backend is not self.demo
        return PROBE_SLOW_S if healthy or self.cfg.backend == "demo" else PROBE_FAST_S

    async def refresh(self) -> None:
        if any(b.streaming and not b.probe_while_streaming for b in (self.primary, self.local) if b):
            # A probe now could cut a reply off (llama-cpp-python interrupts a stream for any other
            # request) or wait on a one-slot server; a streaming server is reachable anyway.
            return
        async with self._lock:
            if self.cfg.backend == "auto":
                await self._auto()
            elif self.cfg.backend == "local":
                await self._local_only()
            else:
                probe = self._kept(await self.primary.probe())
                if probe != self.probe and not probe.reachable:
                    log.warning("%s backend: %s", self.primary.name, probe.detail)
                self._use(self.primary, probe)

    def _kept(self, probe: Probe) -> Probe:
        """Connected but slow to list its models: serving someone else. Keep what we knew."""
        if probe.busy and self.probe.reachable:
            return Probe(reachable=True, models=self.probe.models, model=self.probe.model, detail=probe.detail,
                         context=self.probe.context)
        return probe

    def _use(self, backend: Backend, probe: Probe) -> None:
        if backend is not self.backend:
            log.info("switching to the %s backend (%s)", backend.name, probe.model or probe.detail)
        self.backend, self.probe = backend, probe

    async def _use_demo(self, note: str) -> None:
        probe = await self.demo.probe()
        self._use(self.demo, Probe(reachable=True, models=probe.models, model=probe.model, detail=note))

    async def _auto(self) -> None:
        probe = self._kept(await self.primary.probe()) if self.backend is self.primary else await self.primary.probe()
        if _usable(probe):
            if self.backend is self.local and not self.local.streaming:
                await self.engine.stop()
            return self._use(self.primary, probe)
        host = self.cfg.ollama_host
        if (file := self.cfg.local.model_file()) is None:
            return await self._use_demo(DEMO_NOTE.format(host=host))
        local = await self._probe_local(file)
        if _usable(local):
            note = LOCAL_NOTE.format(host=host, file=file.name)
            return self._use(self.local, Probe(reachable=True, models=local.models, model=local.model,
                                               context=local.context, detail=note))
        await self._use_demo(LOADING_NOTE.format(host=host, why=local.detail))

    async def _local_only(self) -> None:
        if (file := self.cfg.local.model_file()) is None:
            return await self._use_demo(NO_LOCAL_MODEL)
        self._use(self.local, await self._probe_local(file))

    async def _probe_local(self, file) -> Probe:
        """Have supervisord run the engine for `file`, then ask the engine; a note says why it doesn't answer."""
        state = await self.engine.ensure(file)
        probe = self._kept(await self.local.probe()) if self.backend is self.local else await self.local.probe()
        if probe.reachable:
            return probe
        why = ENGINE_DOWN.get(state.state, LOADING)
        return Probe(reachable=False, detail=why.format(error=state.error or "see its log.", file=file.name,
                                                        detail=probe.detail.rstrip(".")).strip())

    def supports_tools(self, model: str) -> bool:
        """Native tool calling only where it is known to work: cloud APIs, or an Ollama model that says so."""
        if self.backend.name in ("openai", "anthropic"):
            return True
        return any(m.name == model and "tools" in m.capabilities for m in self.probe.models)

    def structured(self) -> bool:
        """Structured output for the next reply: where the server constrains replies to a schema (Ollama,
        OpenAI-compatible; Anthropic's API has no such mode) and the setting asks for it."""
        mode = self.cfg.structured
        if mode == "off" or self.backend is self.demo or self.backend.name not in STRUCTURED_BACKENDS:
            return False
        return mode == "on" or self.backend.name == "local" or (
            self.backend.name == "openai" and is_local(self.cfg.openai_base_url))

    def status(self) -> c.LlmStatus:
        return c.LlmStatus(backend=self.backend.name, model=self.probe.model, reachable=self.probe.reachable,
                           note=self.probe.detail, models=[m.name for m in self.probe.models if _chat(m)][:50],
                           context=self.probe.context)
