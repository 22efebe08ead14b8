"""Which backend `auto` and `local` pick, and what the page is told, through the real four processes:
Ollama first (the engine never started, whatever is in the model cache), else the local engine for a
model file (here one it can't load: the note says why), else the demo with the offer of a local model.
None of these loads a model; tests/engine does."""

from __future__ import annotations

import html

from models.catalogue import DEFAULT, MODELS
from tests.fakes import FakeOllama
from tests.stack import Stack, free_port
from tests.util import SseReader, wait_for

MODEL = MODELS[DEFAULT]


def fake_fetched(cache) -> None:
    """A file under the default model's name in the cache: the selector's rule is presence, so this
    counts as fetched (and, not being a GGUF, the engine refuses it)."""
    (cache / "models").mkdir(parents=True)
    (cache / "models" / MODEL.file).write_bytes(b"not a real model")


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_auto_prefers_ollama_and_never_starts_the_engine(tmp_path):
    fake_fetched(tmp_path)
    with FakeOllama() as ollama:
        stack = Stack(LLM_BACKEND="auto", OLLAMA_HOST=ollama.url, GHOSTWIRE_CACHE_DIR=str(tmp_path))
        try:
            stack.start()
            wait_for(lambda: stack.health()["backend"] == "ollama", 10, what="auto to pick Ollama")
            # Probes every 30 s while healthy; the first refresh already chose, so the engine's state now is final.
            assert "STOPPED" in stack.ctl("status", "engine") and "Not started" in stack.ctl("status", "engine")
        finally:
            stack.stop()


def test_auto_without_ollama_tries_the_fetched_model_and_says_why_it_cannot(tmp_path):
    fake_fetched(tmp_path)
    stack = Stack(LLM_BACKEND="auto", OLLAMA_HOST=closed_url(), GHOSTWIRE_CACHE_DIR=str(tmp_path))
    try:
        stack.start()
        health = wait_for(lambda: (h := stack.health()) and "not a GGUF" in h["note"] and h, 60, interval=0.2,
                          what="the note to give the engine's reason")
        assert health["backend"] == "demo" and "No Ollama answered" in health["note"], health
        assert "demo model answers meanwhile" in health["note"]
        assert "not a GGUF" in html.unescape(stack.http.get("/").text), "the page says why"
    finally:
        stack.stop()


def test_local_without_a_model_is_the_demo_offering_one():
    stack = Stack(LLM_BACKEND="local")
    try:
        stack.start()
        health = stack.health()
        assert health["backend"] == "demo" and "no local model is fetched yet" in health["note"], health
        page = html.unescape(stack.http.get("/").text)
        assert f"Use a real local model — {MODEL.title}, {MODEL.size / 1e9:.1f} GB" in page
        assert '"name": "local"' in page, "the button posts `local` to /pull, as `!pull local` does"
        assert "STOPPED" in stack.ctl("status", "engine"), "no model, no engine"
    finally:
        stack.stop()


def test_pulling_an_unknown_local_model_says_which_there_are():
    stack = Stack(LLM_BACKEND="demo")
    try:
        stack.start()
        with SseReader(stack.url, tab="pull") as sse:
            assert stack.http.post("/chat", data={"msg": "!pull local:7b"}).status_code == 200
            card = wait_for(lambda: sse.matching(r"card job failed"), 10, what="the failed card")
        text = html.unescape(card[-1].data)
        assert "no local model '7b'" in text and "local:1.5b" in text and "local:0.5b" in text
    finally:
        stack.stop()
