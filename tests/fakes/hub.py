"""A fake model hub and a fake package index over real sockets, for the model fetcher's tests.

FakeHub answers as Hugging Face does for `/{repo}/resolve/main/{file}`: a 302 to a content URL, which
serves the bytes with `Accept-Ranges`, a 206 for `Range: bytes=N-`, and 404 for anything else. It can
cut the connection after some bytes (once), throttle, or change a byte (a bad copy). FakeIndex is the
"simple" API pip reads (PEP 503 pages linking wheel files with their #sha256)."""

from __future__ import annotations

import hashlib
import io
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHUNK = 1 << 20


class _Server:
    def __init__(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                outer.requests.append((self.path, self.headers.get("Range", "")))
                outer.handle(self)

        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class FakeHub(_Server):
    def __init__(self, repo: str, file: str, source: Path | bytes, *, cut_after: int = 0, rate: float = 0,
                 corrupt_at: int = -1):
        super().__init__()
        self.repo, self.file, self.source = repo, file, source
        self.cut_after, self.rate, self.corrupt_at = cut_after, rate, corrupt_at

    def size(self) -> int:
        return len(self.source) if isinstance(self.source, bytes) else self.source.stat().st_size

    def _open(self):
        return io.BytesIO(self.source) if isinstance(self.source, bytes) else open(self.source, "rb")

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        if h.path == f"/{self.repo}/resolve/main/{self.file}":
            h.send_response(302)
            h.send_header("Location", f"/cdn/{self.file}")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if h.path != f"/cdn/{self.file}":
            h.send_error(404)
            return
        size, start = self.size(), 0
        if (wanted := h.headers.get("Range", "")).startswith("bytes="):
            start = int(wanted[6:].split("-")[0])
            if start >= size:
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{size}")
                h.end_headers()
                return
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            h.send_response(200)
        h.send_header("Accept-Ranges", "bytes")
        h.send_header("Content-Length", str(size - start))
        h.end_headers()
        self._send(h, start, size)

    def _send(self, h: BaseHTTPRequestHandler, at: int, size: int) -> None:
        cut, self.cut_after = self.cut_after, 0  # once
        began = time.monotonic()
        with self._open() as f:
            f.seek(at)
            sent = 0
            while chunk := f.read(CHUNK):
                if 0 <= self.corrupt_at - at - sent < len(chunk):
                    i = self.corrupt_at - at - sent
                    chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1:]
                if cut and at + sent + len(chunk) > cut:
                    h.wfile.write(chunk[:cut - at - sent])
                    h.wfile.flush()
                    h.close_connection = True
                    h.connection.shutdown(2)  # mid-body: the client sees the stream end early
                    return
                h.wfile.write(chunk)
                sent += len(chunk)
                if self.rate:
                    time.sleep(max(0.0, sent / self.rate - (time.monotonic() - began)))


def wheel(name: str, version: str, files: dict[str, bytes]) -> tuple[str, bytes]:
    """A minimal valid wheel (name, bytes) holding `files`."""
    dist = name.replace("-", "_")
    filename = f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return filename, buf.getvalue()


class FakeIndex(_Server):
    """`/simple/{project}/` pages for the wheels given; any other project is a 404 (as on a real index)."""

    def __init__(self, wheels: dict[str, tuple[str, bytes]]):
        super().__init__()
        self.wheels = dict(wheels)  # project name -> (file name, bytes)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?")[0]
        for project, (filename, data) in list(self.wheels.items()):
            if path.rstrip("/") == f"/simple/{project}":
                digest = hashlib.sha256(data).hexdigest()
                body = f'<html><body><a href="/files/{filename}#sha256={digest}">{filename}</a></body></html>'
                return self._reply(h, body.encode(), "text/html")
            if path == f"/files/{filename}":
                return self._reply(h, data, "application/octet-stream")
        h.send_error(404)

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, body: bytes, kind: str) -> None:
        h.send_response(200)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
