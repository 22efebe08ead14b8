"""SSE to every tab: one formatted string per event, an id on each, a replay buffer for
`Last-Event-ID` (bounded in events and in bytes), and a snapshot when a tab asks for more than the
buffer holds (its list bounded to a page: web/tasks/rows.py).

An event may belong to a conversation: then only the tabs showing that conversation get it (and
tabs that follow every conversation, which asked for none); the others never see it, live or replayed."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator, Callable

REPLAY = 5_000
REPLAY_BYTES = 8 * 1024 * 1024  # the buffer's bound in characters too: a few big events can't hold 100s of MB
TAB_QUEUE = 10_000
KEEPALIVE_S = 15.0
RETRY_MS = 1000
_NEWLINES = re.compile(r"\r\n|\r|\n")


def sse(event_id: str, html: str, event: str = "") -> str:
    """One SSE event. Each line of the payload becomes its own `data:` line, as the spec requires."""
    head = f"id: {event_id}\n" + (f"event: {event}\n" if event else "")
    return head + "".join(f"data: {line}\n" for line in _NEWLINES.split(html)) + "\n"


class Fanout:
    def __init__(self, epoch: str):
        self.epoch = epoch
        self.n = 0
        self.buffer: deque[tuple[int, str | None, str]] = deque()
        self.buffered = 0  # characters held in `buffer`
        self.tabs: dict[asyncio.Queue, str | None] = {}  # each tab's conversation (None: every one)

    @property
    def cursor(self) -> str:
        return f"{self.epoch}-{self.n}"

    def emit(self, html: str, conversation: str | None = None) -> None:
        """To every tab, or (`conversation`) to the tabs showing it and those following all."""
        if not html:
            return
        self.n += 1
        text = sse(self.cursor, html)
        self.buffer.append((self.n, conversation, text))
        self.buffered += len(text)
        while len(self.buffer) > REPLAY or (self.buffered > REPLAY_BYTES and len(self.buffer) > 1):
            self.buffered -= len(self.buffer.popleft()[2])
        for q, shows in list(self.tabs.items()):
            if conversation is not None and shows is not None and shows != conversation:
                continue
            try:
                q.put_nowait(text)
            except asyncio.QueueFull:
                self._drop(q)

    def shown(self) -> set[str | None]:
        """The conversations the tabs show (None: a tab following every one)."""
        return set(self.tabs.values())

    def _drop(self, q: asyncio.Queue) -> None:
        """A tab too slow to keep up is cut off; its browser reconnects and replays or resets."""
        self.tabs.pop(q, None)
        while not q.empty():
            q.get_nowait()
        q.put_nowait(None)

    def missed(self, last_id: str, conversation: str | None = None) -> list[str] | None:
        """Events after `last_id`, or None when the buffer can't cover it (another epoch, or too old)."""
        epoch, _, n = last_id.rpartition("-")
        if epoch != self.epoch or not n.isdigit() or int(n) > self.n:
            return None
        n = int(n)
        oldest = self.buffer[0][0] if self.buffer else self.n + 1
        if n < oldest - 1:
            return None
        return [text for k, where, text in self.buffer
                if k > n and (where is None or conversation is None or where == conversation)]

    def subscribe(self, last_id: str, snapshot: Callable[[], str],
                  conversation: str | None = None) -> tuple[asyncio.Queue, list[str]]:
        q: asyncio.Queue = asyncio.Queue(maxsize=TAB_QUEUE)
        initial = self.missed(last_id, conversation) if last_id else []
        if initial is None:
            initial = [sse(self.cursor, snapshot(), event="message")]
        self.tabs[q] = conversation
        return q, initial

    def unsubscribe(self, q: asyncio.Queue) -> None:
        self.tabs.pop(q, None)

    async def keepalive(self) -> None:
        """One comment to every tab every 15 s keeps proxies from idling the stream out."""
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            for q in list(self.tabs):
                try:
                    q.put_nowait(": keep-alive\n\n")
                except asyncio.QueueFull:
                    self._drop(q)

    def close_all(self) -> None:
        for q in list(self.tabs):
            self._drop(q)

    async def stream(self, q: asyncio.Queue, initial: list[str]) -> AsyncIterator[str]:
        try:
            yield f"retry: {RETRY_MS}\n: connected\n\n" + "".join(initial)
            while True:
                item = await q.get()
                if item is None:
                    return
                batch, closing = [item], False
                while not q.empty():
                    more = q.get_nowait()
                    if more is None:
                        closing = True
                        break
                    batch.append(more)
                yield "".join(batch)
                if closing:
                    return
        finally:
            self.unsubscribe(q)
