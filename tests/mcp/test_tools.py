"""The official MCP client over real HTTP against the real four processes: the tools are the model's
own (names and JSON schemas), each one changes SQLite through the crud_worker, and the change
reaches a second client's live `/events` stream and the bus as the agent's, with its name."""

from __future__ import annotations

import html
import json
import re

import sys

import anyio
import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from bus import contract as c
from commands.schema import tool_definitions
from commands.spec import TOOL_NAMES
from tests.bustap import BusTap
from tests.fakes import Script
from tests.stack import ROOT, clean_env
from tests.mcp.client import run, session, text
from tests.util import SseReader, wait_for

AGENT = "Claude <Desktop> & co"  # a name a page must escape


def agent_changes(tap: BusTap, since: int) -> list[c.TaskChanged]:
    return [m for _, m in tap.messages(since) if isinstance(m, c.TaskChanged)]


def test_initialize_names_the_server_and_its_capabilities(stack):
    async def go():
        async with session(stack.url) as s:
            return s.get_server_capabilities()

    caps = run(go)
    assert caps.tools is not None and caps.resources is not None and caps.resources.subscribe


def test_the_list_tools_are_the_native_tool_definitions(stack):
    async def go():
        async with session(stack.url) as s:
            return (await s.list_tools()).tools

    listed = {t.name: t for t in run(go)}
    native = [d["function"] for d in tool_definitions() if TOOL_NAMES[d["function"]["name"]] != "undo"]
    assert [f["name"] for f in native] == ["insert_task", "update_task", "toggle_task", "delete_task", "list_tasks"]
    for f in native:
        assert listed[f["name"]].inputSchema == f["parameters"], f["name"]
        assert listed[f["name"]].description == f["description"]
    assert set(listed) == {f["name"] for f in native} | {"send_message", "undo"}


def test_each_tool_changes_sqlite_and_every_tab_sees_it_as_the_agents(stack):
    """insert, update, toggle, delete and undo through MCP: each in the database, each a `task.changed`
    with origin "agent" and the client's name on the bus, and each on a second client's /events with
    the agent's chip (its name escaped)."""
    with BusTap.of(stack, (b"task.", b"health.")) as tap, SseReader(stack.url) as tab:
        since = tap.mark()

        async def go():
            async with session(stack.url, AGENT) as s:
                added = await s.call_tool("insert_task", {"name": "mcp apples"})
                assert not added.isError, text(added)
                task_id = added.structuredContent["task"]["id"]
                assert (task_id, "mcp apples", 0) == stack.tasks()[-1][:3]
                wait_for(lambda: tab.matching("Added 'mcp apples' — by " + re.escape(html.escape(AGENT))),
                         what="the chip with the agent's escaped name on the other client's stream")

                renamed = await s.call_tool("update_task", {"id": task_id, "name": "mcp pears"})
                assert not renamed.isError and "Renamed 'mcp apples' to 'mcp pears'" in text(renamed)
                toggled = await s.call_tool("toggle_task", {"id": "mcp pears"})  # by name, as the schema allows
                assert not toggled.isError and "Marked 'mcp pears' done" in text(toggled)
                assert (task_id, "mcp pears", 1) == next(t[:3] for t in stack.tasks() if t[0] == task_id)
                listed = await s.call_tool("list_tasks", {"done": True})
                assert f"#{task_id} [x] mcp pears" in text(listed)
                assert {"id": task_id, "name": "mcp pears", "done": True} in [
                    {k: t[k] for k in ("id", "name", "done")} for t in listed.structuredContent["tasks"]]

                deleted = await s.call_tool("delete_task", {"id": task_id})
                assert not deleted.isError and "Removed 'mcp pears'" in text(deleted)
                assert task_id not in [t[0] for t in stack.tasks()]
                undone = await s.call_tool("undo", {})
                assert not undone.isError and "Removed 'mcp pears'" in text(undone), text(undone)
                assert (task_id, "mcp pears", 1) == next(t[:3] for t in stack.tasks() if t[0] == task_id)
                return task_id

        task_id = run(go)
        changes = wait_for(lambda: len(agent_changes(tap, since)) >= 5 and agent_changes(tap, since),
                           what="five task.changed on the bus")
        assert [(m.op, m.origin, m.agent) for m in changes] == [
            ("insert", "agent", AGENT), ("update", "agent", AGENT), ("update", "agent", AGENT),
            ("delete", "agent", AGENT), ("insert", "agent", AGENT)]  # a restored task: an insert in its place
        wait_for(lambda: tab.matching(rf'data-id="{task_id}"') and tab.matching("Removed 'mcp pears' — by "),
                 what="the task and the delete's chip on the second client's stream")
        assert not tab.matching(r"<Desktop>"), "the agent's name reached a page unescaped"

    with stack.db() as db:
        log = db.execute("SELECT op, kind, actor, agent FROM changes WHERE task_id = ? ORDER BY seq",
                         [task_id]).fetchall()
        events = [r[0] for r in db.execute("SELECT content FROM messages WHERE kind = 'agent' ORDER BY created_at")]
    assert log == [("insert", "change", "agent", AGENT), ("update", "change", "agent", AGENT),
                   ("update", "change", "agent", AGENT), ("delete", "change", "agent", AGENT),
                   ("insert", "undo", "agent", AGENT)]
    # the model reads these as [event] lines, like a person's clicks
    assert f"The agent '{AGENT}' (an outside program, through MCP) added 'mcp apples'" in events


