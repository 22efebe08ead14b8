"""The watch over replies in flight, so no bubble spins forever: what the llm workers' heartbeats
say (when each was last heard, the replies it is on, its model's context), and on the 0.1 s tick a
reply no worker started fails, one whose worker was lost fails, and a lost end is asked for again
(`llm.resend`; DESIGN.md "Lost ends")."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from bus import contract as c
from bus.client import Bus
from crud_worker import context
from crud_worker.reply import Reply

NO_WORKER_S = context.JOB_TTL_S  # a queued reply no worker started by then fails, clearly
WORKER_LOST_S = 5.0  # a started reply whose worker stopped beating this long ago fails
RESEND_AFTER_S = 2.0  # a live worker no longer lists the reply: its end was lost; ask again this often
RESEND_GIVE_UP_S = 2.0  # a worker answers a resend in milliseconds; silence means it has no end to give


class Watch:
    def __init__(self, bus: Bus, live: dict[str, Reply], fail: Callable[[Reply, str], Awaitable[None]]):
        self.bus, self.live, self.fail = bus, live, fail
        self.workers_seen: dict[str, float] = {}
        self.workers_active: dict[str, set[str]] = {}
        self.workers_context: dict[str, int] = {}

    def note_worker(self, h: c.Health) -> None:
        self.workers_seen[h.instance] = time.monotonic()
        self.workers_active[h.instance] = set(h.active)
        self.workers_context[h.instance] = h.context

    def contexts(self) -> list[int]:
        """The contexts live workers' model servers said their models have (tokens)."""
        now = time.monotonic()
        return [n for w, n in self.workers_context.items() if n and now - self.workers_seen[w] < WORKER_LOST_S]

    async def check(self) -> None:
        """No bubble spins forever: fail replies nobody is working on, and ask again for an end we missed."""
        now = time.monotonic()
        for reply in list(self.live.values()):
            if not reply.worker:
                reply.worker = next((w for w, active in self.workers_active.items() if reply.msg_id in active), "")
            quiet = now - reply.last_activity
            if not reply.worker:
                if now - reply.queued > NO_WORKER_S:
                    await self.fail(reply, "No LLM worker took this message. Is the llm_worker process running?")
            elif now - self.workers_seen.get(reply.worker, reply.last_activity) > WORKER_LOST_S:
                if quiet > WORKER_LOST_S:
                    await self.fail(reply, f"The LLM worker {reply.worker} stopped answering in the middle of this "
                                           f"reply (crashed, or its host unreachable). Send the message again.")
            elif (reply.msg_id not in self.workers_active.get(reply.worker, ()) and quiet > RESEND_AFTER_S
                  and self.workers_seen.get(reply.worker, 0) > reply.last_activity):
                # Only a beat newer than the reply's last news proves the worker is done with it: one
                # from before its start (a link that dropped right after) proves nothing.
                await self._ask_again(reply, now)

    async def _ask_again(self, reply: Reply, now: float) -> None:
        """The worker is alive but done with this reply, and we never heard the end: PUB/SUB lost it."""
        if reply.first_asked and now - reply.first_asked > RESEND_GIVE_UP_S:
            await self.fail(reply, "The end of this reply was lost on the way. Send the message again.")
        elif now - reply.asked_again > RESEND_AFTER_S:
            reply.first_asked = reply.first_asked or now
            reply.asked_again = now
            await self.bus.publish(c.LlmResend(msg_id=reply.msg_id))
