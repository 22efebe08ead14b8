"""The Commentator's timing, on a clock the test moves: a burst of clicks gets one comment after a short
quiet, and the person writing a message outranks a comment — one streaming stops, one not begun waits
for a pause in the typing — but never stops a reply they asked for."""

from __future__ import annotations

import asyncio

from bus import contract as c
from crud_worker.comments import COALESCE_S, TYPING_HOLD_S, Commentator
from tests.crud_worker.rig import Rig, rig


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def with_clock() -> tuple[Rig, Clock]:
    r, clock = rig(), Clock()
    r.comments = Commentator(r.replies, clock=clock)
    return r, clock


def comment_jobs(r: Rig) -> list[c.LlmJob]:
    return [j for j in r.jobs.jobs if j.kind == "comment"]


def cancels(r: Rig) -> list[str]:
    return [m.msg_id for m in r.bus.of(c.LlmCancel)]


def test_a_burst_of_clicks_gets_one_comment_after_a_short_quiet():
    r, clock = with_clock()

    async def go():
        for _ in range(3):
            await r.comments.on_action("cv1")
            clock.now += COALESCE_S / 2
            await r.comments.tick()
        assert not comment_jobs(r), "still within the quiet after the last click"
        clock.now += COALESCE_S
        await r.comments.tick()
    asyncio.run(go())
    assert len(comment_jobs(r)) == 1


def test_typing_stops_a_comment_streaming():
    r, clock = with_clock()

    async def go():
        await r.comments.on_action("cv1", immediate=True)
        await r.comments.tick()
        await r.comments.on_typing()
    asyncio.run(go())
    [job] = comment_jobs(r)
    assert cancels(r) == [job.msg_id]


def test_a_comment_not_begun_waits_while_the_person_types_and_comes_after_a_pause():
    r, clock = with_clock()

    async def go():
        await r.comments.on_action("cv1")
        for _ in range(5):  # typing on, one signal a second, well past the comment's quiet
            clock.now += 1.0
            await r.comments.on_typing()
            await r.comments.tick()
        assert not comment_jobs(r), "no comment while the person types"
        clock.now += TYPING_HOLD_S
        await r.comments.tick()
    asyncio.run(go())
    assert len(comment_jobs(r)) == 1 and not cancels(r)


def test_typing_never_stops_the_reply_the_person_asked_for():
    r, clock = with_clock()

    async def go():
        await r.replies.queue("a1", "chat", conversation_id="cv1", ask="u1", answer="a1")
        await r.comments.on_typing()
    asyncio.run(go())
    assert "a1" in r.replies.live and not cancels(r)
