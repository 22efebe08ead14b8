"""Attempts in-process: retry and edit take back the earlier attempt's changes, or refuse saying why."""

from __future__ import annotations

import asyncio

from bus import contract as c
from tests.crud_worker.rig import Rig, rig

ADD = '{"action": "insert", "target": "task", "args": {"name": "apples"}}'


async def first_turn(r: Rig) -> None:
    """The person asks; the reply adds 'apples'."""
    await r.handlers.on_chat(c.ChatUser(req_id="q1", msg_id="u1", reply_id="a1", text="add apples"))
    await r.stream("a1", "On it. ", ADD)


def retry(reply_id: str = "a2", target: str = "a1", conversation_id: str = c.DEFAULT_CONVERSATION,
          req_id: str = "q2") -> c.RetryRequest:
    return c.RetryRequest(req_id=req_id, conversation_id=conversation_id, target=target, reply_id=reply_id,
                          route="POST /conversations/default/retry")


def test_a_retry_takes_back_the_earlier_attempts_changes_and_asks_again():
    r = rig()
    asyncio.run(first_turn(r))
    asyncio.run(r.attempts.on_retry(retry()))
    answer = r.bus.answer("q2")
    assert answer.ok and answer.done == ["Added 'apples'"], "the person is told what was undone"
    assert r.tasks() == [], "the first attempt's task is undone: the retry may add it again, once"
    assert r.jobs.jobs[-1].msg_id == "a2"
    assert r.db.execute("SELECT id, chosen FROM attempts ORDER BY n").fetchall() == [("a1", 0), ("a2", 1)]


def test_a_retry_that_would_overwrite_a_later_change_is_refused_as_a_conflict_and_changes_nothing():
    r = rig()
    asyncio.run(first_turn(r))
    asyncio.run(r.handlers.on_request(c.CrudRequest(req_id="q9", op="rename", task_id=1, name="pears")))
    asyncio.run(r.attempts.on_retry(retry()))
    answer = r.bus.answer("q2")
    assert (answer.ok, answer.code) == (False, "conflict") and "undo that first" in answer.error
    assert r.tasks() == [(1, "pears", False)] and r.jobs.jobs[-1].msg_id == "a1"
    assert r.db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 0, "rolled back whole"


def test_retrying_while_the_reply_still_streams_is_a_conflict():
    r = rig()
    asyncio.run(r.handlers.on_chat(c.ChatUser(req_id="q1", msg_id="u1", reply_id="a1", text="hi")))
    asyncio.run(r.replies.on_delta(c.LlmDelta(msg_id="a1", seq=0, text="Hel")))
    r.db.execute("INSERT INTO messages (id, conversation_id, role, kind, content, status, created_at, ask, answer)"
                 " VALUES ('a0', 'default', 'assistant', 'chat', 'x', 'done', '', 'u1', 'a0')")  # an answer to retry
    asyncio.run(r.attempts.on_retry(retry(target="a0")))
    answer = r.bus.answer("q2")
    assert (answer.ok, answer.code) == (False, "conflict") and "still coming" in answer.error


def test_unknown_conversations_and_replies_are_refused_as_unknown():
    r = rig()
    asyncio.run(r.attempts.on_retry(retry(conversation_id="cvnone")))
    asyncio.run(r.attempts.on_retry(retry(target="anothere", req_id="q3")))
    assert [(a.ok, a.code) for a in (r.bus.answer("q2"), r.bus.answer("q3"))] == [(False, "unknown")] * 2


def test_a_title_too_long_is_refused_as_invalid():
    r = rig()
    asyncio.run(r.attempts.on_request(c.ConversationRequest(req_id="q1", op="rename",
                                                            conversation_id=c.DEFAULT_CONVERSATION,
                                                            title="t" * (c.MAX_TITLE + 1))))
    answer = r.bus.answer("q1")
    assert (answer.ok, answer.code) == (False, "invalid")


def test_an_edit_keeps_the_earlier_message_as_a_sibling_and_takes_back_its_reply():
    r = rig()
    asyncio.run(first_turn(r))
    asyncio.run(r.handlers.on_chat(c.ChatUser(req_id="q2", msg_id="u2", reply_id="a2", text="add pears",
                                              edit_of="u1")))
    assert r.bus.answer("q2").ok and r.tasks() == []
    shown = r.db.execute("SELECT id FROM messages WHERE role = 'user' AND hidden = 0").fetchall()
    assert shown == [("u2",)]
    assert r.db.execute("SELECT id FROM attempts ORDER BY n").fetchall() == [("u1",), ("u2",)]