def test_a_subscriber_hears_when_a_person_toggles_a_task(stack):
    """Through the compression middleware: the server's event stream (GET) is compressed and still
    delivers the notification as it is sent (one compressor per stream, flushed after every event)."""
    assert stack.http.post("/tasks", data={"name": "mcp watched"}).status_code == 200
    task_id = wait_for(lambda: next((t[0] for t in stack.tasks() if t[1] == "mcp watched"), None), what="the task")
    updated: list[str] = []
    responses: list[tuple[str, str, str]] = []

    async def on_message(message) -> None:
        if isinstance(message, types.ServerNotification) and \
                isinstance(message.root, types.ResourceUpdatedNotification):
            updated.append(str(message.root.params.uri))

    async def go():
        async with session(stack.url, on_message=on_message, responses=responses) as s:
            await s.subscribe_resource("tasks://list")
            before = json.loads((await s.read_resource("tasks://list")).contents[0].text)
            assert {"id": task_id, "name": "mcp watched", "done": False} in [
                {k: t[k] for k in ("id", "name", "done")} for t in before["tasks"]]
            assert stack.http.post(f"/tasks/{task_id}/toggle").status_code == 200  # a person, over HTTP
            with anyio.fail_after(10):
                while "tasks://list" not in updated:
                    await anyio.sleep(0.02)
            after = json.loads((await s.read_resource("tasks://list")).contents[0].text)
            return next(t for t in after["tasks"] if t["id"] == task_id)

    assert run(go)["done"] is True
    streams = {(method, encoding) for method, kind, encoding in responses if kind.startswith("text/event-stream")}
    assert ("GET", "zstd") in streams and ("POST", "zstd") in streams, responses


def test_send_message_returns_the_fake_models_reply_and_its_command_results(stack, fake_ollama):
    command = json.dumps({"action": "insert", "target": "task", "args": {"name": "mcp from the ghost"}})
    script = Script(tokens=["On it. ", command, " Done."], delay=0.01)
    # by the prompt, not the queue: a comment on an earlier test's clicks may reach the model first (the
    # person's turn ends with the message; events before it are merged into the same turn)
    fake_ollama.pick = lambda body: script if body.get("messages", [{}])[-1].get("content", "").endswith(
        "add a task for me") else None

    async def go():
        async with session(stack.url, AGENT) as s:
            sent = await s.call_tool("send_message", {"text": "add a task for me", "wait": True})
            later = await s.call_tool("send_message", {"text": "and hello"})
            return sent, later

    try:
        sent, later = run(go)
    finally:
        fake_ollama.pick = None
    assert not sent.isError, text(sent)
    reply = sent.structuredContent
    assert reply["text"] == "On it.  Done." and reply["status"] == "done"
    assert [(r["ok"], r["summary"]) for r in reply["results"]] == [(True, "Added 'mcp from the ghost'")]
    assert "✓ Added 'mcp from the ghost'" in text(sent)
    assert stack.wait_message(reply["reply_id"])[:2] == ("assistant", "done")
    assert "mcp from the ghost" in [t[1] for t in stack.tasks()]
    assert not later.isError and later.structuredContent["reply_id"] in text(later)
    assert stack.wait_message(later.structuredContent["message_id"])[0] == "user"


