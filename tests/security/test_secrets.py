"""Keys never reach a page, /health, an error, the SSE stream, the bus, the database or a log line."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
import zmq

from tests.report import STATS
from tests.fakes import FakeOpenAI, Script
from tests.stack import HX, ROOT, Stack, clean_env, free_port
from tests.util import SseReader, wait_for

OPENAI_KEY = "sk-gwtest-" + secrets.token_hex(20)
ANTHROPIC_KEY = "sk-ant-gwtest-" + secrets.token_hex(20)
TOKEN = "gw-token-" + secrets.token_hex(20)


def needles(key: str) -> list[str]:
    """The key, and its middle (a masked echo like 'sk-gwtes***abcd' shows only the ends)."""
    return [key, key[10:-6]]


class Wiretap(threading.Thread):
    """Every frame on the bus, raw."""

    def __init__(self, stack):
        super().__init__(daemon=True)
        self.endpoint = f"ipc://{stack.run_dir}/events-out.sock"
        self.frames: list[bytes] = []
        self.halt = threading.Event()

    def run(self) -> None:
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.connect(self.endpoint)
        sub.subscribe(b"")
        while not self.halt.is_set():
            if sub.poll(50):
                self.frames.append(b" ".join(sub.recv_multipart()))
        ctx.destroy(linger=0)


@pytest.fixture(scope="module")
def fake_openai():
    with FakeOpenAI(api_key=OPENAI_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def keyed(fake_openai):
    s = Stack(LLM_BACKEND="openai", OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY=OPENAI_KEY,
              ANTHROPIC_API_KEY=ANTHROPIC_KEY, LLM_MODEL="gpt-4o-mini")
    try:
        yield s.start()
    finally:
        s.stop()


def scan(where: str, text: str, keys=(OPENAI_KEY, ANTHROPIC_KEY)) -> None:
    STATS["security"]["places scanned for keys"] += 1
    for key in keys:
        for needle in needles(key):
            assert needle not in text, f"a key leaked into {where}"


def test_keys_never_leave_the_llm_worker(keyed, fake_openai):
    with SseReader(keyed.url, tab="scan") as sse:
        tap = Wiretap(keyed)
        tap.start()
        # A normal reply (the key is really in use), a server error that echoes the whole key, and a
        # mid-stream error quoting it.
        fake_openai.enqueue(Script(tokens=["hello ", "there"]),
                            Script(error_status=500, error_message=f"upstream trouble with key {OPENAI_KEY}"),
                            Script(tokens=["a", "b", "c"], error_after=2,
                                   error_message=f"stream died (key={OPENAI_KEY})"))
        replies = [keyed.chat(f"message {i}") for i in range(3)]
        for r in replies:
            keyed.wait_message(r)
        assert fake_openai.requests[-1].headers["authorization"] == f"Bearer {OPENAI_KEY}", "the key is in use"
        keyed.http.post("/chat", data={"msg": "!models"})
        keyed.http.post("/tasks", data={"name": "x" * 600})
        wait_for(lambda: sse.matching(f'id="msg-{replies[-1]}" class="msg assistant chat failed'), what="3rd reply")
        tap.halt.set()
        tap.join(2)
    errors = [keyed.message(r)[3] or "" for r in replies]
    assert "upstream trouble" in errors[1] and "stream died" in errors[2], "the servers' words are shown..."
    scan("the SSE stream", sse.text())
    scan("the bus", b"\n".join(tap.frames).decode(errors="replace"))
    scan("GET /", keyed.http.get("/").text)
    scan("/health", keyed.http.get("/health").text)
    scan("a 404", keyed.http.get("/no/such/page").text)
    scan("a 403", keyed.http.post("/tasks", data={"name": "x"}, headers={"Origin": "http://evil.example"}).text)
    scan("a 422", keyed.http.post("/chat", data={"msg": ""}).text)
    with SseReader(keyed.url, tab="late", last_event_id="stale-1") as late:
        wait_for(late.snapshot, what="a snapshot")
    scan("an SSE snapshot", late.text())
    with keyed.db() as db:
        dump = "\n".join(str(row) for table in ("messages", "commands", "tasks", "settings")
                         for row in db.execute(f"SELECT * FROM {table}"))
    scan("the database", dump)
    scan("the logs", keyed.log())


def test_the_token_never_shows(guarded):
    s = guarded
    with httpx.Client(base_url=s.url, timeout=10, headers=HX) as anon:
        pages = [anon.get("/login").text, anon.post("/login", data={"token": "wrong"}).text,
                 anon.get("/health").text, anon.post("/chat", data={"msg": "hi"}).text]
        signed = anon.post("/login", data={"token": TOKEN})
        cookie = "; ".join(f"{k}={v}" for k, v in anon.cookies.items())
    pages += [s.http.get("/").text, s.http.get("/health").text, signed.text, cookie]
    for i, text in enumerate(pages):
        scan(f"page {i}", text, keys=(TOKEN,))
    scan("the logs", s.log(), keys=(TOKEN,))


ROUTES = [("GET", "/"), ("GET", "/events"), ("GET", "/health"), ("POST", "/chat"), ("POST", "/stop/x"),
          ("POST", "/tasks"), ("POST", "/tasks/1/toggle"), ("PUT", "/tasks/1"), ("DELETE", "/tasks/1"),
          ("POST", "/tasks/order"), ("POST", "/poke"), ("POST", "/typing"), ("POST", "/mcp"), ("GET", "/mcp"),
          ("DELETE", "/mcp"),
          ("POST", "/conversations"), ("GET", "/conversations"),
          ("POST", "/conversations/default/open"), ("POST", "/conversations/default/rename"),
          ("DELETE", "/conversations/default"), ("GET", "/conversations/default/export.md"),
          ("POST", "/conversations/default/retry"), ("POST", "/conversations/default/attempts/x"),
          ("GET", "/tasks/export.json"), ("POST", "/tasks/import")]


def made_up_session() -> dict[str, str]:
    """A session cookie of the right shape that the server never handed out."""
    from web import auth

    return {auth.COOKIE: secrets.token_urlsafe(32)}


CREDENTIALS = ["none", "wrong bearer", "token as basic auth", "token in the query", "a made-up session cookie"]


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_with_a_token_every_route_refuses_a_stranger(guarded, credential):
    """Each stranger from a loopback address of its own: a wrong credential counts against its address
    (after a few, 429 — a refusal too), never against the harness's."""
    headers, params, cookies = dict(HX), {}, {}
    if credential == "wrong bearer":
        headers["Authorization"] = f"Bearer {TOKEN}x"
    elif credential == "token as basic auth":
        headers["Authorization"] = "Basic " + __import__("base64").b64encode(f"x:{TOKEN}".encode()).decode()
    elif credential == "token in the query":
        params["token"] = TOKEN
    elif credential == "a made-up session cookie":
        cookies = made_up_session()
    before = guarded.tasks()
    address = f"127.0.0.{40 + CREDENTIALS.index(credential)}"
    with httpx.Client(base_url=guarded.url, timeout=5, headers=headers, cookies=cookies,
                      transport=httpx.HTTPTransport(local_address=address)) as stranger:
        for method, path in ROUTES:
            r = stranger.request(method, path, params=params, data={"msg": "hi", "name": "stranger"}
                                 if method != "GET" else None)
            assert r.status_code in (401, 303, 429), (credential, method, path, r.status_code)
            if r.status_code == 303:
                assert r.headers["location"] == "/login"
            STATS["security"]["unauthenticated requests refused"] += 1
    assert guarded.tasks() == before


