"""Replies in-process: a reply's commands run as they close, and the reply is stored once at its end."""

from __future__ import annotations

import asyncio
import json

import msgspec

from bus import contract as c
from tests.crud_worker.rig import rig

ADD = '{"action": "insert", "target": "task", "args": {"name": "apples"}}'


async def chat_and_reply(r, *chunks: str) -> None:
    await r.handlers.on_chat(c.ChatUser(req_id="q1", msg_id="u1", reply_id="a1", text="add apples"))
    await r.replies.on_start(c.LlmStart(msg_id="a1", seq=0, worker="w1", backend="fake", model="m"))
    for n, text in enumerate(chunks, start=1):
        await r.replies.on_delta(c.LlmDelta(msg_id="a1", seq=n, text=text))
        if n == 3:  # the command closed in the third chunk: it ran before the reply went on
            assert r.tasks() == [(1, "apples", False)]
    await r.replies.on_done(c.LlmDone(msg_id="a1", seq=len(chunks) + 1, text="".join(chunks), status="done",
                                      model="m", usage=c.Usage(prompt_tokens=41, completion_tokens=9),
                                      timing=c.Timing(first_token_ms=120.0, tokens_per_s=30.0)))


def test_a_command_runs_the_moment_it_closes_and_once():
    r = rig()
    asyncio.run(chat_and_reply(r, "Sure! ", ADD[:30], ADD[30:], " Done."))
    assert r.tasks() == [(1, "apples", False)], "the end re-split found the same command: it ran once"
    [result] = r.bus.of(c.CommandResult)
    assert (result.command_id, result.ok, result.summary) == ("a1:0", True, "Added 'apples'")
    changes = r.bus.of(c.TaskChanged)
    assert len(changes) == 1 and changes[0].origin == "model"
    assert r.bus.sent.index(changes[0]) < r.bus.sent.index(result)


def test_the_reply_is_stored_at_its_end_with_its_figures_then_they_are_published():
    r = rig()
    asyncio.run(chat_and_reply(r, "Sure! ", ADD[:30], ADD[30:], " Done."))
    content, status, stats = r.db.execute("SELECT content, status, stats FROM messages WHERE id = 'a1'").fetchone()
    assert (content, status) == ("Sure! " + ADD + " Done.", "done")
    [published] = r.bus.of(c.ReplyStats)
    assert msgspec.json.decode(stats, type=c.ReplyStats) == published
    assert published.usage == c.Usage(prompt_tokens=41, completion_tokens=9)
    assert published.timing.first_token_ms == 120.0 and published.commands == 1
    assert "first_token_ms" in json.loads(stats)["timing"], "stored as the Timing it came in"


def test_a_reply_that_lost_deltas_runs_its_commands_from_the_full_text_at_its_end():
    r = rig()

    async def go():
        await r.handlers.on_chat(c.ChatUser(req_id="q1", msg_id="u1", reply_id="a1", text="add apples"))
        await r.replies.on_delta(c.LlmDelta(msg_id="a1", seq=0, text="Sure! "))
        await r.replies.on_delta(c.LlmDelta(msg_id="a1", seq=3, text=ADD[30:]))  # seq 1 and 2 were lost
        assert r.tasks() == [], "nothing runs from a stream with a gap"
        await r.replies.on_done(c.LlmDone(msg_id="a1", seq=4, text="Sure! " + ADD, status="done"))

    asyncio.run(go())
    assert r.tasks() == [(1, "apples", False)]


def test_a_task_said_done_is_an_answer_to_a_question_and_a_claim_after_a_request():
    """The 1.5B answered "is 'buy bread' done?" with "Yes, it is done.": flagged, and its follow-up turn
    answered "The list changed."."""
    r = rig()

    async def go():
        for n, (text, reply_id) in enumerate([("is apples done?", "a1"), ("apples is done, tick it", "a2")]):
            await r.handlers.on_chat(c.ChatUser(req_id=f"q{n}", msg_id=f"u{n}", reply_id=reply_id, text=text))
            await r.replies.on_start(c.LlmStart(msg_id=reply_id, seq=0, worker="w1", backend="fake", model="m"))
            await r.replies.on_done(c.LlmDone(msg_id=reply_id, seq=1, text="Yes, it is done.", status="done"))

    asyncio.run(go())
    flags = {s.msg_id: s.unbacked_claim for s in r.bus.of(c.ReplyStats)}
    assert flags == {"a1": False, "a2": True}, flags


def test_a_comment_telling_the_persons_tick_is_not_flagged_one_saying_the_model_made_it_is():
    """The demo's "Ticked off 'collect eggs'." on the person's own tick was flagged "no change was made"."""
    r = rig()

    async def go():
        for reply_id, words in (("c1", "Ticked off 'apples'. I'd clap."), ("c2", "I've added 'pears' for you.")):
            await r.replies.queue(reply_id, "comment")
            await r.replies.on_start(c.LlmStart(msg_id=reply_id, seq=0, worker="w1", backend="fake", model="m"))
            await r.replies.on_done(c.LlmDone(msg_id=reply_id, seq=1, text=words, status="done"))

    asyncio.run(go())
    flags = {s.msg_id: s.unbacked_claim for s in r.bus.of(c.ReplyStats)}
    assert flags == {"c1": False, "c2": True}, flags


def test_the_user_told_as_having_made_the_change_is_flagged_in_a_reply_they_asked_for_not_in_a_comment():
    """The 0.5B answered "delete 'buy bread' and 'email Sam'" with "The user deleted 'buy bread' and 'email
    Sam'." and no command. A comment on the person's own click may say the same truly."""
    r = rig()
    words = "The user deleted 'apples'."

    async def go():
        await r.handlers.on_chat(c.ChatUser(req_id="q1", msg_id="u1", reply_id="a1", text="delete apples"))
        await r.replies.queue("c1", "comment")
        for reply_id in ("a1", "c1"):
            await r.replies.on_start(c.LlmStart(msg_id=reply_id, seq=0, worker="w1", backend="fake", model="m"))
            await r.replies.on_done(c.LlmDone(msg_id=reply_id, seq=1, text=words, status="done"))

    asyncio.run(go())
    flags = {s.msg_id: s.unbacked_claim for s in r.bus.of(c.ReplyStats)}
    assert flags == {"a1": True, "c1": False}, flags
