"""MCP sessions are bounded (#25): at most GHOSTWIRE_MCP_SESSIONS open, an idle one ended after
GHOSTWIRE_MCP_IDLE_S (the SDK's own default is 30 minutes, which let 10,000 never-closed sessions hold
600 MB and the door), and a client past the cap gets a 503 that says why and when to try again."""

from __future__ import annotations

import time

import httpx

from tests.report import STATS
from tests.fixtures import stack_fixtures
from tests.mcp.client import run, session
from tests.util import wait_for

CAP, IDLE_S = 5, 2.0
fake_ollama, stack = stack_fixtures("module", GHOSTWIRE_MCP_SESSIONS=str(CAP), GHOSTWIRE_MCP_IDLE_S=str(IDLE_S))
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = (b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-03-26",'
        b' "capabilities": {}, "clientInfo": {"name": "session hog", "version": "1"}}}')


def initialize(stack) -> httpx.Response:
    return httpx.post(f"{stack.url}/mcp", content=INIT, headers=HEADERS, timeout=10)


def test_past_the_cap_a_new_session_gets_a_503_that_says_why(stack):
    opened = [initialize(stack) for _ in range(CAP)]
    assert [r.status_code for r in opened] == [200] * CAP
    lines = stack.log().count("a new session refused")
    refused = [initialize(stack) for _ in range(20)]
    assert {r.status_code for r in refused} == {503}
    message = refused[0].json()["error"]["message"]
    assert f"at most {CAP} MCP sessions" in message and "idle one ends after 2 s" in message, message
    assert "DELETE" in message and int(refused[0].headers["retry-after"]) >= 1
    assert stack.log().count("a new session refused") - lines <= 1, "logged once a minute, not per refusal"
    # ending one with DELETE opens the door at once
    gone = httpx.delete(f"{stack.url}/mcp", headers={**HEADERS, "mcp-session-id": opened[0].headers["mcp-session-id"]})
    assert gone.status_code == 200
    assert initialize(stack).status_code == 200
    STATS["hostile"]["MCP sessions refused past the cap"] += len(refused)


def test_idle_sessions_end_and_every_slot_comes_back(stack):
    """Sessions left open end after IDLE_S (watched for up to 10 × IDLE_S); then every slot is free again
    (the SDK forgot them, and what they held), and the official client gets in."""
    for r in wait_for(lambda: every_slot(stack), 10 * IDLE_S, interval=0.2, what="a start with every slot free"):
        end(stack, r)
    started = time.monotonic()
    hog = [initialize(stack) for _ in range(CAP)]
    assert initialize(stack).status_code == 503, [r.status_code for r in hog]
    first = wait_for(lambda: (r := initialize(stack)).status_code == 200 and r, 10 * IDLE_S, interval=0.2,
                     what="an idle session ended")
    assert time.monotonic() - started >= IDLE_S / 2, "sessions ended before they were idle"
    end(stack, first)

    async def body() -> int:
        async with session(stack.url, name="late client") as s:
            return len((await s.list_tools()).tools)

    assert run(body) > 0
    again = wait_for(lambda: every_slot(stack), 10 * IDLE_S, interval=0.2, what="every slot free again")
    for r in again:
        end(stack, r)
    STATS["hostile"]["idle MCP sessions ended"] += CAP


def every_slot(stack) -> list[httpx.Response] | None:
    """CAP new sessions, if all are admitted (else the admitted ones are ended again, and None)."""
    opened = [initialize(stack) for _ in range(CAP)]
    if all(r.status_code == 200 for r in opened):
        return opened
    for r in opened:
        if r.status_code == 200:
            end(stack, r)
    return None


def end(stack, opened: httpx.Response) -> None:
    httpx.delete(f"{stack.url}/mcp", headers={**HEADERS, "mcp-session-id": opened.headers["mcp-session-id"]})
