"""Fault tests: their own stacks, and a summary of what they did at the end of the session.

How many seeded kill runs each process gets:
  default suite     GHOSTWIRE_FAULT_RUNS (default 2 per process)
  `-m slow`         GHOSTWIRE_FAULT_RUNS_SLOW (default 50 per process)
The seed is GHOSTWIRE_FAULT_SEED (default 7); a failing run prints its seed and run number.
"""

from __future__ import annotations

import pytest

from tests.faults.helpers import print_summary


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    print_summary(terminalreporter)
