"""`/mcp`: the Streamable HTTP endpoint, under the same rules as every route.

FastHTML's Beforeware guards only FastHTML's own routes, so this ASGI endpoint runs the same checks
itself (the Host allow-list, Origin, the token) before the SDK sees a request; it also refuses any
foreign `Origin`, whatever the method, as the MCP spec asks of HTTP servers (DNS rebinding). Bodies
obey the web's one limit (`web.edge.MAX_BODY`); an oversized call is answered as a JSON-RPC error for
its own id, so the agent reads why instead of seeing a broken connection. A body is checked as JSON
here (UTF-8, depth, numbers: `web.edge.checked_json`) before the SDK parses it, and a new session past
the cap (GHOSTWIRE_MCP_SESSIONS) gets a 503 that says why.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time

import anyio
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from web.edge import MAX_BODY, BadJson, checked_json, foreign
from web.mcp.server import Agents

log = logging.getLogger("web.mcp")
PATH = "/mcp"
DRAIN_MAX = 64 * 1024 * 1024  # an oversized body is read (and dropped) this far to find its id; then cut off
_TAIL = 256
# The id of a JSON-RPC request, when it is the object's last member: `,"id":3}` with one closing brace
# at the very end is the top level (a nested "id" ends with two or more).
_LAST_ID = re.compile(rb'"id"\s*:\s*(-?[0-9]{1,18}|"[^"\\]{0,100}")\s*\}\s*$')

Check = Callable[[Request], Response | None]


def foreign_origin(req: Request) -> Response | None:
    if why := foreign(req.headers, req.url.scheme):
        return PlainTextResponse(f"cross-origin request refused ({why}): {PATH} answers only its own origin "
                                 "or clients that send none", status_code=403)
    return None


class Endpoint:
    def __init__(self, agents: Agents, checks: list[Check], limit: int = MAX_BODY):
        self.agents, self.checks, self.limit = agents, checks, limit
        self._full_logged = -60.0

    async def __call__(self, scope, receive, send) -> None:
        req = Request(scope)
        for check in self.checks:
            if (refusal := check(req)) is not None:
                return await refusal(scope, receive, send)
        if scope["method"] == "POST":
            body = await self._body(receive)
            if isinstance(body, Response):
                return await body(scope, receive, send)
            refusal = self._unreadable(body) or self._full(req)
            if refusal is not None:
                return await refusal(scope, receive, send)
            receive = _replay(body, receive)
        if scope["method"] == "HEAD":
            return await self._head(scope, send)
        await self.agents.manager.handle_request(scope, receive, send)

    async def _head(self, scope, send) -> None:
        """HEAD answers what GET would (its status and headers), then the client has gone: a stream the
        GET would open ends at once."""
        sent = anyio.Event()

        async def head_send(message) -> None:
            if message["type"] == "http.response.start" and not sent.is_set():
                await send(message)
                await send({"type": "http.response.body", "body": b""})
                sent.set()

        asked = False

        async def head_receive():
            nonlocal asked
            if not asked:  # the request's (empty) body first, as for any GET
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await sent.wait()
            return {"type": "http.disconnect"}

        await self.agents.manager.handle_request({**scope, "method": "GET"}, head_receive, head_send)

    def _unreadable(self, body: bytes) -> Response | None:
        """A body no parser should recurse into, or whose numbers overflow: a JSON-RPC parse error (400)
        in plain words, before the SDK sees it."""
        try:
            value = checked_json(body)
        except BadJson as err:
            log.info("MCP request refused: %s", err)
            return _rpc_error(None, -32700, f"the request can't be read: {err}; nothing was done", 400)
        if why := rpc_problem(value):
            log.info("MCP request refused: %s", why)
            rpc_id = value.get("id") if isinstance(value, dict) and _good_id(value.get("id")) else None
            return _rpc_error(rpc_id, -32600, f"not a JSON-RPC request Ghostwire can take: {why}; nothing was done",
                              400)
        return None

    def _full(self, req: Request) -> Response | None:
        """A new session when every one is taken: 503 saying why and when to try again."""
        agents = self.agents
        if req.headers.get("mcp-session-id") is not None or agents.open_sessions() < agents.max_sessions:
            return None
        now = time.monotonic()
        if now - self._full_logged > 60:  # once a minute, however many are refused
            self._full_logged = now
            log.warning("MCP: a new session refused, all %d are open", agents.max_sessions)
        minutes = f"{agents.idle_s / 60:g} min" if agents.idle_s >= 60 else f"{agents.idle_s:g} s"
        return _rpc_error(None, -32000, f"Ghostwire holds at most {agents.max_sessions} MCP sessions at once and "
                          f"all are open; an idle one ends after {minutes} (a client that is done ends its session "
                          "with DELETE). Try again later.", 503, {"Retry-After": str(math.ceil(agents.idle_s))})

    async def _body(self, receive) -> bytes | Response:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return Response(status_code=400)  # the client left
            body += message.get("body", b"")
            if len(body) > self.limit:
                return await self._too_large(bytes(body[-_TAIL:]), message.get("more_body", False), receive)
            if not message.get("more_body"):
                return bytes(body)

    async def _too_large(self, tail: bytes, more: bool, receive) -> Response:
        read = self.limit
        while more and read < DRAIN_MAX:
            message = await receive()
            if message["type"] != "http.request":
                return Response(status_code=400)
            chunk = message.get("body", b"")
            read += len(chunk)
            tail = (tail + chunk)[-_TAIL:]
            more = message.get("more_body", False)
        text = f"request too large: the limit is {self.limit // 1024} KB; nothing was done"
        found = None if more else _LAST_ID.search(tail)
        if found is None:
            return PlainTextResponse(text, status_code=413, headers={"connection": "close"})
        return _rpc_error(json.loads(found.group(1)), -32600, text, 200)


def _good_id(rpc_id) -> bool:
    return isinstance(rpc_id, str) or (isinstance(rpc_id, int) and not isinstance(rpc_id, bool))


def rpc_problem(value) -> str:
    """What makes this JSON no JSON-RPC message (or batch) the SDK takes, in plain words ("" if nothing):
    said here, before the SDK's validator answers with its own error dump."""
    messages = value if isinstance(value, list) else [value]
    if not messages:
        return "the batch is empty"
    for m in messages:
        if not isinstance(m, dict):
            return "each message must be a JSON object"
        if m.get("jsonrpc") != "2.0":
            return 'a message lacks "jsonrpc": "2.0"'
        if "id" in m and not _good_id(m["id"]):
            return '"id" must be a string or an integer'
        if "method" not in m:
            if "id" not in m or not ("result" in m or "error" in m):
                return "a message needs a method (or, as an answer, an id and a result or an error)"
            continue
        if not isinstance(m["method"], str):
            return '"method" must be a string'
        params = m.get("params", {})
        if not isinstance(params, dict):
            return '"params" must be an object'
        if m["method"] == "initialize" and not (
                isinstance(params.get("protocolVersion"), str) and isinstance(params.get("capabilities"), dict)
                and isinstance(info := params.get("clientInfo"), dict) and isinstance(info.get("name"), str)
                and isinstance(info.get("version"), str)):
            return ("initialize needs params with protocolVersion (a string), capabilities (an object) and "
                    "clientInfo (an object with name and version)")
    return ""


def _rpc_error(rpc_id, code: int, text: str, status: int, headers: dict | None = None) -> Response:
    error = {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": text}}
    return Response(json.dumps(error), status_code=status, media_type="application/json", headers=headers)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def mount(app, host: Check, auth: Check | None, max_sessions: int = 100, idle_s: float = 300.0) -> Agents:
    """Serve MCP at PATH on `app` (every method: POST calls, GET the server's event stream, DELETE ends a
    session) behind the web's Host check, any foreign Origin, then its token check. The caller runs
    `Agents.running` in its lifespan."""
    agents = Agents(lambda: app.state.hub, max_sessions, idle_s)
    checks = [host, foreign_origin, *([auth] if auth else [])]
    app.router.routes.append(Route(PATH, Endpoint(agents, checks), methods=["GET", "HEAD", "POST", "DELETE"]))
    return agents
