"""A fake Ollama and the four real processes talking to it, as a pair of fixtures of a chosen scope:
`fake_ollama, stack = stack_fixtures("package")` in a conftest or test module.

When a test fails while a stack is up, the end of that stack's log is kept and printed at the end
of the run (tests/report.py), so a failure in CI can be read without reproducing it."""

from __future__ import annotations

import pytest

from tests.fakes import FakeOllama
from tests.report import FAILED_STACK_LOGS
from tests.stack import Stack

LOG_TAIL_LINES = 150


def stack_fixtures(scope: str, **env: str):
    @pytest.fixture(scope=scope)
    def fake_ollama():
        with FakeOllama() as fake:
            yield fake

    @pytest.fixture(scope=scope)
    def stack(request, fake_ollama):
        failed_before = request.session.testsfailed
        s = Stack(LLM_BACKEND="ollama", OLLAMA_HOST=fake_ollama.url, **env)
        try:
            yield s.start()
        finally:
            if request.session.testsfailed > failed_before and s.log_path.exists():
                FAILED_STACK_LOGS.append((request.node.nodeid, "\n".join(s.log().splitlines()[-LOG_TAIL_LINES:])))
            s.stop()

    return fake_ollama, stack


@pytest.fixture(scope="module")
def guarded(request):
    """The demo model's stack behind GHOSTWIRE_TOKEN: the test module's `TOKEN`, with its `GUARDED_ENV`
    (if any) added. The harness's own requests (its health polling too) sign in with the bearer."""
    token = request.module.TOKEN
    s = Stack(LLM_BACKEND="demo", GHOSTWIRE_TOKEN=token, GHOSTWIRE_DEMO_RATE="0",
              **getattr(request.module, "GUARDED_ENV", {}))
    s.http.headers["Authorization"] = f"Bearer {token}"
    try:
        yield s.start()
    finally:
        s.stop()
