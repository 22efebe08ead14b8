"""Model backends behind one protocol (see base.py), and the one factory that builds one by name.

`auto` is not a backend: the selector probes Ollama, then the local engine, and falls back to the demo
model itself.
"""

from __future__ import annotations

from llm_worker.backends.base import Backend
from llm_worker.settings import NAMES, LlmSettings

__all__ = ["NAMES", "make_backend"]


def make_backend(cfg: LlmSettings, name: str | None = None) -> Backend:
    """The backend called `name` (default: the configured one, where `auto` starts as Ollama)."""
    name = name or ("ollama" if cfg.backend == "auto" else cfg.backend)
    timeouts = {"first_token_timeout": cfg.first_token_timeout, "inter_token_timeout": cfg.inter_token_timeout}
    match name:
        case "ollama":
            from llm_worker.backends.ollama import OllamaBackend
            return OllamaBackend(cfg.ollama_host, cfg.model, **timeouts)
        case "openai":
            from llm_worker.backends.openai import OpenAIBackend
            return OpenAIBackend(cfg.openai_base_url, cfg.openai_api_key, cfg.model, **timeouts)
        case "anthropic":
            from llm_worker.backends.anthropic import AnthropicBackend
            return AnthropicBackend(cfg.anthropic_api_key, cfg.model, cfg.anthropic_base_url, **timeouts)
        case "local":
            from llm_worker.backends.local import LocalBackend
            return LocalBackend(cfg.local.url, cfg.common.run_dir, **timeouts)
        case "demo":
            from llm_worker.backends.demo import DemoBackend
            return DemoBackend(rate=cfg.demo_rate)
    raise ValueError(f"unknown LLM backend {name!r}; expected one of {', '.join(NAMES)}")
