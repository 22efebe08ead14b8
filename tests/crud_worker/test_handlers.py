"""Handlers in-process: a person's message and clicks, answered on the bus (tests/crud_worker/rig.py)."""

from __future__ import annotations

import asyncio

from bus import contract as c, tables
from tests.crud_worker.rig import rig


def chat(text: str, conversation_id: str = c.DEFAULT_CONVERSATION, n: int = 1) -> c.ChatUser:
    return c.ChatUser(req_id=f"q{n}", msg_id=f"u{n}", reply_id=f"a{n}", text=text, conversation_id=conversation_id)


def test_a_message_is_stored_answered_and_its_reply_queued():
    r = rig()
    asyncio.run(r.handlers.on_chat(chat("hello there")))
    assert r.bus.answer("q1").ok
    assert r.db.execute("SELECT role, content FROM messages WHERE id = 'u1'").fetchone() == ("user", "hello there")
    [queued] = r.bus.of(c.ReplyQueued)
    assert (queued.msg_id, queued.ask, queued.answer) == ("a1", "u1", "a1")
    [job] = r.jobs.jobs
    assert job.msg_id == "a1" and job.messages[-1].content.endswith("hello there")


def test_a_message_sent_twice_is_stored_and_answered_once():
    r = rig()
    asyncio.run(r.handlers.on_chat(chat("hello")))
    asyncio.run(r.handlers.on_chat(chat("hello")))  # the web's retry of the same request
    assert len(r.jobs.jobs) == 1 and len(r.bus.of(c.ReplyQueued)) == 1
    assert [m.ok for m in r.bus.of(c.CrudReply)] == [True, True]


def test_an_empty_message_is_refused_as_invalid_and_nothing_is_stored():
    r = rig()
    asyncio.run(r.handlers.on_chat(chat("   ")))
    reply = r.bus.answer("q1")
    assert (reply.ok, reply.code) == (False, "invalid") and "empty" in reply.error
    assert r.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0 and not r.jobs.jobs


def test_a_message_to_no_such_conversation_is_refused_as_unknown_and_its_bubble_ended():
    r = rig()
    asyncio.run(r.handlers.on_chat(chat("hi", conversation_id="cvnone")))
    reply = r.bus.answer("q1")
    assert (reply.ok, reply.code) == (False, "unknown") and "cvnone" in reply.error
    [ended] = r.bus.of(c.LlmError)
    assert (ended.msg_id, ended.error) == ("a1", reply.error), "the tabs opened its reply's bubble: it ends"


def test_a_click_changes_the_list_announces_it_and_tells_the_model():
    r = rig()
    asyncio.run(r.handlers.on_request(c.CrudRequest(req_id="q1", op="add", name="  buy   milk ", route="POST /tasks")))
    assert r.bus.answer("q1").ok
    [change] = r.bus.of(c.TaskChanged)
    assert (change.op, change.origin, change.task.name) == ("insert", "user", "buy milk")
    [note] = r.bus.of(c.ChatNote)
    assert note.kind == "event" and note.content == "You added 'buy milk'", "the person's text"
    told = r.db.execute("SELECT content FROM messages WHERE kind = 'event'").fetchone()[0]
    assert told == "The user added task 'buy milk'", "the model's text, stored beside it"
    assert r.db.execute("SELECT actor, route FROM changes").fetchall() == [("person", "POST /tasks")]


def test_a_click_on_no_such_task_is_refused_as_unknown_and_changes_nothing():
    r = rig()
    asyncio.run(r.handlers.on_request(c.CrudRequest(req_id="q1", op="toggle", task_id=41)))
    reply = r.bus.answer("q1")
    assert (reply.ok, reply.code, reply.error) == (False, "unknown", "there is no task #41")
    assert not r.bus.of(c.TaskChanged) and not r.bus.of(c.ChatNote)


def test_choosing_a_model_is_remembered_under_its_settings_key_and_announced():
    r = rig()
    asyncio.run(r.handlers.on_request(c.CrudRequest(req_id="q1", op="set_model", name=" qwen3:4b ")))
    assert r.db.execute("SELECT value FROM settings WHERE key = ?", [tables.MODEL]).fetchone() == ("qwen3:4b",)
    assert r.bus.of(c.SettingChanged) == [c.SettingChanged(key=tables.MODEL, value="qwen3:4b")]


def test_a_full_disk_is_answered_as_unsaved_and_the_reply_bubble_ended():
    r = rig()
    pages = r.db.execute("PRAGMA page_count").fetchone()[0]
    r.db.execute(f"PRAGMA max_page_count = {pages}")  # the database can't grow: SQLITE_FULL on the next write
    asyncio.run(r.handlers.on_chat(chat("x" * 7_000)))
    reply = r.bus.answer("q1")
    assert (reply.ok, reply.code) == (False, "unsaved") and "nothing was saved" in reply.error
    [ended] = r.bus.of(c.LlmError)
    assert ended.msg_id == "a1" and ended.kind == "crud"
