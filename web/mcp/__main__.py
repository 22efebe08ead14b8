"""`python -m web.mcp --stdio`: for MCP clients that launch a server and talk to it on stdin/stdout.

A bridge, not a second server: it relays every JSON-RPC message unchanged to the running web's `/mcp`
(so the client's own `initialize`, and with it its name, reaches the web) and every answer back. It
uses GHOSTWIRE_HOST / GHOSTWIRE_PORT / GHOSTWIRE_TOKEN like the web, or `--url`.
"""

from __future__ import annotations

import argparse
import sys

import anyio
import httpx
from mcp.client.streamable_http import streamable_http_client
from mcp.server.stdio import stdio_server

from bus import settings
from web.mcp.endpoint import PATH
from web.settings import WebSettings


async def relay(source, sink, done: anyio.CancelScope) -> None:
    async for message in source:
        if isinstance(message, Exception):  # a line that isn't JSON-RPC, or a failed HTTP exchange
            print(f"web.mcp: {message}", file=sys.stderr, flush=True)
            continue
        await sink.send(message)
    done.cancel()  # either side closed: the bridge is over


async def bridge(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30, read=300)) as http, \
            streamable_http_client(url, http_client=http) as (from_web, to_web, _), \
            stdio_server() as (from_client, to_client), anyio.create_task_group() as tg:
        tg.start_soon(relay, from_client, to_web, tg.cancel_scope)
        tg.start_soon(relay, from_web, to_client, tg.cancel_scope)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m web.mcp", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stdio", action="store_true", required=True, help="serve MCP on stdin/stdout")
    parser.add_argument("--url", help=f"the web's MCP endpoint (default http://GHOSTWIRE_HOST:GHOSTWIRE_PORT{PATH})")
    args = parser.parse_args()
    cfg = settings.load(WebSettings)
    anyio.run(bridge, args.url or f"http://{cfg.host}:{cfg.port}{PATH}", cfg.token)


if __name__ == "__main__":
    main()
