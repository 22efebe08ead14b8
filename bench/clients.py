"""SSE tabs over raw sockets that timestamp every read (the direct reader of the fake is bench/direct.py).

An SSE tab does nothing on receipt but stamp and keep the bytes (plus one small regex that spots
final bubbles, so the run knows when to stop); parsing happens after the run. That keeps 100 tabs
in one event loop cheap enough that the clients are not what is being measured.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

FINAL = re.compile(rb'hx-swap-oob="true" id="msg-(a[0-9a-f]{16})" class="msg assistant \w+ (?:done|failed|cancelled)"')
TAIL = 256  # bytes kept from the previous read so a final bubble split across reads is still seen


@dataclass
class Event:
    t_ns: int
    data: str


class SseTab(asyncio.Protocol):
    """One `GET /events` over a plain socket; `chunks` is every read as (monotonic_ns, bytes)."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, bytes]] = []
        self.finals: dict[str, int] = {}
        self.opened = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.changed = asyncio.Event()
        self.transport: asyncio.Transport | None = None
        self._tail = b""

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        t = time.monotonic_ns()
        self.chunks.append((t, data))
        window = self._tail + data
        if not self.opened.done() and b": connected" in window:
            self.opened.set_result(t)
        for m in FINAL.finditer(window):
            self.finals.setdefault(m.group(1).decode(), t)
            self.changed.set()
        self._tail = window[-TAIL:]

    def connection_lost(self, exc) -> None:
        for fut in (self.opened, self.closed):
            if not fut.done():
                fut.set_result(None)
        self.changed.set()

    async def wait_final(self, reply_id: str, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while reply_id not in self.finals:
            if self.closed.done():
                raise RuntimeError(f"the SSE stream closed before reply {reply_id} ended")
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"reply {reply_id} did not end within {timeout:.0f}s")
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                pass
        return self.finals[reply_id]

    def close(self) -> None:
        if self.transport:
            self.transport.close()

    def wire_bytes(self, since_ns: int, until_ns: int) -> int:
        return sum(len(b) for t, b in self.chunks if since_ns <= t <= until_ns)

    def events(self) -> list[Event]:
        return parse(self.chunks)


async def open_tab(host: str, port: int, tab: str, timeout: float = 10) -> SseTab:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(SseTab, host, port)
    conn.transport.write(f"GET /events?tab={tab} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                         f"Accept: text/event-stream\r\n\r\n".encode())
    if await asyncio.wait_for(conn.opened, timeout) is None:
        raise RuntimeError(f"GET /events for tab {tab} closed before it said connected")
    return conn


def parse(chunks: list[tuple[int, bytes]]) -> list[Event]:
    """HTTP response (chunked or not) → SSE events, each stamped with the read that completed it."""
    raw = bytearray()
    body = bytearray()
    head_done, chunked, need = False, False, -1  # need: bytes left in the current HTTP chunk (-1: read a size)
    events: list[Event] = []
    for t, data in chunks:
        raw += data
        if not head_done:
            end = raw.find(b"\r\n\r\n")
            if end < 0:
                continue
            head = raw[:end].decode("latin-1").lower()
            if not head.startswith("http/1.1 200"):
                raise RuntimeError(f"GET /events answered {head.splitlines()[0]!r}")
            chunked = "transfer-encoding: chunked" in head
            del raw[:end + 4]
            head_done = True
        if not chunked:
            body += raw
            raw.clear()
        while chunked:
            if need < 0:
                eol = raw.find(b"\r\n")
                if eol < 0:
                    break
                need = int(raw[:eol].split(b";")[0], 16)
                del raw[:eol + 2]
            if len(raw) < need + 2:
                break
            body += raw[:need]
            del raw[:need + 2]
            need = -1
        while (end := body.find(b"\n\n")) >= 0:
            block = body[:end].decode()
            del body[:end + 2]
            data = [ln[5:].removeprefix(" ") for ln in block.split("\n") if ln.startswith("data:")]
            if data:
                events.append(Event(t, "\n".join(data)))
    return events
