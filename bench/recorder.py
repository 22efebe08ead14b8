"""A pass-through between the llm_worker and the engine that keeps every chat request as sent, its reply's
text and the server's own `timings` (for bench/cache.py). Streams are relayed chunk by chunk as they come;
when the llm_worker hangs up (a cancel), the upstream stream is closed at once, as the worker would.
`rewrite` may change a request before it goes on (bench/real_model.py's other prompt layout)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tests.fakes._http import Conn, FakeServer, Request


@dataclass
class Exchange:
    body: dict
    at: float  # monotonic, when the request arrived
    note: str = ""  # what the bench knew then (the list as it was: see Recorder.on_request)
    text: str = ""
    first_byte: float | None = None  # monotonic, the first content token relayed
    usage: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    ended: bool = False
    finished: bool = False  # the server said the reply's end (a finish reason)
    cut: bool = False  # the client hung up before the server's end (a cancelled reply)


class Recorder(FakeServer):
    service = "recorder"
    url_suffix = "/v1"

    def __init__(self, upstream: str, on_request: Callable[[], str] = lambda: "",
                 rewrite: Callable[[dict], dict] | None = None):
        super().__init__()
        self.upstream = upstream.rstrip("/")  # the engine's root, without /v1
        self.on_request = on_request
        self.rewrite = rewrite
        self.exchanges: list[Exchange] = []

    def busy(self) -> bool:
        return any(not x.ended for x in self.exchanges)

    async def handle(self, request: Request, conn: Conn) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client:
            if request.method == "POST" and request.path == "/v1/chat/completions":
                await self._chat(client, request, conn)
                return
            r = await client.request(request.method, self.upstream + request.path, content=request.body,
                                     headers={"content-type": "application/json"})
            await conn.send(r.status_code, r.content, r.headers.get("content-type", "application/json"))

    async def _chat(self, client: httpx.AsyncClient, request: Request, conn: Conn) -> None:
        x = Exchange(body=request.json() or {}, at=time.monotonic(), note=self.on_request())
        self.exchanges.append(x)
        body = request.body
        if self.rewrite:
            x.body = self.rewrite(x.body)
            body = json.dumps(x.body).encode()
        try:
            async with client.stream("POST", self.upstream + request.path, content=body,
                                     headers={"content-type": "application/json"}) as r:
                if r.status_code != 200:
                    await conn.send(r.status_code, await r.aread(), r.headers.get("content-type", ""))
                    return
                await conn.start(r.headers.get("content-type", "text/event-stream"))
                if await self._relay(r, conn, x):
                    conn.end()
                x.cut = not x.finished
        finally:
            x.ended = True

    async def _relay(self, r: httpx.Response, conn: Conn, x: Exchange) -> bool:
        """Relay until the end (True) or the client's hang-up (False, the upstream then closed by the caller)."""
        pieces = r.aiter_raw()
        gone = asyncio.ensure_future(conn.gone.wait())
        pending = b""
        try:
            while True:
                step = asyncio.ensure_future(anext(pieces, None))
                await asyncio.wait({step, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    step.cancel()
                    return False
                if (piece := step.result()) is None:
                    return True
                pending = self._read(x, pending + piece)
                if not await conn.chunk(piece):
                    return False
        finally:
            gone.cancel()

    @staticmethod
    def _read(x: Exchange, data: bytes) -> bytes:
        """Take what the bench needs from the complete SSE lines; return the incomplete rest."""
        *lines, rest = data.split(b"\n")
        for line in lines:
            if not line.startswith(b"data: {"):
                continue
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices") or ():
                x.finished = x.finished or bool(choice.get("finish_reason"))
                if content := (choice.get("delta") or {}).get("content"):
                    x.first_byte = x.first_byte or time.monotonic()
                    x.text += content
            x.usage = chunk.get("usage") or x.usage
            x.timings = chunk.get("timings") or x.timings
        return rest