def test_with_a_token_the_bearer_opens_every_route_including_events(guarded):
    with httpx.Client(base_url=guarded.url, timeout=5, headers={**HX, "Authorization": f"Bearer {TOKEN}"}) as me:
        assert me.get("/").status_code == 200
        assert me.post("/tasks", data={"name": "mine"}).status_code == 200
    with SseReader(guarded.url, tab="bearer", headers={"Authorization": f"Bearer {TOKEN}"}) as sse:
        assert sse.status == 200
    with SseReader(guarded.url, tab="anon") as anon:
        assert anon.status == 401


def test_the_session_cookie_is_httponly_and_samesite(guarded):
    with httpx.Client(base_url=guarded.url, timeout=5) as browser_like:
        r = browser_like.post("/login", data={"token": TOKEN})
    cookie = r.headers.get("set-cookie", "").lower()
    assert "httponly" in cookie and ("samesite=lax" in cookie or "samesite=strict" in cookie), cookie


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_web_refuses_to_listen_beyond_loopback_without_a_token(tmp_path, host):
    port = free_port()
    env = clean_env(GHOSTWIRE_HOST=host, GHOSTWIRE_PORT=str(port), GHOSTWIRE_RUN_DIR=str(tmp_path),
                    GHOSTWIRE_DATA_DIR=str(tmp_path))
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "web"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode != 0 and time.monotonic() - started < 20
    message = out.stdout + out.stderr
    assert "GHOSTWIRE_TOKEN" in message and host in message and "Traceback" not in message, message
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "nothing listens"


def test_with_a_token_web_may_listen_beyond_loopback(tmp_path):
    """The control for the refusal: the same start with a token gets as far as listening."""
    port = free_port()
    env = clean_env(GHOSTWIRE_HOST="0.0.0.0", GHOSTWIRE_PORT=str(port), GHOSTWIRE_RUN_DIR=str(tmp_path),
                    GHOSTWIRE_DATA_DIR=str(tmp_path), GHOSTWIRE_TOKEN=TOKEN)
    proc = subprocess.Popen([sys.executable, "-m", "web"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0
        wait_for(listening, 20, interval=0.05, what="web listening with a token")
        r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert r.status_code == 401, "and even then, strangers are refused"
    finally:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
    scan("web's output", out, keys=(TOKEN,))
