"""Start and stop: `make run` for real; the tallies at the end of the session."""

from tests.faults.helpers import print_summary


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    print_summary(terminalreporter)
