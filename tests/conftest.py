"""Fixtures every test package shares: by default each test module gets its own fake Ollama and its
own four real processes (a package may share one stack instead, in its own conftest); `browser` and
`page` drive Debian's Chromium."""

pytest_plugins = ["tests.chromium"]  # the `browser` and `page` fixtures
from tests.fixtures import FAILED_STACK_LOGS, guarded, stack_fixtures  # noqa: F401 (fixtures)

fake_ollama, stack = stack_fixtures("module")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for where, tail in FAILED_STACK_LOGS:
        terminalreporter.write_sep("=", f"end of the stack's log, {where} (a test failed while it ran)")
        terminalreporter.write_line(tail)
