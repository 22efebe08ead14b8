"""Refuse at the edge: a request body over the limit is answered 413 before any route (or the bus)
sees it, and ids are ASCII digits only (Python's int() would take "１" for 1)."""

from __future__ import annotations

import re

MAX_BODY = 256 * 1024  # the largest real request (8,000 characters of chat, percent-encoded) fits 3×
_ID = re.compile(r"[0-9]{1,19}")  # fullmatch; 19 digits hold every 64-bit id
_MSG_ID = re.compile(r"[A-Za-z0-9_:-]{1,64}")


def ascii_id(text: str) -> int | None:
    return int(text) if _ID.fullmatch(text) else None


def msg_id_ok(text: str) -> bool:
    return _MSG_ID.fullmatch(text) is not None


class BodyLimit:
    """ASGI middleware: a declared Content-Length over `limit` gets 413 at once (h11 never delivers
    more than was declared); a chunked body is read up to `limit` and refused as soon as it passes it.
    Paths in `answered_by` apply the same limit themselves, answering in their own protocol (/mcp)."""

    def __init__(self, app, limit: int = MAX_BODY, answered_by: tuple[str, ...] = ()):
        self.app = app
        self.limit = limit
        self.answered_by = answered_by

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.answered_by:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.limit:
                return await self._refuse(send)
            return await self.app(scope, receive, send)
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            return await self.app(scope, receive, send)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            body += message.get("body", b"")
            if len(body) > self.limit:
                return await self._refuse(send)
            if not message.get("more_body"):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        return await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        text = f"request too large: the limit is {self.limit // 1024} KB\n".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(text)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": text})
