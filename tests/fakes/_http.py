"""HTTP/1.1 by hand over asyncio streams, so the fakes control every byte, every flush, every close.

Each fake runs its own event loop in a background thread; tests talk to it over a real socket.
Responses carry `Connection: close`, which keeps one request per connection and makes "the
client hung up mid-stream" an unambiguous EOF on the socket.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from tests.fakes.script import DEFAULT_DELAY, Script
from tests.util import wait_for

MAX_HEADER_BYTES = 64 * 1024
YIELD_EVERY = 64


class RecordedRequest(dict):
    """A parsed JSON request body that also remembers its path and headers (lower-cased names)."""

    def __init__(self, body: dict, *, path: str, headers: dict[str, str]):
        super().__init__(body)
        self.path = path
        self.headers = headers


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes):
        parts = urlsplit(target)
        self.method, self.path, self.headers, self.body = method, parts.path, headers, body
        self.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}

    def json(self):
        return json.loads(self.body) if self.body else None


class Conn:
    """One client connection: request parsing, plain and chunked responses, and noticing a hang-up."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.gone = asyncio.Event()
        self.interrupted = False  # another request arrived at a server that interrupts (see FakeServer)
        self._wake = asyncio.Event()  # the client left or the stream was interrupted
        self._watcher: asyncio.Task | None = None

    async def read_request(self) -> Request | None:
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        self._watcher = asyncio.create_task(self._watch())
        return Request(method, target, headers, body)

    async def _watch(self) -> None:
        try:
            while await self.reader.read(65536):
                pass
        except ConnectionError:
            pass
        self.gone.set()
        self._wake.set()

    def interrupt(self) -> None:
        self.interrupted = True
        self._wake.set()

    def _head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"  # e.g. Anthropic's 529
        lines = [f"HTTP/1.1 {status} {reason}",
                 f"Date: {email.utils.formatdate(usegmt=True)}", *(f"{k}: {v}" for k, v in headers),
                 "Connection: close"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send(self, status: int, body: bytes, content_type: str, headers=(), head_only: bool = False) -> None:
        all_headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
        self.writer.write(self._head(status, all_headers) + (b"" if head_only else body))
        await self._drain()

    async def send_json(self, status: int, obj, headers=(), *, text: str | None = None) -> None:
        body = (text if text is not None else json.dumps(obj, separators=(",", ":"))).encode()
        await self.send(status, body, "application/json; charset=utf-8", headers)

    async def start(self, content_type: str, headers=()) -> bool:
        self.writer.write(self._head(200, [("Content-Type", content_type), ("Transfer-Encoding", "chunked"),
                                           *headers]))
        return await self._drain()

    async def chunk(self, data: bytes) -> bool:
        """Write one chunk and flush it; False once the client has gone."""
        if self.gone.is_set():
            return False
        if data:
            self.writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        return await self._drain()

    def end(self) -> None:
        self.writer.write(b"0\r\n\r\n")

    async def pause(self, seconds: float) -> bool:
        """Sleep, but wake as soon as the client hangs up or the stream is interrupted; False if so."""
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def _drain(self) -> bool:
        try:
            await self.writer.drain()
        except ConnectionError:
            self.gone.set()
            self._wake.set()
        return not self.gone.is_set()

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


class FakeServer:
    """Base for the fake model servers: thread + loop + accept loop + script queue + bookkeeping."""

    service = "fake"
    url_suffix = ""

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self.host, self.port = host, port
        self.requests: list[RecordedRequest] = []
        self.paths: list[tuple[str, str]] = []  # (method, path) of every request, in order of arrival
        self.disconnects = 0
        # As llama-cpp-python's server (interrupt_requests=True): any request that arrives while a
        # reply streams ends that reply at once (see `play`), and the server serves one at a time.
        self.interrupts = False
        self.one_slot = False  # every request waits until no reply streams (a busy one-slot server)
        self.interrupted = 0
        self.pick: Callable[[dict], Script | None] | None = None  # a script chosen by the request body
        self.native_id = 0  # the fake's thread, for the bench's CPU accounting
        self._playing: set[Conn] = set()
        self._idle: asyncio.Event | None = None
        self._scripts: deque[Script] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._handlers: set[asyncio.Task] = set()
        self._start_error: OSError | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.url_suffix}"

    def enqueue(self, *scripts: Script) -> None:
        with self._lock:
            self._scripts.extend(scripts)

    def next_script(self, body: dict | None = None) -> Script:
        if self.pick is not None and (picked := self.pick(body or {})) is not None:
            return picked
        with self._lock:
            return self._scripts.popleft() if self._scripts else self.default_script()

    def default_script(self) -> Script:
        return Script(delay=DEFAULT_DELAY)

    def record(self, request: Request) -> RecordedRequest:
        recorded = RecordedRequest(request.json() or {}, path=request.path, headers=request.headers)
        self.requests.append(recorded)
        return recorded

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """tests.util.wait_for, named for this fake (polled often: its requests come fast)."""
        wait_for(predicate, timeout, interval=0.005, what=f"{self.service}: condition")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(ready),),
                                        name=f"{self.service}-fake", daemon=True)
        self._thread.start()
        if not ready.wait(5) or self._start_error is not None:
            self._thread.join(5)
            self._loop.close()
            self._loop = None
            raise RuntimeError(f"{self.service} fake did not start on {self.host}:{self.port}") from self._start_error

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(5)
            self._loop.close()
            self._loop = None

    async def _serve(self, ready: threading.Event) -> None:
        self.native_id = threading.get_native_id()
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        try:
            server = await asyncio.start_server(self._on_connection, self.host, self.port, limit=MAX_HEADER_BYTES)
        except OSError as exc:  # e.g. the port is taken; start() re-raises it in the caller's thread
            self._start_error = exc
            ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._handlers.add(asyncio.current_task())
        conn = Conn(reader, writer)
        try:
            request = await conn.read_request()
            if request is None:  # the client hung up before its request was complete
                self.disconnects += 1
            else:
                self.paths.append((request.method, request.path))
                if self.interrupts:
                    for playing in list(self._playing):
                        playing.interrupt()
                if self.one_slot:
                    await self._idle.wait()
                await self.handle(request, conn)
        except ConnectionError:
            pass
        finally:
            self._handlers.discard(asyncio.current_task())
            await conn.close()

    async def handle(self, request: Request, conn: Conn) -> None:
        raise NotImplementedError

    async def not_found(self, conn: Conn) -> None:
        await conn.send(404, b"404 page not found", "text/plain")

    async def play(self, conn: Conn, script: Script, *, content_type: str, pieces: list[bytes],
                   head: tuple[bytes, ...] = (), tail: tuple[bytes, ...] = (), error_piece: bytes = b"",
                   interrupt_piece: bytes = b"", ping: bytes = b"") -> None:
        """Stream head, the pieces (applying the script's pace and faults), then tail, as a chunked body.

        `ping` goes before every piece after the first (keep-alive comments, as servers send while
        a model is slow); `interrupt_piece` ends a stream that another request interrupted."""
        self._playing.add(conn)
        self._idle.clear()
        try:
            if await self._play(conn, script, content_type, pieces, head, tail, error_piece, ping) is False:
                if conn.interrupted and not conn.gone.is_set():
                    self.interrupted += 1
                    await conn.chunk(interrupt_piece)
                    conn.end()
                else:
                    self.disconnects += 1
        finally:
            self._playing.discard(conn)
            if not self._playing:
                self._idle.set()

    async def _play(self, conn: Conn, script: Script, content_type: str, pieces: list[bytes],
                    head: tuple[bytes, ...], tail: tuple[bytes, ...], error_piece: bytes, ping: bytes) -> bool | None:
        """False when the client left or the stream was interrupted; None when a fault ended it."""
        if script.ttft and not await conn.pause(script.ttft):
            return False
        if not await conn.start(script.content_type or content_type):
            return False
        for piece in head:
            if not await conn.chunk(piece):
                return False
        period_ns = int(1e9 / script.rate) if script.rate else 0
        t0 = time.monotonic_ns()
        script.written_ns = []
        for i in range(len(pieces) + 1):
            if script.error_after == i:
                await conn.chunk(error_piece)
                conn.end()
                return None
            if script.eof_after == i:
                return None  # close without the terminating chunk: an abrupt EOF for the client
            if script.stall_after == i:
                await conn.gone.wait()  # held open until the client leaves; shutdown cancels us instead
                self.disconnects += 1
                return None
            if i == len(pieces):
                break
            if period_ns:  # due at t0 + i/rate; a late piece goes at once, so lateness never accumulates
                if (wait_ns := t0 + i * period_ns - time.monotonic_ns()) > 0 and not await conn.pause(wait_ns / 1e9):
                    return False
            elif i and script.delay and not await conn.pause(script.delay):
                return False
            elif i % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # at full speed, still let the loop notice hang-ups and other requests
            if conn.interrupted or (i and ping and not await conn.chunk(ping)):
                return False
            script.written_ns.append(time.monotonic_ns())  # stamped before the send: lag is never understated
            if not await conn.chunk(pieces[i]):
                return False
        for piece in tail:
            if not await conn.chunk(piece):
                return False
        conn.end()
        return True


