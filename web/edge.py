"""Refuse at the edge, in plain words, before any route (or the bus) sees a request: a body over the
limit (413), a JSON body that is not UTF-8, nests too deep or holds numbers past 64 bits (422: a
recursing parser was a 500), a form the parser can't read (422), ids that aren't ASCII digits (Python's
int() would take "１" for 1) or have more digits than any id (404), another origin (`foreign`). Also the
headers of a download (`attachment`), and one line per library log record."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, urlsplit

import msgspec
from starlette.responses import JSONResponse, PlainTextResponse, Response

log = logging.getLogger("web.edge")
logging.getLogger("python_multipart").setLevel(logging.ERROR)  # a broken upload: our one line says it (below)


class OneLine(logging.Filter):
    """Records logged on the root logger come from libraries (the MCP SDK logs a request it can't validate
    there, with every validation error: 80 lines for one bad call): one line each, at most 300 characters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info is None:
            message = record.getMessage()
            record.msg, record.args = (message.splitlines() or [""])[0][:300], None
        return True


logging.getLogger().addFilter(OneLine())

MAX_BODY = 256 * 1024  # the largest real request (8,000 characters of chat, percent-encoded) fits 3×
_ID = re.compile(r"[0-9]{1,19}")  # fullmatch; 19 digits hold every 64-bit id
_MSG_ID = re.compile(r"[A-Za-z0-9_:-]{1,64}")
_HUGE_ID = re.compile(r"/[0-9]{20,}(?:/|$)")  # a path segment of more digits than any 64-bit id


CROSS_SITE = ("cross-site", "same-site")  # Sec-Fetch-Site values of another site's page (a sibling host too)


def foreign(headers, scheme: str) -> str:
    """Why a request comes from another origin ("" if it doesn't): its `Origin` (scheme and host) is not
    ours, or the browser says so in `Sec-Fetch-Site`. A script that sends neither is not a browser page."""
    origin = headers.get("origin")
    if origin:
        parts = urlsplit(origin)
        if parts.scheme != scheme or parts.netloc != headers.get("host", ""):
            return f"Origin {origin[:100]!r} is not this server's"
    site = headers.get("sec-fetch-site", "")
    if site in CROSS_SITE:
        return f"the browser says it came from a {site} page"
    return ""


def attachment(filename: str) -> dict[str, str]:
    """Headers for a download: `Content-Disposition` with an ASCII fallback name and the real one as
    `filename*=UTF-8''…` (a header is Latin-1: a title in Cyrillic can't go in raw), and `nosniff`, so no
    browser renders it as anything but what it says it is."""
    stem, dot, ext = filename.rpartition(".") if "." in filename else (filename, "", "")
    fallback = re.sub(r"-{2,}", "-", "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-"
                                             for ch in stem)).strip("-") or "download"
    fallback += dot + "".join(ch for ch in ext if ch.isascii() and ch.isalnum())
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}",
            "X-Content-Type-Options": "nosniff"}


MAX_JSON_DEPTH = 32  # the deepest real body (an MCP tool call, an export file) nests 5 levels
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


class BadJson(ValueError):
    """Why a body can't be read as JSON, in plain words (never a parser's own message)."""


def checked_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> object:
    """The body as JSON, checked before any parser that recurses sees it: UTF-8 text, nested at most
    `max_depth` deep, numbers that fit 64 bits (msgspec also refuses a lone surrogate like "\\ud800",
    which no text can carry on). Raises BadJson."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadJson("the body is not UTF-8 text") from None
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > max_depth:
            raise BadJson(f"the JSON nests deeper than {max_depth} levels") from None
    try:
        value = msgspec.json.decode(body)
    except msgspec.ValidationError:  # the one kind an untyped decode raises: a number past 64 bits
        raise BadJson("a number in it is too large") from None
    except msgspec.DecodeError:
        raise BadJson("it is not valid JSON (or holds a lone surrogate, which is not text)") from None
    return value


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
        if _HUGE_ID.search(scope["path"]):  # the router's int() would raise on 4,300 digits: a 500
            return await _answer(send, 404, b"there is no such id\n")
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._refuse(send)
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        is_json = headers.get(b"content-type", b"").split(b";")[0].strip().lower() == b"application/json"
        if not chunked and not (is_json and length is not None):
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
        if is_json and body and (why := _not_a_json_object(bytes(body))):
            return await _answer(send, 422, msgspec.json.encode({"ok": False, "error": why}), b"application/json")
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
        await _answer(send, 413, text, close=True)


def _not_a_json_object(body: bytes) -> str:
    """Why a JSON body can't reach a route ("" if it can): FastHTML parses every JSON body into the
    route's arguments first, with a parser that recurses (100,000 brackets were a 500), and takes only
    an object."""
    try:
        value = checked_json(body)
    except BadJson as err:
        return f"the request's JSON can't be read: {err}; nothing was done"
    return "" if isinstance(value, dict) else "the request's JSON must be an object; nothing was done"


async def _answer(send, status: int, body: bytes, content_type: bytes = b"text/plain; charset=utf-8",
                  close: bool = False) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + ([(b"connection", b"close")] if close else [])})
    await send({"type": "http.response.body", "body": body})


FORM_UNREADABLE = "the request's form can't be read (a broken upload, or too many fields); nothing was done"


async def form_unreadable(req, exc) -> Response:
    """The app's handler for a 400 (FastHTML and Starlette raise it parsing a form, before any route,
    quoting the parser): a 422 in plain words, logged in one line."""
    log.info("%s %s refused: %s", req.method, req.url.path, str(exc.detail).splitlines()[0][:200])
    if "hx-request" in req.headers or "json" not in req.headers.get("accept", ""):
        return PlainTextResponse(FORM_UNREADABLE, status_code=422)
    return JSONResponse({"ok": False, "error": FORM_UNREADABLE}, status_code=422)