def test_an_agents_message_says_whose_it_is_on_the_page_in_the_store_and_to_the_model(stack, fake_ollama):
    script = Script(tokens=["Hello, agent."])
    fake_ollama.pick = lambda body: script if "mcp who is speaking" in json.dumps(body.get("messages", [])) else None

    async def go():
        async with session(stack.url, AGENT) as s:
            return await s.call_tool("send_message", {"text": "mcp who is speaking", "wait": True})

    try:
        with SseReader(stack.url, tab="agent-says") as sse:
            sent = run(go)
            bubble = wait_for(lambda: sse.matching("mcp who is speaking"), what="the agent's message in a tab")
    finally:
        fake_ollama.pick = None
    assert not sent.isError, text(sent)
    assert f"— by {html.escape(AGENT, quote=False)}" in bubble[-1].data, "the tab says whose message it is, escaped"
    with stack.db() as db:
        model = db.execute("SELECT model FROM messages WHERE id = ?", [sent.structuredContent["message_id"]]).fetchone()
    assert model == (AGENT,), "stored with the agent's name"
    asked = next(r for r in reversed(fake_ollama.requests) if "mcp who is speaking" in json.dumps(r.get("messages", [])))
    newest = asked["messages"][-1]["content"].split("\n\n")[-1]  # after the list note and earlier events
    assert newest.startswith(f"[from the agent '{AGENT}'"), asked["messages"][-1]
    page = stack.http.get("/").text
    assert f"— by {html.escape(AGENT, quote=False)}" in page, "and so does the page after a reload"


def test_the_conversation_resource_holds_the_recent_messages(stack):
    stack.wait_message(stack.chat("mcp can you read me"))

    async def go():
        async with session(stack.url) as s:
            return (await s.read_resource("chat://recent")).contents[0].text

    assert "person: mcp can you read me" in run(go).splitlines()


def test_a_stdio_client_is_bridged_to_the_web_under_its_own_name(stack):
    """`python -m web.mcp --stdio`, launched by the SDK's stdio client as a desktop client would."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "web.mcp", "--stdio"], cwd=str(ROOT),
                                   env=clean_env(GHOSTWIRE_PORT=str(stack.port)))

    async def go():
        async with stdio_client(params) as (read, write), \
                ClientSession(read, write, client_info=types.Implementation(name="Stdio Agent", version="1")) as s:
            await s.initialize()
            names = [t.name for t in (await s.list_tools()).tools]
            added = await s.call_tool("insert_task", {"name": "mcp over stdio"})
            return names, added

    names, added = run(go)
    assert "insert_task" in names and not added.isError, text(added)
    with stack.db() as db:
        row = db.execute("SELECT actor, agent FROM changes WHERE what = ?", ["Added 'mcp over stdio'"]).fetchone()
    assert row == ("agent", "Stdio Agent")


def test_under_ask_an_agents_change_waits_for_the_persons_allow(stack):
    assert stack.http.post("/settings/ask", data={"action": "delete", "policy": "ask"}).status_code == 200
    try:
        assert stack.http.post("/tasks", data={"name": "mcp asked about"}).status_code == 200
        task_id = wait_for(lambda: next((t[0] for t in stack.tasks() if t[1] == "mcp asked about"), None),
                           what="the task")

        async def go():
            async with session(stack.url, AGENT) as s:
                return await s.call_tool("delete_task", {"id": task_id})

        asked = run(go)
        assert not asked.isError and asked.structuredContent["state"] == "asking", text(asked)
        assert "waits for their Allow or Deny" in text(asked)
        assert task_id in [t[0] for t in stack.tasks()], "nothing ran before the person answered"
        with stack.db() as db:
            command_id, = db.execute("SELECT command_id FROM approvals WHERE decision IS NULL").fetchone()
        assert stack.http.post(f"/approve/{command_id}", data={"decision": "allow"}).status_code == 200
        wait_for(lambda: task_id not in [t[0] for t in stack.tasks()], what="the delete, once allowed")
        with stack.db() as db:
            assert db.execute("SELECT actor, agent FROM changes WHERE task_id = ? AND op = 'delete'",
                              [task_id]).fetchone() == ("agent", AGENT)
            assert db.execute("SELECT result FROM commands WHERE id = ?", [command_id]).fetchone() == (
                f"Removed 'mcp asked about' — by {AGENT}",)
    finally:
        assert stack.http.post("/settings/ask", data={"action": "delete", "policy": "auto"}).status_code == 200


def test_the_changes_page_names_the_agent_escaped(stack):
    async def go():
        async with session(stack.url, AGENT) as s:
            return await s.call_tool("insert_task", {"name": "mcp on the changes page"})

    assert not run(go).isError
    page = stack.http.get("/changes").text
    assert f"{html.escape(AGENT, quote=False)} (agent, through MCP)" in page and "<Desktop>" not in page
