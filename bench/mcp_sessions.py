"""`python -m bench.mcp_sessions`: a client opens MCP sessions and never ends them. Prints the web's RSS
idle, with every slot taken (GHOSTWIRE_MCP_SESSIONS, the default 100), and after the idle ones ended
(GHOSTWIRE_MCP_IDLE_S, 5 s here), and how many were refused meanwhile (503, saying why)."""

from __future__ import annotations

import time

import httpx

from bench.big_list import settle_rss
from tests.stack import Stack
from tests.util import wait_for

IDLE_S = 5
TRIES = 1_000
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = (b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-03-26",'
        b' "capabilities": {}, "clientInfo": {"name": "session hog", "version": "1"}}}')


def main() -> None:
    stack = Stack(LLM_BACKEND="demo", GHOSTWIRE_MCP_IDLE_S=str(IDLE_S)).start(60)
    try:
        with httpx.Client(base_url=stack.url, timeout=30) as client:
            idle = settle_rss(stack)
            for round_ in (1, 2, 3):  # memory that comes back is reused: RSS stays flat round after round
                started = time.perf_counter()
                codes = [client.post("/mcp", content=INIT, headers=HEADERS).status_code for _ in range(TRIES)]
                took = time.perf_counter() - started
                full = settle_rss(stack)
                wait_for(lambda: client.post("/mcp", content=INIT, headers=HEADERS).status_code == 200, 10 * IDLE_S,
                         interval=0.5, what="the idle sessions ended")
                time.sleep(IDLE_S * 1.5)  # the rest of them too
                after = settle_rss(stack)
                print(f"round {round_}: {TRIES:,} initialize calls in {took:.1f} s: {codes.count(200)} admitted, "
                      f"{codes.count(503)} refused with 503; web RSS idle {idle / 1024:.1f} MB, slots taken "
                      f"{full / 1024:.1f} MB, after they idled out {after / 1024:.1f} MB", flush=True)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
