"""The worker's bookkeeping: which replies it is running, cancelling them, and its free slots."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

import msgspec

from bus import contract as c
from bus.client import Bus, JobReceiver
from llm_worker.pull import Pull
from llm_worker.runner import Run
from llm_worker.selector import Selector

log = logging.getLogger(__name__)
CANCEL_MEMORY_S = 120.0
ENDS_KEPT = 256
# What Worker.watch_cancels handles (tests/docs/test_subscriptions.py holds this to its cases); the worker
# subscribes to these and no more. Its jobs come from the job queue, not the bus.
HEARD: tuple[type[c.Msg], ...] = (c.LlmResend, c.LlmCancel)
TOPICS = [c.TOPIC_OF[kind] for kind in HEARD]
SERVER_DOWN = ("unreachable", "stream", "server")  # a reply that ended so may mean the status is stale


class Worker:
    def __init__(self, bus: Bus, jobs: JobReceiver, selector: Selector):
        self.bus, self.jobs, self.selector = bus, jobs, selector
        self.runs: dict[str, tuple[Run | Pull, asyncio.Task]] = {}
        self.cancelled: dict[str, float] = {}
        self.ends: OrderedDict[str, c.LlmDone | c.LlmError] = OrderedDict()

    def free(self) -> int:
        return max(0, self.jobs.slots - len(self.runs))

    def status(self) -> dict:
        """Health fields: the selector's LlmStatus, and this worker's replies and free slots."""
        return {**msgspec.structs.asdict(self.selector.status()), "active": list(self.runs),
                "stats": {"free_slots": self.free()}}

    async def take_jobs(self) -> None:
        async for job in self.jobs.jobs():
            if job.expired():
                log.info("dropping job %s: it waited past its deadline", job.msg_id)
                await self.jobs.release()
                continue
            if job.kind == "pull":
                run = Pull(self.bus, job, self.selector)
            else:
                model = job.model or self.selector.model
                structured = self.selector.structured()
                tools = job.tools if job.tools and self.selector.supports_tools(model) and not structured else None
                run = Run(self.bus, job, self.selector.backend, model, tools=tools,
                          max_chars=min(filter(None, (self.selector.cfg.max_reply_chars, job.max_chars))),
                          structured=structured,
                          commands_first=self.selector.cfg.structured_order == "commands-first")
            if job.msg_id in self.cancelled:
                run.cancelled_by_user = True
            task = asyncio.create_task(self._run(run))
            self.runs[job.msg_id] = (run, task)
            if run.cancelled_by_user:
                task.cancel()

    async def _run(self, run: Run | Pull) -> None:
        try:
            await run.run(self.bus.instance)
        finally:
            self.runs.pop(run.job.msg_id, None)
            if getattr(run, "end", None):
                self.ends[run.job.msg_id] = run.end
                while len(self.ends) > ENDS_KEPT:
                    self.ends.popitem(last=False)
            await self.jobs.release()
        if isinstance(getattr(run, "end", None), c.LlmError) and run.end.kind in SERVER_DOWN:
            await self.selector.refresh()  # e.g. the engine was killed: say so now, not at the next probe

    async def watch_cancels(self) -> None:
        async for m in self.bus.messages():
            match m:
                case c.LlmResend():
                    await self.resend(m)
                case c.LlmCancel():
                    self.cancel(m)

    async def resend(self, m: c.LlmResend) -> None:
        for end in list(self.ends.values()) if m.msg_id == "*" else [self.ends.get(m.msg_id)]:
            if end is not None:
                await self.bus.publish(end)

    def cancel(self, m: c.LlmCancel) -> None:
        now = time.monotonic()
        self.cancelled = {k: t for k, t in self.cancelled.items() if now - t < CANCEL_MEMORY_S}
        self.cancelled[m.msg_id] = now
        if entry := self.runs.get(m.msg_id):
            run, task = entry
            run.cancelled_by_user = True
            task.cancel()

    async def probe_loop(self) -> None:
        while True:
            await asyncio.sleep(self.selector.interval())
            await self.selector.refresh()
