"""A clean start: the page answers before every worker has announced itself (supervisord starts all
four at once), so a request that needs a worker the web has not heard from yet waits a few seconds
for its first heartbeat instead of being refused. One that was up and went quiet is down: no wait."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

GRACE_S = 5.0  # a cold start takes 1-3 s on a busy 2-core machine; workers beat every second


class Startup:
    def __init__(self) -> None:
        self.bus_ready = asyncio.Event()  # our own bus handshake is done: what we publish is heard
        self.heard: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)  # process -> first beat

    def on_health(self, proc: str) -> None:
        self.heard[proc].set()

    async def wait_for(self, proc: str) -> None:
        """Return once `proc` has been heard (and our bus is up), or after GRACE_S: the caller then
        checks whether it is up and says so if not."""
        if self.bus_ready.is_set() and self.heard[proc].is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(self.bus_ready.wait(), self.heard[proc].wait()), GRACE_S)
