"""An outside agent's tool call in-process: run as the model's command would be, told as a click is."""

from __future__ import annotations

import asyncio

from bus import contract as c
from tests.crud_worker.rig import rig


def call(tool: str, req_id: str = "q1", **arguments) -> c.AgentCall:
    return c.AgentCall(req_id=req_id, msg_id=f"g{req_id}", client="  Claude   Desktop ", tool=tool,
                       arguments=arguments)


def test_an_agents_insert_is_announced_as_its_own_and_told_to_the_model():
    r = rig()
    asyncio.run(r.handlers.on_agent(call("insert_task", name="buy milk")))
    answer = r.bus.answer("q1")
    assert answer.ok and answer.task.name == "buy milk" and answer.change_seq == 1
    [change] = r.bus.of(c.TaskChanged)
    assert (change.origin, change.agent) == ("agent", "Claude Desktop")
    [note] = r.bus.of(c.ChatNote)
    assert note.kind == "agent" and "The agent 'Claude Desktop'" in note.content
    assert r.bus.of(c.CommandResult)[0].command_id == "gq1:0"


def test_refused_calls_say_why_with_a_code_and_store_nothing():
    r = rig()
    asyncio.run(r.handlers.on_agent(call("toggle_task", id=7)))
    asyncio.run(r.handlers.on_agent(call("list_tasks", req_id="q2")))
    asyncio.run(r.trust.on_policy(c.PolicyRequest(req_id="qp", action="insert", policy="off")))
    asyncio.run(r.handlers.on_agent(call("insert_task", req_id="q3", name="x")))
    codes = [(a.ok, a.code) for a in map(r.bus.answer, ("q1", "q2", "q3"))]
    assert codes == [(False, "unknown"), (False, "invalid"), (False, "conflict")], codes
    assert "turned off" in r.bus.answer("q3").error
    assert r.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
    assert r.db.execute("SELECT COUNT(*) FROM commands").fetchone()[0] == 0