def go_json(obj) -> bytes:
    """JSON the way Go's encoding/json writes it: compact, UTF-8, with <, >, & and U+2028/9 escaped."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text.encode()


def rfc3339_now() -> str:
    """UTC time with nanoseconds, trailing zeros trimmed, as Go's time.RFC3339Nano prints it."""
    ns = time.time_ns()
    fraction = f"{ns % 1_000_000_000:09d}".rstrip("0")
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000))
    return seconds + (f".{fraction}" if fraction else "") + "Z"


def serve_main(cls: type[FakeServer], default_port: int) -> None:
    parser = argparse.ArgumentParser(description=f"Run the {cls.service} fake with its default reply.")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    with cls(port=args.port, host=args.host) as fake:
        print(f"{cls.service} fake listening on {fake.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


def group_frames(frames: list[tuple[bytes, bool]]) -> tuple[tuple[bytes, ...], list[bytes], tuple[bytes, ...]]:
    """Split (frame, is_token) pairs into head frames, one write per token, and tail frames.

    Structural frames between tokens ride along with the token that follows them, so fault
    positions (error_after=N and friends) always count tokens.
    """
    first = next((i for i, (_, is_token) in enumerate(frames) if is_token), len(frames))
    head = tuple(data for data, _ in frames[:first])
    pieces: list[bytes] = []
    pending: list[bytes] = []
    for data, is_token in frames[first:]:
        pending.append(data)
        if is_token:
            pieces.append(b"".join(pending))
            pending = []
    return head, pieces, tuple(pending)
