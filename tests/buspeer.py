"""A test's own seat on a running stack's bus: publish messages as if it were one of the processes."""

from __future__ import annotations

import asyncio

from bus import contract, settings
from bus.client import Bus


def settings_for(stack) -> settings.Common:
    return settings.Common(run_dir=stack.run_dir)


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
