"""`auto` on a machine with a model but no Ollama serves the local engine; when Ollama comes up it switches
to Ollama by itself (at its next look, within one slow probe interval) and has supervisord stop the engine,
so its memory is free again."""

from __future__ import annotations

import pytest

from llm_worker.selector import PROBE_SLOW_S
from tests.engine.conftest import LOAD_TIMEOUT_S, local_stack, serving
from tests.fakes import FakeOllama
from tests.stack import free_port
from tests.util import wait_for


@pytest.mark.timeout(LOAD_TIMEOUT_S + PROBE_SLOW_S + 60)
def test_auto_leaves_the_engine_for_ollama_and_stops_it(request):
    port = free_port()
    for stack in local_stack(request, LLM_BACKEND="auto", OLLAMA_HOST=f"http://127.0.0.1:{port}"):
        local = wait_for(lambda: serving(stack), LOAD_TIMEOUT_S, interval=0.2, what="auto to pick the local engine")
        assert "No Ollama answered" in local["note"] and "local engine" in local["note"], local
        with FakeOllama(port=port):
            wait_for(lambda: stack.health()["backend"] == "ollama", PROBE_SLOW_S + 10, interval=0.2,
                     what="auto to switch to the Ollama that came up")
            wait_for(lambda: "STOPPED" in stack.ctl("status", "engine"), 20, what="the engine stopped")
