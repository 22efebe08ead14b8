"""crud_worker: the only SQLite writer. Connect, announce ready, then answer the bus."""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bus import contract as c, settings
from crud_worker.settings import CrudSettings
from bus.client import Bus, JobSender
from bus.runtime import run_until_stopped, setup_logging
from crud_worker import db as store
from crud_worker.attempts import Attempts
from crud_worker.comments import Commentator
from crud_worker.handlers import Handlers
from crud_worker.replies import Replies
from crud_worker.trust import Trust

log = logging.getLogger("crud_worker")
TICK_S = 0.1


@dataclass
class Parts:
    handlers: Handlers
    replies: Replies
    trust: Trust
    attempts: Attempts
    comments: Commentator


# What each message is for. The subscriptions are made from its keys, so a message handled is a message
# heard, and no other (of the heartbeats, only the llm_workers': the replies they carry).
DISPATCH: dict[type[c.Msg], Callable[[Parts, Any], Awaitable[None] | None]] = {
    c.LlmDelta: lambda p, m: p.replies.on_delta(m),
    c.LlmStart: lambda p, m: p.replies.on_start(m),
    c.LlmToolCall: lambda p, m: p.replies.on_tool_call(m),
    c.LlmDone: lambda p, m: p.replies.on_done(m),
    c.LlmError: lambda p, m: p.replies.on_error(m),
    c.ChatUser: lambda p, m: p.handlers.on_chat(m),
    c.CrudRequest: lambda p, m: p.handlers.on_request(m),
    c.AgentCall: lambda p, m: p.handlers.on_agent(m),
    c.Typing: lambda p, m: p.comments.on_typing(),
    c.UndoRequest: lambda p, m: p.trust.on_undo(m),
    c.ApproveRequest: lambda p, m: p.trust.on_approve(m),
    c.PolicyRequest: lambda p, m: p.trust.on_policy(m),
    c.ConversationRequest: lambda p, m: p.attempts.on_request(m),
    c.RetryRequest: lambda p, m: p.attempts.on_retry(m),
    c.Health: lambda p, m: p.replies.note_worker(m),
}
TOPICS = ["health.llm_worker" if kind is c.Health else c.TOPIC_OF[kind] for kind in DISPATCH]


async def serve(bus: Bus, parts: Parts) -> None:
    async for m in bus.messages():
        route = DISPATCH.get(type(m))
        done = route(parts, m) if route else None
        if inspect.isawaitable(done):
            await done


async def watch(replies: Replies, comments: Commentator, trust: Trust) -> None:
    while True:
        await asyncio.sleep(TICK_S)
        await replies.check()
        await comments.tick()
        await trust.tick()


async def main() -> None:
    cfg = settings.load(CrudSettings)
    setup_logging("crud_worker")
    try:
        db = store.connect(cfg.common.db_path)
    except store.Unwritable as err:
        sys.exit(f"crud_worker: {err}")
    bus = Bus(cfg.common, "crud_worker", topics=TOPICS)
    jobs = JobSender(bus)
    await bus.wait_ready()
    replies = Replies(db, bus, jobs, cfg)
    comments = Commentator(replies)
    attempts = Attempts(db, bus, replies, comments)
    handlers = Handlers(db, bus, replies, comments, attempts, cfg.ask_timeout)
    trust = Trust(db, bus, replies, comments, cfg)
    trust.prepare()
    await bus.publish(c.LlmResend(msg_id="*"))  # replies that ended while we were down: store them now
    log.info("ready: database %s", cfg.common.db_path)
    try:
        await run_until_stopped(
            serve(bus, Parts(handlers, replies, trust, attempts, comments)),
            watch(replies, comments, trust),
            bus.heartbeat(lambda: {"note": f"{len(replies.live)} replies in flight"}),
        )
    finally:
        bus.close()
        db.close()


if __name__ == "__main__":
    asyncio.run(main())
