"""Security tests: one default stack shared by the HTTP and browser modules (test_secrets starts its own,
with keys and a token), and the session's tallies."""

from __future__ import annotations

from tests.faults.helpers import print_summary
from tests.fixtures import stack_fixtures

fake_ollama, stack = stack_fixtures("package")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    print_summary(terminalreporter)
