"""A test's own seat on a running stack's bus: publish messages as if it were one of the processes."""

from __future__ import annotations

import asyncio
import dataclasses

from broker import contract, settings
from broker.bus import Bus


def settings_for(stack) -> settings.Settings:
    cfg = settings.load(env_file=None)
    run = stack.run_dir
    return dataclasses.replace(cfg, run_dir=run, bus_events_in=f"ipc://{run}/events-in.sock",
                               bus_events_out=f"ipc://{run}/events-out.sock",
                               bus_jobs_in=f"ipc://{run}/jobs-in.sock", bus_jobs_out=f"ipc://{run}/jobs-out.sock")


def publish(stack, messages: list[contract.Msg]) -> None:
    async def go():
        bus = Bus(settings_for(stack), "test")
        try:
            await bus.wait_ready()
            for m in messages:
                await bus.publish(m)
        finally:
            bus.close()

    asyncio.run(go())
