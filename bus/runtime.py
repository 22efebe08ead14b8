"""What every process does at start: log in one format, keep its files private, stop on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import sys
from pathlib import Path

PRIVATE_UMASK = 0o077  # what we create is the owner's alone: the chat is in the database and its WAL
log = logging.getLogger("runtime")


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) 0700 whatever the umask; warn if it exists and is wider."""
    if path.is_dir():
        warn_if_open(path)
        return path
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> None:
    path.chmod(0o600)


def warn_if_open(*paths: Path) -> list[Path]:
    """Log a warning for each existing path that others may read or write; return them."""
    wide = []
    for p in paths:
        try:
            mode = stat.S_IMODE(p.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            wide.append(p)
            want = "700" if p.is_dir() else "600"
            log.warning("%s is open to other users (mode %03o): chmod %s %s", p, mode, want, p)
    return wide


def setup_logging(proc: str) -> None:
    os.umask(PRIVATE_UMASK)  # every process calls this first: files it creates are private, whoever started it
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
