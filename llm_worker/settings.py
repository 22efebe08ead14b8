"""The llm_worker's settings (see `bus.settings` for how they are declared and read).
The API keys live here and nowhere else."""

from __future__ import annotations

import dataclasses

from bus.settings import Common, masked, var
from models.local import LocalSettings

NAMES = ("ollama", "openai", "anthropic", "local", "demo")  # every backend llm_worker/backends/ can build
STRUCTURED = ("auto", "on", "off")


@dataclasses.dataclass(frozen=True, repr=False)
class LlmSettings:
    common: Common = dataclasses.field(default_factory=Common)
    local: LocalSettings = dataclasses.field(default_factory=LocalSettings)  # the engine's file and port
    backend: str = var("LLM_BACKEND", "auto", choices=("auto", *NAMES))
    model: str = var("LLM_MODEL", "", doc_default="best chat model found")
    ollama_host: str = var("OLLAMA_HOST", "http://127.0.0.1:11434")
    openai_base_url: str = var("OPENAI_BASE_URL", "https://api.openai.com/v1")
    openai_api_key: str = var("OPENAI_API_KEY", "", secret=True)
    anthropic_api_key: str = var("ANTHROPIC_API_KEY", "", secret=True)
    anthropic_base_url: str = var("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
    first_token_timeout: float = var("LLM_FIRST_TOKEN_TIMEOUT", 300.0)
    inter_token_timeout: float = var("LLM_INTER_TOKEN_TIMEOUT", 60.0)
    demo_rate: float = var("GHOSTWIRE_DEMO_RATE", 40.0)
    slots: int = var("GHOSTWIRE_LLM_SLOTS", 4)
    max_reply_chars: int = var("GHOSTWIRE_MAX_REPLY_CHARS", 200_000)
    # Constrain replies to {"say", "commands"} by the server's grammar (backends/structured.py); auto: on for
    # a local OpenAI-compatible server (llama.cpp, LM Studio, vLLM), where small models write no JSON unaided.
    structured: str = var("LLM_STRUCTURED", "off", choices=STRUCTURED)
    structured_order: str = var("LLM_STRUCTURED_ORDER", "say-first", choices=("say-first", "commands-first"))

    __repr__ = masked
