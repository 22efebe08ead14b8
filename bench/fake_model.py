"""A fake Ollama (`/api/chat`, `/api/tags`, `/api/version`) that plays scripted replies at a set
token rate and records, per token, the monotonic time it was written to the socket.

HTTP/1.1 is written by hand over asyncio streams so every token is its own chunk and its own
send(): what the worker reads is exactly what a real Ollama would flush. The server runs its own
event loop in a thread of the benchmark process, so its clock is the clients' clock.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field

MODEL = "bench:latest"
KEY = re.compile(r"\bbench-run-([0-9a-z]+)\b")
# The command language's insert, cut where a tokenizer might cut it; the last piece closes it.
COMMAND_PIECES = ('{"action": ', '"insert", ', '"target": ', '"task", ', '"args": ', '{"name": ', '"{name}"', "}}")
YIELD_EVERY = 64  # at "max" the writer still lets its loop breathe (hang-ups, other requests)


@dataclass
class Script:
    """One reply: its tokens, which of them are markers or close a command, and when each was written."""

    key: str
    tokens: list[str]
    rate: float  # tokens per second; 0 = as fast as the socket takes them
    markers: dict[int, str]  # token index -> marker text (prose)
    closers: dict[int, str]  # token index -> task name its command inserts
    written_ns: list[int] = field(default_factory=list)
    requested_ns: int = 0  # when its request came; a script plays once
    hung_up: bool = False

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def marker(key: str, i: int) -> str:
    """Unique inside a reply, no characters HTML escapes, no braces or newlines the command splitter holds."""
    return f"{key}w{i:x} "


def build_script(key: str, n_tokens: int, rate: float, n_commands: int = 0) -> Script:
    """`n_tokens` marker tokens, with `n_commands` inserts spread evenly between them."""
    at = {round((k + 1) * n_tokens / (n_commands + 1)) for k in range(n_commands)}
    tokens: list[str] = []
    markers: dict[int, str] = {}
    closers: dict[int, str] = {}
    for i in range(n_tokens):
        if i in at:
            name = f"gwb-{key}-c{len(closers)}"
            tokens.extend(p.replace("{name}", name) for p in COMMAND_PIECES)
            closers[len(tokens) - 1] = name
            tokens.append(" ")
        markers[len(tokens)] = marker(key, i)
        tokens.append(markers[len(tokens)])
    return Script(key=key, tokens=tokens, rate=rate, markers=markers, closers=closers)


def _line(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _created_at() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


class FakeModel:
    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.port = 0
        self.scripts: dict[str, Script] = {}
        self.unscripted = 0  # requests that matched no script (follow-ups, comments): answered "ok"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fake-model", daemon=True)
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self.native_id = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeModel:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake model server did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def add(self, script: Script) -> Script:
        self.scripts[script.key] = script
        return script

    def _run(self) -> None:
        self.native_id = threading.get_native_id()
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, self.host, 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; return whether the connection stays open for another."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        path = target.split("?", 1)[0]
        if (method, path) == ("GET", "/api/tags"):
            entry = {"name": MODEL, "model": MODEL, "modified_at": "2025-05-04T17:37:44.706015396-07:00",
                     "size": 2019393189, "digest": "0" * 64,
                     "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                                 "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
                     "capabilities": ["completion"]}
            self._send(writer, 200, _line({"models": [entry]}))
        elif (method, path) == ("GET", "/api/version"):
            self._send(writer, 200, _line({"version": "0.12.6"}))
        elif (method, path) == ("POST", "/api/chat"):
            await self._chat(json.loads(body or b"{}"), writer)
        else:
            self._send(writer, 404, b"404 page not found", "text/plain")
        await writer.drain()
        return headers.get("connection", "").lower() != "close"

    def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes,
              ctype: str = "application/json; charset=utf-8") -> None:
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                     + body)

    def _script_for(self, body: dict) -> Script:
        users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
        found = KEY.search(users[-1]) if users else None
        script = self.scripts.get(found.group(1)) if found else None
        if script is None or script.requested_ns:
            self.unscripted += 1
            return Script(key="", tokens=["ok"], rate=0, markers={}, closers={})
        return script

    async def _chat(self, body: dict, writer: asyncio.StreamWriter) -> None:
        script = self._script_for(body)
        script.requested_ns = time.monotonic_ns()
        stamp = _created_at()
        # Encoded up front so the timed loop does nothing but pace, write and stamp.
        chunks = [_chunk(_line({"model": MODEL, "created_at": stamp,
                                "message": {"role": "assistant", "content": t}, "done": False}))
                  for t in script.tokens]
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        written = script.written_ns = [0] * len(chunks)
        transport = writer.transport
        period_ns = int(1e9 / script.rate) if script.rate else 0
        t0 = time.monotonic_ns()
        try:
            for i, chunk in enumerate(chunks):
                if period_ns:
                    # Due at t0 + i/rate; a late token goes at once, so lateness never accumulates.
                    wait_ns = t0 + i * period_ns - time.monotonic_ns()
                    if wait_ns > 0:
                        await asyncio.sleep(wait_ns / 1e9)
                elif i % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                if transport.is_closing():
                    raise ConnectionResetError
                written[i] = time.monotonic_ns()  # stamped before the send: lag is never understated
                writer.write(chunk)
                await writer.drain()  # returns at once unless the reader is behind (then: backpressure)
        except ConnectionError:
            script.hung_up = True
            raise
        n = len(script.tokens)
        elapsed = time.monotonic_ns() - t0
        done = {"model": MODEL, "created_at": _created_at(), "message": {"role": "assistant", "content": ""},
                "done": True, "done_reason": "stop", "total_duration": elapsed, "load_duration": 1000,
                "prompt_eval_count": 26, "prompt_eval_duration": 1000, "eval_count": n, "eval_duration": elapsed}
        writer.write(_chunk(_line(done)) + b"0\r\n\r\n")
