"""The real engine behind the real four processes: LLM_BACKEND=local, so the llm_worker has supervisord
start `python -m engine` (xllamacpp's llama.cpp server) on Qwen2.5-Coder-0.5B-Instruct, as a person's
`LLM_BACKEND=local make run` does. Each test module gets its own stack (its own database and engine),
with the module's `STACK_ENV`. Without the model every test here skips, and the end of the run says why
(never a silent pass)."""

from __future__ import annotations

import pytest

from tests.engine.server import model_file, why_unavailable
from tests.fixtures import LOG_TAIL_LINES
from tests.report import ENGINE_FIGURES as FIGURES, ENGINE_LOGS, FAILED_STACK_LOGS
from tests.stack import Stack
from tests.util import wait_for

# Room for the system prompt (~480 tokens), a little history and a reply; small, so the KV cache is too.
N_CTX = 2048
SKIP_REASON = why_unavailable()
LOAD_TIMEOUT_S = 90


def worker(stack: Stack) -> dict:
    return stack.health()["processes"]["llm_worker"]["workers"][0]


def worker_if(stack: Stack, test) -> dict | None:
    w = worker(stack)
    return w if test(w) else None


def serving(stack: Stack) -> dict | None:
    """The llm_worker's status once it talks to the local engine and the engine answers."""
    w = worker(stack)
    return w if w.get("backend") == "local" and w.get("reachable") and w.get("model") else None


def local_stack(request, **env: str):
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    failed_before = request.session.testsfailed
    s = Stack(**{"LLM_BACKEND": "local", "LLM_MODEL_PATH": str(model_file()), "LLM_NUM_CTX": str(N_CTX), **env})
    try:
        s.start()
        yield s
    finally:
        if request.session.testsfailed > failed_before and s.log_path.exists():
            FAILED_STACK_LOGS.append((request.node.nodeid, "\n".join(s.log().splitlines()[-LOG_TAIL_LINES:])))
        if s.log_path.exists():
            ENGINE_LOGS.append(s.log())  # the engine's own timings, for the summary's speed line
        s.stop()


@pytest.fixture(scope="module")
def stack(request):
    for s in local_stack(request, **getattr(request.module, "STACK_ENV", {})):
        wait_for(lambda: serving(s), LOAD_TIMEOUT_S, interval=0.2, what="the local engine to serve its model")
        yield s

