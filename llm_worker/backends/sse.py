"""An incremental Server-Sent Events decoder following the WHATWG parsing rules.

Written here rather than taken from httpx-sse because we need it to be incremental over raw
network chunks (a CRLF split across two chunks must not produce a phantom blank line) and
to dispatch each event the moment its blank line arrives.
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import AsyncIterator

import msgspec

_EOL = re.compile(r"\r\n|\r|\n")


class SSEEvent(msgspec.Struct, frozen=True):
    data: str
    event: str = "message"
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """Feed bytes as they arrive; get back the events they complete."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._skip_lf = False  # the previous chunk ended in CR; a leading LF belongs to it
        self._at_start = True
        self._data: list[str] = []
        self._event = ""
        self._last_id = ""
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        text = self._utf8.decode(chunk)
        if not text:
            return []
        if self._at_start:
            self._at_start = False
            text = text.removeprefix("\ufeff")
        if self._skip_lf and text.startswith("\n"):
            text = text[1:]
        self._skip_lf = False
        buf = self._buf + text
        events: list[SSEEvent] = []
        pos = 0
        while (m := _EOL.search(buf, pos)) is not None:
            line = buf[pos:m.start()]
            if m.group() == "\r" and m.end() == len(buf):
                self._skip_lf = True
            pos = m.end()
            if (event := self._line(line)) is not None:
                events.append(event)
        self._buf = buf[pos:]
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        data, event, self._data, self._event = self._data, self._event, [], ""
        if not data:
            return None
        return SSEEvent(data="\n".join(data), event=event or "message", id=self._last_id, retry=self._retry)


class SSEStream:
    """Async iterator of events over an async iterator of byte chunks.

    A class rather than an async generator so that an outer timeout can cancel one step
    without leaving a half-finished generator behind. An event left undispatched at EOF
    is dropped, as the spec says.
    """

    def __init__(self, chunks: AsyncIterator[bytes]):
        self._chunks = chunks
        self._decoder = SSEDecoder()
        self._ready: deque[SSEEvent] = deque()

    def __aiter__(self) -> SSEStream:
        return self

    async def __anext__(self) -> SSEEvent:
        while not self._ready:
            chunk = await anext(self._chunks)  # StopAsyncIteration ends us too
            self._ready.extend(self._decoder.feed(chunk))
        return self._ready.popleft()
