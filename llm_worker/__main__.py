"""llm_worker: stateless. Connect, find a model, announce ready, then take jobs from the queue."""

from __future__ import annotations

import asyncio
import logging

from bus import settings
from llm_worker.settings import LlmSettings
from bus.client import Bus, JobReceiver
from bus.runtime import run_until_stopped, setup_logging
from llm_worker.selector import Selector
from llm_worker.worker import TOPICS, Worker

log = logging.getLogger("llm_worker")


async def main() -> None:
    cfg = settings.load(LlmSettings)
    setup_logging("llm_worker")
    bus = Bus(cfg.common, "llm_worker", topics=TOPICS)
    jobs = JobReceiver(bus, slots=cfg.slots)
    await bus.wait_ready()
    selector = Selector(cfg)
    await selector.refresh()
    worker = Worker(bus, jobs, selector)
    await jobs.announce()
    log.info("ready: backend %s, model %s", selector.backend.name, selector.model or "(none)")
    try:
        await run_until_stopped(
            worker.take_jobs(),
            worker.watch_cancels(),
            worker.probe_loop(),
            jobs.beat(worker.free),
            bus.heartbeat(worker.status),
        )
    finally:
        bus.close()


if __name__ == "__main__":
    asyncio.run(main())
