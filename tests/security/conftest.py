"""Security tests: one default stack shared by the HTTP and browser modules (test_secrets starts its own,
with keys and a token), and the session's tallies."""

from __future__ import annotations

import pytest

from tests.faults.helpers import print_summary
from tests.fakes import FakeOllama
from tests.stack import Stack


@pytest.fixture(scope="package")
def fake_ollama():
    with FakeOllama() as fake:
        yield fake


@pytest.fixture(scope="package")
def stack(fake_ollama):
    s = Stack(LLM_BACKEND="ollama", OLLAMA_HOST=fake_ollama.url)
    try:
        yield s.start()
    finally:
        s.stop()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    print_summary(terminalreporter)
