"""What the engine can't serve, each said in words, fast, without a model load where none is needed: no
model, a file that isn't a GGUF, a GGUF cut short, a model that doesn't fit in memory, a port in use. The
reason is logged and left in the run dir's engine.error for the llm_worker, which shows it on the page."""

from __future__ import annotations

import os
import resource
import socket

import pytest

from models.local import error_file
from tests.engine.conftest import LOAD_TIMEOUT_S, local_stack, worker, worker_if
from tests.engine.server import EngineServer, model_file, why_unavailable
from tests.util import wait_for

EXIT_TIMEOUT_S = 60  # importing xllamacpp and failing: a second or two; a busy machine, longer
pytestmark = pytest.mark.skipif(bool(why_unavailable()), reason=why_unavailable() or "")


def refused(server: EngineServer) -> str:
    """The engine's exit, its reason: it must stop by itself, non-zero, and say why in engine.error."""
    server.spawn()
    try:
        code = server.proc.wait(EXIT_TIMEOUT_S)
    finally:
        server.stop()
    assert code == 2, f"exit {code}:\n{server.log()[-2000:]}"
    reason = error_file(server.run_dir).read_text().strip()
    assert reason in server.log(), "the reason is in its log too"
    return reason


def test_no_model_file(tmp_path):
    reason = refused(EngineServer(512, tmp_path / "nothing.gguf"))
    assert "does not exist" in reason and "nothing.gguf" in reason


def test_a_file_that_is_not_a_gguf(tmp_path):
    bad = tmp_path / "notes.gguf"
    bad.write_bytes(b"PK\x03\x04 certainly not a model" * 100)
    assert "is not a GGUF model file" in refused(EngineServer(512, bad))


def test_a_gguf_cut_short(tmp_path):
    cut = tmp_path / "cut.gguf"
    with open(model_file(), "rb") as f:
        cut.write_bytes(f.read(4 << 20))  # the real header, then nothing: as an interrupted copy leaves it
    reason = refused(EngineServer(512, cut))
    assert "could not load cut.gguf" in reason and "damaged or incomplete" in reason


def test_a_model_that_does_not_fit_in_memory():
    server = EngineServer(512)
    limit = 300 << 20  # an address space of 300 MB for a 491 MB model
    server.popen = {"preexec_fn": lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))}
    reason = refused(server)
    assert "needs about" in reason and "GB of memory" in reason and "smaller model" in reason


def test_a_port_in_use():
    server = EngineServer(512)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", server.port))
        taken.listen()
        reason = refused(server)
    assert f"Port {server.port}" in reason and "in use" in reason and "GHOSTWIRE_ENGINE_PORT" in reason


def test_the_page_says_why_the_engine_cannot_serve(request, tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(os.urandom(4096))
    for stack in local_stack(request, LLM_MODEL_PATH=str(bad)):
        w = wait_for(lambda: worker_if(stack, lambda w: "not a GGUF" in w.get("note", "")), LOAD_TIMEOUT_S,
                     interval=0.2, what="the llm_worker's note to give the engine's reason")
        assert (w["backend"], w["reachable"]) == ("local", False), w
        assert "won't start" in w["note"] or "trying again" in w["note"], w["note"]
        assert "not a GGUF" in stack.http.get("/").text
        wait_for(lambda: "FATAL" in stack.ctl("status", "engine"), 30, what="supervisord to give up on it")
