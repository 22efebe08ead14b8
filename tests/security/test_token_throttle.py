"""One throttle for every way of presenting the token (#25): the login form, a Bearer header on any
route or /mcp, a session cookie the server doesn't hold. Each client address (a loopback source
address of its own here) gets a few free tries, then 429 with Retry-After, the token unchecked; each
wrong try and each wait is logged."""

from __future__ import annotations

import httpx
import pytest

from tests.report import STATS
from web import auth

TOKEN = "a-long-random-token-for-the-throttle-test"  # the shared `guarded` stack's (tests/fixtures.py)


def client_from(stack, address: str) -> httpx.Client:
    """A client whose requests come from `address` (the throttle keys on it)."""
    return httpx.Client(base_url=stack.url, timeout=10, transport=httpx.HTTPTransport(local_address=address))


MCP = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'


@pytest.mark.parametrize("how,address", [("bearer", "127.0.0.21"), ("mcp", "127.0.0.22"), ("cookie", "127.0.0.23")])
def test_wrong_tokens_by_any_way_are_throttled_like_logins_and_logged(guarded, how, address):
    with client_from(guarded, address) as c:
        def guess(n: int) -> httpx.Response:
            if how == "bearer":
                return c.get("/health", headers={"Authorization": f"Bearer wrong-{n}"})
            if how == "mcp":
                return c.post("/mcp", content=INIT, headers={**MCP, "Authorization": f"Bearer wrong-{n}"})
            c.cookies.set(auth.COOKIE, f"forged-session-{n}")
            return c.get("/health")

        statuses = [guess(n).status_code for n in range(auth.FREE_TRIES + 20)]
        assert statuses[:auth.FREE_TRIES] == [401] * auth.FREE_TRIES, statuses
        assert set(statuses[auth.FREE_TRIES:]) == {429}, statuses
        refused = guess(99)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        # the right token is not even checked while the wait runs, and the login form waits too
        right = c.get("/health", headers={"Authorization": f"Bearer {TOKEN}"})
        login = c.post("/login", data={"token": TOKEN}, follow_redirects=False)
        assert right.status_code == 429 and login.status_code == 429
    log = guarded.log()
    way = {"bearer": "Bearer token", "mcp": "Bearer token", "cookie": "session cookie"}[how]
    assert f"wrong token from {address} by {way}" in log
    assert log.count(f"tries from {address} refused with 429") <= 2, "one line per wait, not one per try"
    STATS["security"]["token guesses throttled"] += len(statuses)


def test_a_stale_session_cookie_counts_once_and_is_cleared(guarded):
    """After a web restart every tab presents a cookie the server no longer holds: the answer clears it,
    so a reconnecting page is one wrong try, not one a second."""
    with client_from(guarded, "127.0.0.24") as c:
        c.cookies.set(auth.COOKIE, "a-session-from-before-a-restart")
        r = c.get("/events")
        assert r.status_code == 401
        assert auth.COOKIE in r.headers.get("set-cookie", "") and "Max-Age=0" in r.headers["set-cookie"]
        with client_from(guarded, "127.0.0.24") as bare:
            for _ in range(auth.FREE_TRIES + 3):  # without the cookie: not a try at all
                assert bare.get("/health").status_code == 401
        assert c.post("/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
    STATS["security"]["token guesses throttled"] += 1


def test_the_right_bearer_token_still_works_from_another_address(guarded):
    with client_from(guarded, "127.0.0.25") as c:
        assert c.get("/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
