"""MCP tests: each module its own stack (the root conftest's), and the session's tallies."""

from __future__ import annotations

from tests.faults.helpers import print_summary


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    print_summary(terminalreporter)
