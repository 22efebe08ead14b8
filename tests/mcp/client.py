"""The official MCP client (the SDK's ClientSession over its Streamable HTTP transport) against a
running stack, and what the tests read from it."""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio
import httpx
import mcp.types as types
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

# What a browser-less client sends; httpx asks for zstd, br and gzip, so compression is on the path.
ACCEPT_ENCODING = "zstd, br, gzip"


@asynccontextmanager
async def session(url: str, name: str = "Test Agent", headers: dict | None = None, on_message=None,
                  responses: list | None = None):
    """An initialized session as the client `name`; `on_message` gets every notification, `responses`
    each HTTP response's (method, content type, content encoding)."""
    async def keep(r: httpx.Response) -> None:
        if responses is not None:
            responses.append((r.request.method, r.headers.get("content-type", ""),
                              r.headers.get("content-encoding", "")))

    http = httpx.AsyncClient(headers={"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
                             timeout=httpx.Timeout(30, read=300), event_hooks={"response": [keep]})
    async with http, streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _), \
            ClientSession(read, write, client_info=types.Implementation(name=name, version="1.0"),
                          message_handler=on_message) as s:
        await s.initialize()
        yield s


def run(fn, *args):
    """Run an async test body (the tests are plain functions; the stack fixtures are sync)."""
    return anyio.run(fn, *args)


def text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))
