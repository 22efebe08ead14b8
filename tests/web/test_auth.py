"""With GHOSTWIRE_TOKEN: every route refuses strangers; the login page lets the token holder in."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.stack import ROOT, Stack, clean_env

TOKEN = "correct-horse-battery-staple-9f3a"


@pytest.fixture(scope="module")
def guarded():
    s = Stack(LLM_BACKEND="demo", GHOSTWIRE_TOKEN=TOKEN, GHOSTWIRE_DEMO_RATE="0")
    s.start = _start_with_bearer(s)
    try:
        yield s.start()
    finally:
        s.stop()


def _start_with_bearer(s):
    plain_start = s.start

    def start():
        s.http.headers["Authorization"] = f"Bearer {TOKEN}"  # the harness's health polling signs in
        return plain_start()

    return start


ROUTES = [("GET", "/"), ("GET", "/events"), ("GET", "/health"), ("POST", "/chat"), ("POST", "/stop/x"),
          ("POST", "/tasks"), ("POST", "/tasks/1/toggle"), ("PUT", "/tasks/1"), ("DELETE", "/tasks/1"),
          ("POST", "/tasks/order"), ("POST", "/poke"),
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
