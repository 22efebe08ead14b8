"""What every process does at start: log in one format, make its directories, stop on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys


def setup_logging(proc: str) -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format=f"%(asctime)s {proc:<11} %(levelname)-7s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


def stop_event() -> asyncio.Event:
    """An event set by SIGTERM/SIGINT, so `__main__` can finish its loop and close sockets."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_until_stopped(*coros) -> None:
    """Run the process's loops; return when a signal arrives or any loop ends (a bug: it re-raises)."""
    stop = stop_event()
    tasks = [asyncio.create_task(c) for c in coros]
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
    for task in [*tasks, waiter]:
        task.cancel()
    await asyncio.gather(*tasks, waiter, return_exceptions=True)
    for task in done:
        if task is not waiter and not task.cancelled() and task.exception():
            raise task.exception()
