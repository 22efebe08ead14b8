"""A fake Ollama and the four real processes talking to it, as a pair of fixtures of a chosen scope:
`fake_ollama, stack = stack_fixtures("package")` in a conftest or test module."""

from __future__ import annotations

import pytest

from tests.fakes import FakeOllama
from tests.stack import Stack


def stack_fixtures(scope: str, **env: str):
    @pytest.fixture(scope=scope)
    def fake_ollama():
        with FakeOllama() as fake:
            yield fake

    @pytest.fixture(scope=scope)
    def stack(fake_ollama):
        s = Stack(LLM_BACKEND="ollama", OLLAMA_HOST=fake_ollama.url, **env)
        try:
            yield s.start()
        finally:
            s.stop()

    return fake_ollama, stack
