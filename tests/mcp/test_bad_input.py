"""What an agent gets wrong: each is a clear MCP error (a tool error with readable text, or a JSON-RPC
error for a request the server can't take), nothing changes, and the server goes on serving."""

from __future__ import annotations

import os

import anyio
import pytest
from mcp.shared.exceptions import McpError

from tests.report import STATS
from tests.fakes import Script
from tests.mcp.client import run, session, text
from tests.util import wait_for

TEN_MB = 10 * 1024 * 1024


def state(stack) -> tuple:
    """Everything a refused call must leave alone: the list, the change log, the agent notes."""
    with stack.db() as db:
        return (stack.tasks(), db.execute("SELECT count(*) FROM changes").fetchone()[0],
                db.execute("SELECT count(*) FROM commands").fetchone()[0])


@pytest.fixture
def a_task(stack) -> int:
    assert stack.http.post("/tasks", data={"name": f"bad input target {os.urandom(4).hex()}"}).status_code == 200
    return wait_for(lambda: stack.tasks() and stack.tasks()[-1][0], what="the target task")


@pytest.mark.parametrize("name,arguments,says", [
    ("no_such_tool", {}, "there is no tool 'no_such_tool'; the tools are insert_task"),
    ("undo_last_reply", {}, "there is no tool 'undo_last_reply'"),  # the model's own, not offered to agents
    ("insert_task", {"name": 42}, "Input validation error: 42 is not of type 'string'"),
    ("insert_task", {}, "Input validation error: 'name' is a required property"),
    ("insert_task", {"name": "x", "priority": 1}, "Input validation error: Additional properties are not allowed"),
    ("insert_task", {"name": "   "}, "Couldn't do that: the name is empty."),  # the command schema's own rule
    ("toggle_task", {"id": True}, "Input validation error: True is not of type 'integer', 'string'"),
    ("toggle_task", {"id": 0}, "Couldn't do that: the task id must be a positive number."),
    ("toggle_task", {"id": 987654321}, "Couldn't do that: there is no task #987654321."),
    ("delete_task", {"id": "no task is called this"}, "Couldn't do that: there is no task named"),
    ("update_task", {"id": "{task}"}, "Couldn't do that: nothing to update: give a new name or done."),
    ("update_task", {"id": "{task}", "name": "n" * 501}, "Input validation error:"),
    ("send_message", {"text": ""}, "Input validation error:"),
    ("send_message", {"text": "m" * 8_001}, "Input validation error:"),
    ("undo", {"change": 987654321}, "Couldn't undo: there is no change #987654321 in the log."),
])
def test_a_bad_call_is_a_readable_tool_error_and_changes_nothing(stack, a_task, name, arguments, says):
    arguments = {k: (str(a_task) if v == "{task}" else v) for k, v in arguments.items()}
    before = state(stack)

    async def go():
        async with session(stack.url) as s:
            bad = await s.call_tool(name, arguments)
            control = await s.call_tool("list_tasks", {})  # the same session serves on
            return bad, control

    bad, control = run(go)
    assert bad.isError and says in text(bad), text(bad)
    assert "Traceback" not in text(bad) and not control.isError
    assert state(stack) == before
    STATS["mcp"]["bad tool calls refused"] += 1


def test_a_10_mb_argument_is_refused_with_a_json_rpc_error_and_the_session_goes_on(stack):
    before = state(stack)

    async def go():
        async with session(stack.url) as s:
            with pytest.raises(McpError, match=r"request too large: the limit is 256 KB; nothing was done"):
                await s.call_tool("insert_task", {"name": "x" * TEN_MB})
            return await s.call_tool("insert_task", {"name": "after the 10 MB one"})

    after = run(go)
    assert not after.isError, text(after)
    assert [t[1] for t in stack.tasks()] == [t[1] for t in before[0]] + ["after the 10 MB one"]
    STATS["mcp"]["oversized requests refused"] += 1


def test_a_client_that_leaves_mid_call_leaves_the_server_serving(stack, fake_ollama):
    """The agent goes while send_message waits for a slow reply: the reply still ends and is stored,
    nothing else changes, and the next client is served (the web never restarted)."""
    web = stack.pid("web")
    fake_ollama.enqueue(Script(tokens=["slow "] * 40, delay=0.05))  # about 2 s
    started = len(fake_ollama.requests)
    tasks_before = stack.tasks()

    async def leave_mid_call():
        async with session(stack.url) as s:
            async with anyio.create_task_group() as tg:
                tg.start_soon(s.call_tool, "send_message", {"text": "mcp slow one", "wait": True})
                with anyio.fail_after(10):
                    while len(fake_ollama.requests) == started:  # the reply has started at the model
                        await anyio.sleep(0.02)
                tg.cancel_scope.cancel()  # and the client leaves, its HTTP connections closed

    run(leave_mid_call)
    with stack.db() as db:
        reply = wait_for(lambda: db.execute("SELECT status FROM messages WHERE role = 'assistant' AND content LIKE"
                                            " 'slow slow%'").fetchone(), 15, what="the slow reply stored")
    assert reply == ("done",)

    async def next_client():
        async with session(stack.url, "Next Agent") as s:
            return await s.call_tool("list_tasks", {})

    assert not run(next_client).isError
    assert stack.pid("web") == web and stack.tasks() == tasks_before
    STATS["mcp"]["clients gone mid-call"] += 1
