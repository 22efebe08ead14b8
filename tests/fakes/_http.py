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

MAX_HEADER_BYTES = 64 * 1024


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
        """Sleep, but wake as soon as the client hangs up; False if it did."""
        try:
            await asyncio.wait_for(self.gone.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def _drain(self) -> bool:
        try:
            await self.writer.drain()
        except ConnectionError:
            self.gone.set()
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
        self.disconnects = 0
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

    def next_script(self) -> Script:
        with self._lock:
            return self._scripts.popleft() if self._scripts else self.default_script()

    def default_script(self) -> Script:
        return Script(delay=DEFAULT_DELAY)

    def record(self, request: Request) -> RecordedRequest:
        recorded = RecordedRequest(request.json() or {}, path=request.path, headers=request.headers)
        self.requests.append(recorded)
        return recorded

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.service}: condition not met within {timeout} s")
            time.sleep(0.005)

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
        self._stopping = asyncio.Event()
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
                   head: tuple[bytes, ...] = (), tail: tuple[bytes, ...] = (), error_piece: bytes = b"") -> None:
        """Stream head, the pieces (applying the script's pace and faults), then tail, as a chunked body."""
        if script.ttft and not await conn.pause(script.ttft):
            self.disconnects += 1
            return
        if not await conn.start(script.content_type or content_type):
            self.disconnects += 1
            return
        for piece in head:
            if not await conn.chunk(piece):
                self.disconnects += 1
                return
        for i in range(len(pieces) + 1):
            if script.error_after == i:
                await conn.chunk(error_piece)
                conn.end()
                return
            if script.eof_after == i:
                return  # close without the terminating chunk: an abrupt EOF for the client
            if script.stall_after == i:
                await conn.gone.wait()  # held open until the client leaves; shutdown cancels us instead
                self.disconnects += 1
                return
            if i == len(pieces):
                break
            if (i and script.delay and not await conn.pause(script.delay)) or not await conn.chunk(pieces[i]):
                self.disconnects += 1
                return
        for piece in tail:
            if not await conn.chunk(piece):
                self.disconnects += 1
                return
        conn.end()


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
