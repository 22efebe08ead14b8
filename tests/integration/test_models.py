"""Models: discover, switch (remembered), pull with a progress card, and native tool calls."""

from __future__ import annotations

import json

import pytest

from tests.fakes import FakeOllama, Script, tag
from tests.stack import Stack
from tests.util import SseReader, wait_for


@pytest.fixture(scope="module")
def two_models():
    with FakeOllama(models=[tag("llama3.2:3b"), tag("qwen3:4b", size=2_500_000_000)]) as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(two_models):
    s = Stack(LLM_BACKEND="ollama", OLLAMA_HOST=two_models.url, LLM_NATIVE_TOOLS="1")
    try:
        yield s.start()
    finally:
        s.stop()


def test_models_are_listed_and_the_choice_is_remembered(stack, two_models):
    r = stack.http.post("/chat", data={"msg": "!models"})
    assert "llama3.2:3b" in r.text and "qwen3:4b" in r.text
    assert 'id="model-picker"' in stack.http.get("/").text
    assert "no model named" in stack.http.post("/chat", data={"msg": "!model nonesuch"}).text
    assert stack.http.post("/chat", data={"msg": "!model qwen3:4b"}).status_code == 200
    wait_for(lambda: stack.health()["model"] == "qwen3:4b", what="the status line to follow the choice")
    reply = stack.chat("which model are you?")
    stack.wait_message(reply)
    assert two_models.requests[-1]["model"] == "qwen3:4b"
    with stack.db() as db:
        assert db.execute("SELECT value FROM settings WHERE key = 'model'").fetchone() == ("qwen3:4b",)
    stack.ctl("restart", "web", "llm_worker")
    wait_for(stack.healthy, timeout=20, what="restart")
    wait_for(lambda: stack.health()["model"] == "qwen3:4b", what="the choice to survive a restart")
    assert stack.http.post("/model", data={"name": "llama3.2:3b"}).status_code == 200


def test_pull_streams_progress_into_a_card_in_every_tab(stack, two_models):
    two_models.pull_delay = 0.15  # slower than the worker's progress throttle, so every step shows
    with SseReader(stack.url, tab="a") as a, SseReader(stack.url, tab="b") as b:
        assert stack.http.post("/chat", data={"msg": "!pull gemma3:1b"}).status_code == 200
        for tab in (a, b):
            wait_for(lambda: tab.matching(r'class="msg card job done"'), what="the pull to finish in each tab")
    two_models.pull_delay = 0.0
    cards = a.matching(r'id="job-p[0-9a-f]+"')
    assert any("<progress" in e.data and "of 2.0 GB" in e.data for e in cards), "bar and bytes while running"
    assert two_models.pulls[-1] == "gemma3:1b"
    wait_for(lambda: "gemma3:1b" in stack.http.post("/chat", data={"msg": "!models"}).text,
             what="the new model listed")


def test_a_pull_can_be_cancelled_and_a_failed_pull_says_why(stack, two_models):
    two_models.pull_delay = 0.3
    try:
        with SseReader(stack.url, tab="a") as a:
            stack.http.post("/pull", data={"name": "big:70b"})
            started = wait_for(lambda: a.matching(r'<progress'), what="the pull to start")
            job = started[0].data.split('id="job-')[1].split('"')[0]
            assert stack.http.post(f"/stop/{job}").status_code == 204
            wait_for(lambda: a.matching(f'id="job-{job}"[^>]*>|class="msg card job cancelled"'), what="cancelled")
            wait_for(lambda: a.matching("msg card job cancelled"), what="the cancelled card")
    finally:
        two_models.pull_delay = 0.0
    two_models.pull_error = "file does not exist"
    try:
        with SseReader(stack.url, tab="a") as a:
            stack.http.post("/pull", data={"name": "nope:1b"})
            failed = wait_for(lambda: a.matching("msg card job failed"), what="the failed card")
        assert "file does not exist" in failed[0].data
    finally:
        two_models.pull_error = ""


def test_native_tool_calls_run_like_embedded_commands(stack, two_models):
    sent = len(two_models.requests)
    two_models.enqueue(Script(tokens=["Adding it natively."],
                              tool_calls=[{"name": "insert_task", "arguments": {"name": "via a tool call"}}]))
    with SseReader(stack.url, tab="a") as a:
        reply = stack.chat("add via a tool call")
        wait_for(lambda: a.matching(r'class="chip ok"[^>]*>✓ Added .via a tool call.'), what="the tool call's chip")
    assert "via a tool call" in [t[1] for t in stack.tasks()]
    tools = two_models.requests[sent]["tools"]
    assert {t["function"]["name"] for t in tools} >= {"insert_task", "toggle_task", "list_tasks"}
    with stack.db() as db:
        assert db.execute("SELECT ok FROM commands WHERE id = ?", [f"{reply}:tool0"]).fetchone() == (1,)
    assert json.dumps(two_models.requests[sent]["messages"]).count("insert_task") == 0
