"""Trust in-process: undo / redo, Allow / Deny and the policies, each answered on the bus."""

from __future__ import annotations

import asyncio
import json

from bus import contract as c, tables
from tests.crud_worker.rig import Rig, rig

DELETE = '{"action": "delete", "target": "task", "args": {"id": 1}}'


def add(r: Rig, name: str = "apples", req_id: str = "q0") -> None:
    asyncio.run(r.handlers.on_request(c.CrudRequest(req_id=req_id, op="add", name=name, route="POST /tasks")))


def test_undo_takes_back_the_persons_last_change_and_the_model_hears_of_it():
    r = rig()
    add(r)
    asyncio.run(r.trust.on_undo(c.UndoRequest(req_id="q1", scope="last", by="person", route="POST /undo/last")))
    answer = r.bus.answer("q1")
    assert answer.ok and answer.done == ["Added 'apples'"] and r.tasks() == []
    assert r.bus.of(c.ChatNote)[-1].content == "You undid: Added 'apples'", "the person's text"
    told = r.db.execute("SELECT content FROM messages WHERE kind = 'event' ORDER BY rowid DESC").fetchone()[0]
    assert "The user undid: Added 'apples'" in told, "the model hears of it in its own text"


def test_undo_of_no_such_reply_is_unknown_and_undoing_twice_is_a_conflict():
    r = rig()
    add(r)
    asyncio.run(r.trust.on_undo(c.UndoRequest(req_id="q1", scope="reply", target="anothere")))
    change = r.db.execute("SELECT seq FROM changes").fetchone()[0]
    for req_id in ("q2", "q3"):
        asyncio.run(r.trust.on_undo(c.UndoRequest(req_id=req_id, scope="change", target=str(change))))
    codes = [(a.ok, a.code) for a in map(r.bus.answer, ("q1", "q2", "q3"))]
    assert codes == [(False, "unknown"), (True, ""), (False, "conflict")]


def ask_first_delete(r: Rig) -> str:
    """A task, and the model's delete of it waiting under an ask-first policy: its command id."""
    add(r)
    asyncio.run(r.trust.on_policy(c.PolicyRequest(req_id="qp", action="delete", policy="ask")))
    asyncio.run(r.handlers.on_chat(c.ChatUser(req_id="q1", msg_id="u1", reply_id="a1", text="drop it")))
    asyncio.run(r.stream("a1", DELETE))
    assert r.bus.of(c.CommandResult)[-1].state == "asking" and r.tasks() == [(1, "apples", False)]
    return "a1:0"


def test_a_policy_is_remembered_and_announced_under_its_settings_key():
    r = rig()
    asyncio.run(r.trust.on_policy(c.PolicyRequest(req_id="q1", action="delete", policy="ask")))
    [changed] = r.bus.of(c.SettingChanged)
    assert changed.key == tables.ASK and json.loads(changed.value)["delete"] == "ask"
    assert json.loads(r.db.execute("SELECT value FROM settings WHERE key = ?", [tables.ASK]).fetchone()[0]) == \
        json.loads(changed.value)


def test_allow_runs_the_waiting_command_once_and_a_second_answer_is_a_conflict():
    r = rig()
    command = ask_first_delete(r)
    asyncio.run(r.trust.on_approve(c.ApproveRequest(req_id="q2", command_id=command, decision="allow")))
    asyncio.run(r.trust.on_approve(c.ApproveRequest(req_id="q3", command_id=command, decision="deny")))
    assert r.bus.answer("q2").ok and r.tasks() == []
    late = r.bus.answer("q3")
    assert (late.ok, late.code) == (False, "conflict") and "allowed already" in late.error


def test_deny_leaves_the_list_and_an_unknown_command_is_unknown():
    r = rig()
    command = ask_first_delete(r)
    asyncio.run(r.trust.on_approve(c.ApproveRequest(req_id="q2", command_id=command, decision="deny")))
    asyncio.run(r.trust.on_approve(c.ApproveRequest(req_id="q3", command_id="a9:0", decision="allow")))
    assert r.bus.answer("q2").ok and r.tasks() == [(1, "apples", False)]
    assert r.bus.of(c.CommandResult)[-1].state == "denied"
    assert (r.bus.answer("q3").ok, r.bus.answer("q3").code) == (False, "unknown")
