"""A model pull as a long job: Ollama's /api/pull progress, throttled onto the bus as JobProgress."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from bus import contract as c
from bus.client import Bus
from llm_worker.backends.base import BackendError
from llm_worker.selector import Selector

log = logging.getLogger(__name__)
PUBLISH_EVERY_S = 0.1


class Pull:
    def __init__(self, bus: Bus, job: c.LlmJob, selector: Selector):
        self.bus, self.job, self.selector = bus, job, selector
        self.cancelled_by_user = False
        self.title = f"Pulling {job.model}"
        self.last = c.JobProgress(job_id=job.msg_id, title=self.title, status="starting")

    async def _publish(self, **fields) -> None:
        self.last = c.JobProgress(job_id=self.job.msg_id, title=self.title, **fields)
        await self.bus.publish(self.last)

    async def run(self, worker: str) -> None:
        backend = self.selector.primary
        if not hasattr(backend, "pull"):
            await self._publish(status="not available", state="failed",
                                error=f"Pulling models needs Ollama; this worker talks to {backend.name}.")
            return
        await self._publish(status="starting")
        sent_at, seen = 0.0, (0.0, 0)
        try:
            async with contextlib.aclosing(backend.pull(self.job.model)) as progress:
                async for p in progress:
                    now = time.monotonic()
                    completed, total = int(p.get("completed") or 0), int(p.get("total") or 0)
                    if completed < seen[1]:
                        seen = (now, completed)  # the next layer started
                    rate = (completed - seen[1]) / (now - seen[0]) if seen[0] and now > seen[0] else 0.0
                    if now - sent_at >= PUBLISH_EVERY_S or p.get("status") == "success":
                        sent_at = now
                        await self._publish(status=str(p.get("status", "")), completed=completed, total=total,
                                            rate=round(rate))
                    if not seen[0] or now - seen[0] > 2:
                        seen = (now, completed)
        except asyncio.CancelledError:
            await self._publish(status="cancelled", state="cancelled", completed=self.last.completed,
                                total=self.last.total)
            if not self.cancelled_by_user:
                raise
            return
        except BackendError as err:
            await self._publish(status="failed", state="failed", error=err.message)
            return
        await self._publish(status="success", state="done", completed=self.last.total, total=self.last.total)
        await self.selector.refresh()
