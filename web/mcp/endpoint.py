"""`/mcp`: the Streamable HTTP endpoint, under the same rules as every route.

FastHTML's Beforeware guards only FastHTML's own routes, so this ASGI endpoint runs the same checks
itself (the Host allow-list, Origin, the token) before the SDK sees a request; it also refuses any
foreign `Origin`, whatever the method, as the MCP spec asks of HTTP servers (DNS rebinding). Bodies
obey the web's one limit (`web.edge.MAX_BODY`); an oversized call is answered as a JSON-RPC error for
its own id, so the agent reads why instead of seeing a broken connection.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from web.edge import MAX_BODY
from web.mcp.server import Agents

PATH = "/mcp"
DRAIN_MAX = 64 * 1024 * 1024  # an oversized body is read (and dropped) this far to find its id; then cut off
_TAIL = 256
# The id of a JSON-RPC request, when it is the object's last member: `,"id":3}` with one closing brace
# at the very end is the top level (a nested "id" ends with two or more).
_LAST_ID = re.compile(rb'"id"\s*:\s*(-?[0-9]{1,18}|"[^"\\]{0,100}")\s*\}\s*$')

Check = Callable[[Request], Response | None]


def foreign_origin(req: Request) -> Response | None:
    origin = req.headers.get("origin")
    if origin and urlsplit(origin).netloc != req.headers.get("host", ""):
        return PlainTextResponse(f"cross-origin request refused: {PATH} answers only its own origin or "
                                 "clients that send none", status_code=403)
    return None


class Endpoint:
    def __init__(self, agents: Agents, checks: list[Check], limit: int = MAX_BODY):
        self.agents, self.checks, self.limit = agents, checks, limit

    async def __call__(self, scope, receive, send) -> None:
        req = Request(scope)
        for check in self.checks:
            if (refusal := check(req)) is not None:
                return await refusal(scope, receive, send)
        if scope["method"] == "POST":
            body = await self._body(receive)
            if isinstance(body, Response):
                return await body(scope, receive, send)
            receive = _replay(body, receive)
        await self.agents.manager.handle_request(scope, receive, send)

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
        error = {"jsonrpc": "2.0", "id": json.loads(found.group(1)), "error": {"code": -32600, "message": text}}
        return Response(json.dumps(error), media_type="application/json")


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def mount(app, host: Check, auth: Check | None) -> Agents:
    """Serve MCP at PATH on `app` (every method: POST calls, GET the server's event stream, DELETE ends a
    session) behind the web's Host check, any foreign Origin, then its token check. The caller runs
    `Agents.running` in its lifespan."""
    agents = Agents(lambda: app.state.hub)
    checks = [host, foreign_origin, *([auth] if auth else [])]
    app.router.routes.append(Route(PATH, Endpoint(agents, checks), methods=["GET", "POST", "DELETE"]))
    return agents
