"""Which backend answers the next job. `auto` uses Ollama when it answers with a chat model,
else the demo model, and keeps probing so starting Ollama later switches over by itself."""

from __future__ import annotations

import logging

from bus import contract as c
from llm_worker.backends import make_backend
from llm_worker.backends.base import Backend, ModelInfo, Probe
from llm_worker.backends.demo import DemoBackend
from llm_worker.backends.ollama_models import is_chat_model
from llm_worker.backends.openai import is_local
from llm_worker.settings import LlmSettings

log = logging.getLogger(__name__)
PROBE_FAST_S = 3.0   # while on the demo model or a backend is down
PROBE_SLOW_S = 30.0  # while everything answers
STRUCTURED_BACKENDS = ("openai", "ollama")  # those whose servers take a reply schema

DEMO_NOTE = ("No Ollama answered at {host}, so this is the built-in demo model. For a real one: install "
             "Ollama from ollama.com, run `ollama pull llama3.2`, and Ghostwire switches over by itself.")


def _chat(m: ModelInfo) -> bool:
    """Ollama says what a model can do; other servers' lists don't, so judge those by name."""
    return is_chat_model(m) if m.capabilities else "embed" not in m.name.lower()


class Selector:
    def __init__(self, cfg: LlmSettings):
        self.cfg = cfg
        self.primary = make_backend(cfg)
        self.demo = DemoBackend(rate=cfg.demo_rate)
        self.backend: Backend = self.demo if cfg.backend == "auto" else self.primary
        self.probe = Probe(reachable=False, detail="not probed yet")

    @property
    def model(self) -> str:
        return self.probe.model

    def interval(self) -> float:
        healthy = self.probe.reachable and self.backend is self.primary
        return PROBE_SLOW_S if healthy else PROBE_FAST_S

    async def refresh(self) -> None:
        if self.primary.streaming and not self.primary.probe_while_streaming:
            # A probe now could cut a reply off (llama-cpp-python interrupts a stream for any other
            # request) or wait on a one-slot server; a streaming server is reachable anyway.
            return
        probe = await self.primary.probe()
        if probe.busy and self.probe.reachable:
            # Connected but slow to list its models: serving someone else. Keep what we knew.
            probe = Probe(reachable=True, models=self.probe.models, model=self.probe.model, detail=probe.detail,
                          context=self.probe.context)
        if self.cfg.backend == "auto":
            usable = probe.reachable and bool(probe.model)
            chosen = self.primary if usable else self.demo
            if not usable:
                probe = await self.demo.probe()
                probe = Probe(reachable=True, models=probe.models, model=probe.model,
                              detail=DEMO_NOTE.format(host=self.cfg.ollama_host))
            if chosen is not self.backend:
                log.info("switching to the %s backend (%s)", chosen.name, probe.model)
            self.backend = chosen
        elif probe != self.probe and not probe.reachable:
            log.warning("%s backend: %s", self.primary.name, probe.detail)
        self.probe = probe

    def supports_tools(self, model: str) -> bool:
        """Native tool calling only where it is known to work: cloud APIs, or an Ollama model that says so."""
        if self.backend.name in ("openai", "anthropic"):
            return True
        return any(m.name == model and "tools" in m.capabilities for m in self.probe.models)

    def structured(self) -> bool:
        """Structured output for the next reply: where the server constrains replies to a schema (Ollama,
        OpenAI-compatible; Anthropic's API has no such mode) and the setting asks for it."""
        mode = self.cfg.structured
        if mode == "off" or self.backend is not self.primary or self.backend.name not in STRUCTURED_BACKENDS:
            return False
        return mode == "on" or (self.backend.name == "openai" and is_local(self.cfg.openai_base_url))

    def status(self) -> c.LlmStatus:
        return c.LlmStatus(backend=self.backend.name, model=self.probe.model, reachable=self.probe.reachable,
                           note=self.probe.detail, models=[m.name for m in self.probe.models if _chat(m)][:50],
                           context=self.probe.context)
