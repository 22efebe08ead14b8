"""The one factory: each name in NAMES builds its backend from the one settings class."""

import dataclasses

import pytest

from bus import settings
from llm_worker.backends import NAMES, make_backend
from llm_worker.settings import LlmSettings

ENV = {"OLLAMA_HOST": "gpu:11434", "LLM_MODEL": "qwen3", "OPENAI_API_KEY": "sk-SECRET",
       "ANTHROPIC_API_KEY": "sk-SECRET", "LLM_FIRST_TOKEN_TIMEOUT": "5", "LLM_INTER_TOKEN_TIMEOUT": "2"}


def test_each_name_builds_its_backend():
    cfg = settings.load(LlmSettings, environ=ENV)
    assert {make_backend(cfg, name).name for name in NAMES} == set(NAMES)


def test_settings_reach_the_backend():
    backend = make_backend(settings.load(LlmSettings, environ=ENV), "ollama")
    assert (backend.host, backend.model, backend.first_token_timeout, backend.inter_token_timeout) == \
        ("http://gpu:11434", "qwen3", 5, 2)


def test_auto_starts_as_ollama_and_unknown_names_are_refused():
    cfg = settings.load(LlmSettings, environ={})
    assert cfg.backend == "auto" and make_backend(cfg).name == "ollama"
    with pytest.raises(ValueError, match="gpt"):
        make_backend(cfg, "gpt")
    with pytest.raises(SystemExit, match="LLM_BACKEND must be one of auto, ollama"):
        settings.load(LlmSettings, environ={"LLM_BACKEND": "gpt"})
    with pytest.raises(SystemExit, match="LLM_INTER_TOKEN_TIMEOUT must be a number"):
        settings.load(LlmSettings, environ={"LLM_INTER_TOKEN_TIMEOUT": "soon"})


def test_keys_stay_out_of_reprs():
    cfg = settings.load(LlmSettings, environ=ENV)
    assert "SECRET" not in repr(cfg) and "SECRET" not in repr(dataclasses.replace(cfg))
    for name in ("openai", "anthropic"):
        assert "SECRET" not in repr(make_backend(cfg, name))
