import pytest

from llm_worker.backends import (
    AnthropicBackend, DemoBackend, OllamaBackend, OpenAIBackend, make_backend, settings_from_env,
)
from llm_worker.backends.base import BackendError


def test_each_name_builds_its_backend():
    assert isinstance(make_backend("ollama", ollama_host="gpu:11434", model="qwen3"), OllamaBackend)
    assert isinstance(make_backend("openai", openai_api_key="k", model="m"), OpenAIBackend)
    assert isinstance(make_backend("anthropic", anthropic_api_key="k", model="m"), AnthropicBackend)
    assert isinstance(make_backend("demo", demo_rate=0), DemoBackend)


def test_settings_reach_the_backend():
    backend = make_backend("ollama", ollama_host="gpu:11434", model="qwen3", first_token_timeout=5,
                           inter_token_timeout=2)
    assert (backend.host, backend.model, backend.first_token_timeout, backend.inter_token_timeout) == \
        ("http://gpu:11434", "qwen3", 5, 2)


def test_unknown_and_auto_are_refused():
    for name in ("auto", "gpt"):
        with pytest.raises(ValueError):
            make_backend(name)


def test_anthropic_without_key_says_which_variable():
    with pytest.raises(BackendError) as info:
        make_backend("anthropic")
    assert info.value.kind == "auth" and "ANTHROPIC_API_KEY" in info.value.message


def test_settings_from_env():
    env = {"OLLAMA_HOST": "box:1", "LLM_MODEL": "m", "OPENAI_API_KEY": "sk-x", "LLM_FIRST_TOKEN_TIMEOUT": "90",
           "LLM_INTER_TOKEN_TIMEOUT": "", "UNRELATED": "1"}
    assert settings_from_env(env) == {"ollama_host": "box:1", "model": "m", "openai_api_key": "sk-x",
                                      "first_token_timeout": 90.0}
    with pytest.raises(ValueError, match="LLM_INTER_TOKEN_TIMEOUT"):
        settings_from_env({"LLM_INTER_TOKEN_TIMEOUT": "soon"})


def test_keys_stay_out_of_reprs():
    for backend in (make_backend("openai", openai_api_key="sk-SECRET"),
                    make_backend("anthropic", anthropic_api_key="sk-SECRET")):
        assert "SECRET" not in repr(backend)
