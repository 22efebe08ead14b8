"""Model backends behind one protocol (see base.py), and a factory that builds one by name.

`auto` is not handled here: the worker probes Ollama and falls back to the demo model itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from llm_worker.backends.anthropic import AnthropicBackend
from llm_worker.backends.base import Backend, BackendError
from llm_worker.backends.demo import DemoBackend
from llm_worker.backends.ollama import OllamaBackend
from llm_worker.backends.openai import OpenAIBackend

BACKENDS = ("ollama", "openai", "anthropic", "demo")


def make_backend(name: str, *, model: str = "", ollama_host: str = "http://127.0.0.1:11434",
                 openai_base_url: str = "https://api.openai.com/v1", openai_api_key: str = "",
                 anthropic_api_key: str = "", anthropic_base_url: str = "https://api.anthropic.com",
                 first_token_timeout: float = 300, inter_token_timeout: float = 60,
                 demo_rate: float = 40.0) -> Backend:
    timeouts = {"first_token_timeout": first_token_timeout, "inter_token_timeout": inter_token_timeout}
    if name == "ollama":
        return OllamaBackend(ollama_host, model, **timeouts)
    if name == "openai":
        return OpenAIBackend(openai_base_url, openai_api_key, model, **timeouts)
    if name == "anthropic":
        if not anthropic_api_key:
            raise BackendError("LLM_BACKEND=anthropic needs ANTHROPIC_API_KEY.", kind="auth")
        return AnthropicBackend(anthropic_api_key, model, anthropic_base_url, **timeouts)
    if name == "demo":
        return DemoBackend(rate=demo_rate)
    raise ValueError(f"unknown LLM backend {name!r}; expected one of {', '.join(BACKENDS)}")


def settings_from_env(env: Mapping[str, str] = os.environ) -> dict:
    """make_backend's keyword arguments from the documented environment variables (unset = default)."""
    names = {"model": "LLM_MODEL", "ollama_host": "OLLAMA_HOST", "openai_base_url": "OPENAI_BASE_URL",
             "openai_api_key": "OPENAI_API_KEY", "anthropic_api_key": "ANTHROPIC_API_KEY",
             "anthropic_base_url": "ANTHROPIC_BASE_URL"}
    settings: dict = {key: env[var] for key, var in names.items() if env.get(var)}
    timeouts = (("first_token_timeout", "LLM_FIRST_TOKEN_TIMEOUT"), ("inter_token_timeout", "LLM_INTER_TOKEN_TIMEOUT"))
    for key, var in timeouts:
        if env.get(var):
            try:
                settings[key] = float(env[var])
            except ValueError:
                raise ValueError(f"{var} must be a number of seconds, not {env[var]!r}") from None
    return settings


__all__ = ["BACKENDS", "AnthropicBackend", "DemoBackend", "OllamaBackend", "OpenAIBackend", "make_backend",
           "settings_from_env"]
