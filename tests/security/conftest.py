"""Security tests: one default stack shared by the HTTP and browser modules (test_secrets starts its own,
with keys and a token), and the session's tallies."""

from __future__ import annotations

import pytest

from tests.faults.helpers import print_summary
from tests.fakes import FakeOllama
from tests.stack import running


@pytest.fixture(scope="package")
def fake_ollama():
    with FakeOllama() as fake:
        yield fake


@pytest.fixture(scope="package")
def stack(fake_ollama):
    with running(fake_ollama) as s:
        yield s


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    print_summary(terminalreporter)
