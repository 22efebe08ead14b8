"""Structured output through the real four processes, against the llama-cpp-python fake (which, like the
real server, refuses `json_schema` and takes `json_object` with a schema): the request carries the
schema, the say text streams into the bubble, and each command runs the moment it closes."""

from __future__ import annotations

import json

import pytest

from commands.schema import reply_schema
from llm_worker.backends.structured import HINT
from tests.engine.helpers import appends, final_bubble, stored, streamed
from tests.fakes import FakeOpenAI, Script
from tests.stack import Stack
from tests.util import SseReader, wait_for

SAY = "On it — adding “buy apples” and ticking the dog walk. Done!"
INSERT = {"action": "insert", "target": "task", "args": {"name": "buy apples"}}
TOGGLE = {"action": "toggle", "target": "task", "args": {"id": 1}}


def pieces(text: str, size: int = 4) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


@pytest.fixture(scope="module")
def served():
    with FakeOpenAI.llama_cpp(n_ctx=4096) as fake:
        stack = Stack(LLM_BACKEND="openai", OPENAI_BASE_URL=fake.url, LLM_STRUCTURED="auto")  # auto: on, a local server
        try:
            stack.start()
            assert stack.http.post("/tasks", data={"name": "walk the dog"}).status_code < 300
            wait_for(lambda: stack.tasks(), what="the seeded task")
            yield stack, fake
        finally:
            stack.stop()


def test_the_request_carries_the_schema_the_say_text_streams_and_the_commands_run(served):
    stack, fake = served
    reply_json = json.dumps({"say": SAY, "commands": [INSERT, TOGGLE]}, ensure_ascii=True)  # \u escapes too
    fake.enqueue(Script(tokens=pieces(reply_json), delay=0.01))
    before = len(fake.requests)
    with SseReader(stack.url, tab="structured") as sse:
        reply = stack.chat("add buy apples and tick the dog walk")
        bubble = final_bubble(sse, reply)
        seen = streamed(sse, reply)
    row = stored(stack, reply)
    sent = [r for r in fake.requests[before:] if r.path.endswith("/chat/completions")]
    assert [r["response_format"]["type"] for r in sent] == ["json_schema", "json_object"], \
        "json_schema first; refused by name (500), the schema again as json_object"
    assert sent[-1]["response_format"]["schema"] == reply_schema()
    assert sent[-1]["messages"][0]["content"].endswith(HINT) and "tools" not in sent[-1]
    assert (row.status, row.error) == ("done", "")
    assert row.content.startswith(SAY) and '"say"' not in row.content
    assert seen.startswith(SAY) and '"say"' not in seen and '"action"' not in seen, seen
    assert appends(sse, reply) > 1, "the say text arrives in pieces, as generated"
    assert '"say"' not in bubble and "buy apples" in bubble
    with stack.db() as db:
        ran = db.execute("SELECT action, ok FROM commands WHERE msg_id = ? ORDER BY id", [reply]).fetchall()
    assert ran == [("insert", 1), ("toggle", 1)]
    assert ("buy apples", 0) in [(name, done) for _, name, done, *_ in stack.tasks()]
    assert ("walk the dog", 1) in [(name, done) for _, name, done, *_ in stack.tasks()]
    # The form is learned: the next structured request goes as json_object at once.
    fake.enqueue(Script(tokens=pieces(json.dumps({"say": "Nothing to do.", "commands": []}))))
    later = len(fake.requests)
    assert stored(stack, stack.chat("thanks")).content == "Nothing to do."
    assert [r["response_format"]["type"] for r in fake.requests[later:] if r.path.endswith("/completions")] == \
        ["json_object"]


def test_a_command_runs_the_moment_it_closes_while_the_reply_still_streams(served):
    stack, fake = served
    insert = {"action": "insert", "target": "task", "args": {"name": "call mom"}}
    head = json.dumps({"say": "Adding it.", "commands": [insert]})[:-2]  # the command closed, the array not
    tokens = pieces(head) + pieces(', {"action": "list", "target": "task", "args": {}}]}')
    fake.enqueue(Script(tokens=tokens, delay=0.01, stall_after=len(pieces(head))))  # then holds the stream open
    reply = stack.chat("add call mom")
    wait_for(lambda: "call mom" in [name for _, name, *_ in stack.tasks()], what="the insert run mid-reply")
    assert stack.message(reply) is None, "the reply is still streaming (the fake holds it) when the task exists"
    assert stack.http.post(f"/stop/{reply}").status_code == 204
    assert stored(stack, reply).status == "cancelled"
