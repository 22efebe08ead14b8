import pytest

from tests.fakes import FakeOllama
from tests.stack import Stack


@pytest.fixture(scope="module")
def fake_ollama():
    with FakeOllama() as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(fake_ollama):
    """The four real processes, talking to the fake Ollama over real HTTP."""
    s = Stack(LLM_BACKEND="ollama", OLLAMA_HOST=fake_ollama.url)
    try:
        yield s.start()
    finally:
        s.stop()
