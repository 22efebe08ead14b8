"""`/mcp` under the rules of every route: with GHOSTWIRE_TOKEN set, no token → 401, a foreign Origin →
403 (DNS rebinding, as the MCP spec asks of HTTP servers), a foreign Host → 421; the right token works."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.report import STATS
from tests.mcp.client import run, session, text

TOKEN = "gw-mcp-" + secrets.token_hex(20)
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "stranger", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def raw(stack, method: str, **headers: str) -> httpx.Response:
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        return client.request(method, "/mcp", json=INITIALIZE if method == "POST" else None,
                              headers={**MCP_HEADERS, **headers})


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
@pytest.mark.parametrize("credential", ["none", "wrong bearer"])
def test_without_the_token_mcp_is_refused(guarded, method, credential):
    headers = {"Authorization": f"Bearer {TOKEN}x"} if credential == "wrong bearer" else {}
    r = raw(guarded, method, **headers)
    assert r.status_code == 401, (r.status_code, r.text[:200])
    STATS["security"]["unauthenticated requests refused"] += 1


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_a_foreign_origin_is_refused_even_with_the_token(guarded, method, origin):
    r = raw(guarded, method, Authorization=f"Bearer {TOKEN}", Origin=origin)
    assert r.status_code == 403, (r.status_code, r.text[:200])
    STATS["security"]["cross-origin writes refused"] += 1


def test_a_rebound_host_is_refused_even_with_the_token(guarded):
    r = raw(guarded, "POST", Authorization=f"Bearer {TOKEN}", Host=f"evil.example:{guarded.port}")
    assert r.status_code == 421


def test_with_the_token_the_official_client_works(guarded):
    before = guarded.tasks()

    async def go():
        async with session(guarded.url, "Tokened Agent", headers={"Authorization": f"Bearer {TOKEN}"}) as s:
            return await s.call_tool("insert_task", {"name": "mcp with a token"})

    added = run(go)
    assert not added.isError, text(added)
    assert [t[1] for t in guarded.tasks()] == [t[1] for t in before] + ["mcp with a token"]
    # its own origin is no stranger: a browser-based client on the app's own page may call too
    assert raw(guarded, "POST", Authorization=f"Bearer {TOKEN}", Origin=guarded.url).status_code == 200
