"""A real inference engine behind the real four processes: llama-cpp-python's OpenAI-compatible server
running SmolLM2-135M-Instruct (see provision.py for where both come from).

One server for the session; each test module gets its own stack (its own conversation and database)
pointed at it, or at the server fixture the module's `ENGINE` names, with the module's `STACK_ENV`.
Without the engine every test here skips, and the end of the run says why (never a silent pass)."""

from __future__ import annotations

import pytest

from tests.engine.server import EngineServer, eval_speed, why_unavailable
from tests.fixtures import FAILED_STACK_LOGS, LOG_TAIL_LINES
from tests.stack import Stack

# Small, so a message over it is cheap to write and the KV cache is small, yet room for the system
# prompt (~430 tokens), a little history and a short reply.
N_CTX = 1024
SKIP_REASON = why_unavailable()
ENGINE_LOG: list[str] = []  # each server's log, read for the summary's speed line
FIGURES: list[str] = []  # what the tests measured, one line each, printed at the end of the run
# The session's server waits its turn on a second request instead of ending the running stream
# (llama-cpp-python's default, interrupt_requests=True, cuts it: test_engine_probe.py meets that one).
NO_INTERRUPT = ("--interrupt_requests", "False")


def serve(n_ctx: int, *extra: str):
    """A started EngineServer, stopped (and its log kept for the summary) when the generator closes."""
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    server = EngineServer(n_ctx, *extra).start()
    try:
        yield server
    finally:
        ENGINE_LOG.append(server.log())
        server.stop()


@pytest.fixture(scope="session")
def engine():
    yield from serve(N_CTX, *NO_INTERRUPT)


@pytest.fixture(scope="module")
def stack(request):
    engine = request.getfixturevalue(getattr(request.module, "ENGINE", "engine"))
    failed_before = request.session.testsfailed
    s = Stack(LLM_BACKEND="openai", OPENAI_BASE_URL=engine.url, **getattr(request.module, "STACK_ENV", {}))
    try:
        yield s.start()
    finally:
        if request.session.testsfailed > failed_before:
            if s.log_path.exists():
                FAILED_STACK_LOGS.append((request.node.nodeid, "\n".join(s.log().splitlines()[-LOG_TAIL_LINES:])))
            FAILED_STACK_LOGS.append((f"{request.node.nodeid} (llama_cpp.server)",
                                      "\n".join(engine.log().splitlines()[-LOG_TAIL_LINES:])))
        s.stop()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    ours = {outcome: [r for r in reports if getattr(r, "nodeid", "").startswith("tests/engine/")]
            for outcome, reports in terminalreporter.stats.items()}
    counts = {outcome: len(reports) for outcome, reports in ours.items() if reports and outcome}
    if not counts:
        return
    terminalreporter.write_sep("-", "real engine (llama-cpp-python + SmolLM2-135M)")
    terminalreporter.write_line("engine tests: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())))
    if ours.get("skipped"):
        terminalreporter.write_line(f"skipped because {SKIP_REASON or ours['skipped'][0].longrepr[-1]}")
    for line in FIGURES:
        terminalreporter.write_line(line)
    if ENGINE_LOG:
        terminalreporter.write_line(eval_speed(*ENGINE_LOG))
