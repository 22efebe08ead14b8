"""crud_worker: the only SQLite writer. Connect, announce ready, then answer the bus."""

from __future__ import annotations

import asyncio
import logging
import sys

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


async def serve(bus: Bus, handlers: Handlers, replies: Replies, trust: Trust, attempts: Attempts) -> None:
    async for m in bus.messages():
        match m:
            case c.LlmDelta():
                await replies.on_delta(m)
            case c.LlmStart():
                await replies.on_start(m)
            case c.LlmToolCall():
                await replies.on_tool_call(m)
            case c.LlmDone():
                await replies.on_done(m)
            case c.LlmError():
                await replies.on_error(m)
            case c.ChatUser():
                await handlers.on_chat(m)
            case c.CrudRequest():
                await handlers.on_request(m)
            case c.AgentCall():
                await handlers.on_agent(m)
            case c.UndoRequest():
                await trust.on_undo(m)
            case c.ApproveRequest():
                await trust.on_approve(m)
            case c.PolicyRequest():
                await trust.on_policy(m)
            case c.ConversationRequest():
                await attempts.on_request(m)
            case c.RetryRequest():
                await attempts.on_retry(m)
            case c.Health():
                replies.note_worker(m)


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
    topics = ["chat.user", "crud.request", "crud.undo", "crud.agent", "crud.approve", "crud.policy",
              "conversation.request", "conversation.retry", "llm.", "health.llm_worker"]
    bus = Bus(cfg.common, "crud_worker", topics=topics)
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
            serve(bus, handlers, replies, trust, attempts),
            watch(replies, comments, trust),
            bus.heartbeat(lambda: {"note": f"{len(replies.live)} replies in flight"}),
        )
    finally:
        bus.close()
        db.close()


if __name__ == "__main__":
    asyncio.run(main())
