import pytest

from tests.fakes import FakeOllama
from tests.stack import running


@pytest.fixture(scope="module")
def fake_ollama():
    with FakeOllama() as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(fake_ollama):
    """The four real processes, talking to the fake Ollama over real HTTP."""
    with running(fake_ollama) as s:
        yield s
