"""With GHOSTWIRE_TOKEN: every route refuses strangers; the login page lets the token holder in."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.report import STATS
from tests.stack import ROOT, clean_env
from web import auth

TOKEN = "correct-horse-battery-staple-9f3a"


PROXY = "127.0.0.3"  # a loopback source address standing in for a reverse proxy
PROXY_NAME = "ghostwire.example"


GUARDED_ENV = {"GHOSTWIRE_TRUSTED_PROXIES": PROXY, "GHOSTWIRE_ALLOWED_HOSTS": PROXY_NAME}  # for `guarded`


ROUTES = [("GET", "/"), ("GET", "/events"), ("GET", "/health"), ("POST", "/chat"), ("POST", "/stop/x"),
          ("POST", "/tasks"), ("POST", "/tasks/1/toggle"), ("PUT", "/tasks/1"), ("DELETE", "/tasks/1"),
          ("POST", "/tasks/order"), ("POST", "/poke"), ("POST", "/typing"),
          ("POST", "/undo/reply/x"), ("POST", "/undo/command/x:0"), ("POST", "/undo/change/1"), ("POST", "/undo/last"),
          ("POST", "/redo/reply/x"), ("POST", "/redo/command/x:0"), ("POST", "/redo/change/1"), ("POST", "/redo/last"),
          ("POST", "/approve/x:0"), ("POST", "/settings/ask"), ("GET", "/changes"), ("GET", "/changes/table")]


@pytest.mark.parametrize("method,path", ROUTES)
def test_every_route_refuses_without_the_token(guarded, method, path):
    with httpx.Client(base_url=guarded.url, timeout=5) as anon:
        r = anon.request(method, path, data={"msg": "hi", "name": "x"} if method != "GET" else None)
    assert r.status_code in (401, 303)
    if r.status_code == 303:
        assert r.headers["location"] == "/login"


def test_login_sets_a_session_that_opens_everything(guarded):
    with httpx.Client(base_url=guarded.url, timeout=5) as browser:
        assert browser.get("/login").status_code == 200
        bad = browser.post("/login", data={"token": "wrong"})
        assert "not right" in bad.text and "auth" not in str(browser.cookies)
        ok = browser.post("/login", data={"token": TOKEN})
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        page = browser.get("/")
        assert page.status_code == 200 and 'id="chat-log"' in page.text
        assert browser.get("/health").json()["ok"] is True
        assert TOKEN not in page.text


def test_web_refuses_to_leave_loopback_without_a_token(tmp_path):
    env = clean_env(GHOSTWIRE_HOST="0.0.0.0", GHOSTWIRE_RUN_DIR=str(tmp_path), GHOSTWIRE_DATA_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "web"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode != 0
    assert "GHOSTWIRE_TOKEN" in out.stderr


def client_from(stack, address: str, **kw) -> httpx.Client:
    """A client connecting from another loopback address: to the server, another machine."""
    return httpx.Client(base_url=stack.url, timeout=10, transport=httpx.HTTPTransport(local_address=address), **kw)


def sign_in(client: httpx.Client) -> str:
    r = client.post("/login", data={"token": TOKEN})
    assert r.status_code == 303, r.status_code
    return client.cookies[auth.COOKIE]


def test_300_wrong_tokens_get_429s_and_the_right_one_still_works_from_a_fresh_client(guarded):
    log_before = len(guarded.log())
    codes, waits = [], []
    with client_from(guarded, "127.0.0.4") as attacker:
        for i in range(300):
            # a client not on GHOSTWIRE_TRUSTED_PROXIES can't pick its own address for the throttle
            r = attacker.post("/login", data={"token": f"guess-{i}"}, headers={"X-Forwarded-For": f"198.51.100.{i % 250}"})
            codes.append(r.status_code)
            if r.status_code == 429:
                waits.append(int(r.headers["retry-after"]))
        refused_right = attacker.post("/login", data={"token": TOKEN})
    checked = codes.count(401)
    assert codes.count(429) >= 290 and checked <= auth.FREE_TRIES + 3, {c: codes.count(c) for c in set(codes)}
    assert set(codes) <= {401, 429}
    assert refused_right.status_code == 429, "while it waits, even the right token isn't checked"
    assert max(waits) >= 2
    with client_from(guarded, "127.0.0.5") as fresh:
        sign_in(fresh)
        assert fresh.get("/").status_code == 200
    new_log = guarded.log()[log_before:]
    assert "wrong token from 127.0.0.4" in new_log and "refused with 429" in new_log
    assert new_log.count("refused with 429") <= checked, "one log line per wait, not per try"
    STATS["security"]["wrong logins answered 429"] += codes.count(429)


def test_each_login_gets_a_new_cookie_and_logout_ends_it(guarded):
    with client_from(guarded, "127.0.0.6") as a, client_from(guarded, "127.0.0.6") as b:
        first, second = sign_in(a), sign_in(b)
        assert first != second and TOKEN not in first and len(first) >= 40
        a_again = sign_in(a)
        assert a_again not in (first, second)
        assert a.get("/").status_code == 200 and 'id="sign-out"' in a.get("/").text
        out = a.post("/logout", headers={"Origin": guarded.url})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert auth.COOKIE not in a.cookies
        assert b.get("/").status_code == 200, "another session lives on"
    with httpx.Client(base_url=guarded.url, timeout=10, cookies={auth.COOKIE: a_again}) as replay:
        assert replay.get("/", follow_redirects=False).status_code == 303, "a logged-out cookie opens nothing"
        assert replay.post("/tasks", data={"name": "after logout"}).status_code == 401
    STATS["security"]["logged-out cookies refused"] += 1


def test_the_cookie_lasts_30_days_and_is_secure_only_over_https(guarded):
    with client_from(guarded, "127.0.0.7") as plain:
        cookie = plain.post("/login", data={"token": TOKEN}).headers["set-cookie"].lower()
        assert f"max-age={30 * 86400}" in cookie and "secure" not in cookie
        spoofed = plain.post("/login", data={"token": TOKEN}, headers={"X-Forwarded-Proto": "https"})
        assert "secure" not in spoofed.headers["set-cookie"].lower(), "X-Forwarded-Proto from a stranger is ignored"
    with client_from(guarded, PROXY) as proxy:
        r = proxy.post("/login", data={"token": TOKEN}, headers={"X-Forwarded-Proto": "https"})
        assert "; secure" in r.headers["set-cookie"].lower()


def test_the_host_allow_list_holds_with_a_token(guarded):
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=guarded.url, timeout=10, headers=bearer) as me:
        assert me.get("/", headers={"Host": f"evil.example:{guarded.port}"}).status_code == 421
        assert me.post("/login", data={"token": "guess"}, headers={"Host": "evil.example"}).status_code == 421
        assert me.get("/", headers={"Host": f"{PROXY_NAME}:443"}).status_code == 200
    STATS["security"]["rebinding requests refused with a token"] += 2
