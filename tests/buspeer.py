"""A test's own seat on a running stack's bus: publish messages as if it were one of the processes."""

from __future__ import annotations

import asyncio

from bus import contract, settings
from bus.client import Bus


def settings_for(stack) -> settings.Common:
    return settings.Common(run_dir=stack.run_dir)


def publish(stack, messages: list[contract.Msg], raw: list[list[bytes]] = ()) -> None:
    """Publish `messages` (and `raw` multipart frames, off-contract on purpose) and wait for every one to
    leave: closing with LINGER 0 after a burst of thousands would drop the tail."""
    async def go():
        bus = Bus(settings_for(stack), "test")
        try:
            await bus.wait_ready()
            for m in messages:
                await bus.publish(m)
            for frames in raw:
                await bus.pub.send_multipart(frames)
        finally:
            bus.ctx.destroy(linger=10_000)

    asyncio.run(go())
