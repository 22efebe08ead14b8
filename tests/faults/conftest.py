"""Fault tests: one stack shared by the modules that can share it (what they did is tallied in
tests/report.py and printed at the end of the run).

How many seeded kill runs each process gets:
  default suite     GHOSTWIRE_FAULT_RUNS (default 2 per process)
  `-m slow`         GHOSTWIRE_FAULT_RUNS_SLOW (default 50 per process)
The seed is GHOSTWIRE_FAULT_SEED (default 7); a failing run prints its seed and run number.
"""

from __future__ import annotations

import pytest

from tests.faults.helpers import INTER_TOKEN_TIMEOUT
from tests.fixtures import stack_fixtures

# The four real processes, shared by the fault modules (each leaves them running and healthy);
# a module that would spoil them for the others (a full list) starts its own.
fake_ollama, stack = stack_fixtures("package", LLM_INTER_TOKEN_TIMEOUT=str(INTER_TOKEN_TIMEOUT))


@pytest.fixture(scope="module", autouse=True)
def no_leftover_scripts(request):
    """A module starts with the fake model's queue empty, whatever the last one left."""
    if "fake_ollama" in request.fixturenames:
        request.getfixturevalue("fake_ollama")._scripts.clear()
    yield

