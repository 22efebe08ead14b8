"""Fixtures every test package shares: by default each test module gets its own fake Ollama and its
own four real processes (a package may share one stack instead, in its own conftest); `browser` and
`page` drive Debian's Chromium. What the run measured is printed once at its end (tests/report.py),
gathered from every xdist worker."""

import pytest

from tests import report
from tests.fixtures import guarded, stack_fixtures  # noqa: F401 (fixtures)

pytest_plugins = ["tests.chromium"]  # the `browser` and `page` fixtures
fake_ollama, stack = stack_fixtures("module")


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # an xdist worker: its part goes to the controller
        session.config.workeroutput["ghostwire"] = report.dump()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    report.load(node.workeroutput.get("ghostwire") if hasattr(node, "workeroutput") else None)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    report.print_all(terminalreporter)
