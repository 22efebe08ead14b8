"""The web server's edges over plain HTTP: where it listens, CORS, cross-origin writes, DNS rebinding."""

from __future__ import annotations


import httpx
import pytest

from bus import settings
from web.settings import WebSettings
from tests.report import STATS
from tests.stack import HX
from tests.util import SseReader, wait_for

EVIL = "http://evil.example"
WRITES = [("POST", "/chat", {"msg": "cross-origin chat"}), ("POST", "/tasks", {"name": "cross-origin task"}),
          ("POST", "/tasks/{id}/toggle", None), ("POST", "/stop/x", None), ("PUT", "/tasks/{id}", {"name": "renamed!"}),
          ("DELETE", "/tasks/{id}", None), ("POST", "/tasks/order", {"ids": ["{id}"]}), ("POST", "/poke", None),
          ("POST", "/typing", None),
          # undo / ask-first: /undo/last would take back the target task's insert if it got through
          ("POST", "/undo/last", {"by": "anyone"}), ("POST", "/redo/last", None), ("POST", "/undo/reply/x", None),
          ("POST", "/undo/command/x:0", None), ("POST", "/undo/change/{seq}", None), ("POST", "/redo/command/x:0", None),
          ("POST", "/approve/x:0", {"decision": "allow"}), ("POST", "/settings/ask", {"action": "delete", "policy": "off"}),
          ("POST", "/mcp", None),  # an agent's tool call (a foreign Origin is refused on every method there)
          # conversations: new, open, rename, delete, retry, choose an attempt
          ("POST", "/conversations", None), ("POST", "/conversations/default/open", None),
          ("POST", "/conversations/default/rename", {"title": "renamed!"}), ("DELETE", "/conversations/default", None),
          ("POST", "/conversations/default/retry", None), ("POST", "/conversations/default/attempts/x", None),
          # a well-formed export file: it would add a task named "cross-origin import" if it got through
          ("POST", "/tasks/import", {"file": '{"format": "ghostwire.tasks", "version": 1, '
                                             '"tasks": [{"name": "cross-origin import"}]}'})]


def test_the_default_host_is_loopback():
    cfg = settings.load(WebSettings, environ={})
    assert cfg.host == "127.0.0.1" and cfg.port == 5001


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket in LISTEN on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if state == "0A" and int(p, 16) == port:
                found.add(addr)
    return found


def test_a_stack_started_with_defaults_listens_on_loopback_only(stack):
    addrs = listening_addresses(stack.port)
    assert addrs, "found the web server's socket"
    assert addrs <= {"0100007F", "00000000000000000000000001000000"}, f"listening beyond loopback: {addrs}"


@pytest.mark.parametrize("method,path", [("GET", "/"), ("GET", "/health"), ("OPTIONS", "/chat"),
                                         ("OPTIONS", "/tasks"), ("GET", "/static/app.js")])
def test_no_cors_headers_for_another_origin(stack, method, path):
    headers = {"Origin": EVIL, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "content-type, hx-request"}
    r = stack.http.request(method, path, headers=headers)
    leaked = {k: v for k, v in r.headers.items() if k.lower().startswith("access-control-")}
    assert not leaked, leaked


def a_task(stack, name: str) -> int:
    assert stack.http.post("/tasks", data={"name": name}).status_code == 200
    return wait_for(lambda: [t[0] for t in stack.tasks() if t[1] == name], what=name)[0]


def snapshot_of(stack) -> tuple:
    """The list, and what the person has said or done (the model's own comments come and go)."""
    with stack.db() as db:
        return (db.execute("SELECT id, name, done, priority FROM tasks WHERE name NOT LIKE 'control %'"
                           " ORDER BY id").fetchall(),
                db.execute("SELECT id, kind, content FROM messages WHERE role = 'user' AND content NOT LIKE"
                           " '%control %' ORDER BY id").fetchall(),
                db.execute("SELECT key, value FROM settings WHERE key LIKE 'ask%' ORDER BY key").fetchall(),
                db.execute("SELECT id, title FROM conversations ORDER BY id").fetchall(),
                db.execute("SELECT id, chosen FROM attempts ORDER BY id").fetchall())


@pytest.mark.parametrize("origin", [EVIL, "null", "http://127.0.0.1:1", "http://127.0.0.1.evil.example",
                                    "http://localhost:{port}"])
@pytest.mark.parametrize("method,path,data", WRITES)
def test_cross_origin_writes_are_refused_and_change_nothing(stack, fake_ollama, origin, method, path, data):
    task_id = a_task(stack, f"target {origin} {method} {path}")
    origin = origin.format(port=stack.port)
    with stack.db() as db:
        seq = db.execute("SELECT max(seq) FROM changes").fetchone()[0]  # the target task's insert
    path = path.format(id=task_id, seq=seq)
    if data and "ids" in data:
        data = {"ids": [str(task_id)]}
    before = snapshot_of(stack)
    with SseReader(stack.url, tab="witness") as witness:
        r = stack.http.request(method, path, data=data, headers={"Origin": origin})
        # a same-origin control through the same pipe: once it shows, a refused write would have shown too
        ok = stack.http.post("/tasks", data={"name": f"control {origin} {method} {path}"},
                             headers={"Origin": stack.url})
        assert ok.status_code == 200
        wait_for(lambda: witness.matching("control "), what="the same-origin control")
    assert r.status_code == 403, (r.status_code, r.text[:200])
    assert snapshot_of(stack) == before, "the refused request changed nothing"
    assert not witness.matching("cross-origin|renamed!")
    STATS["security"]["cross-origin writes refused"] += 1


def test_a_dns_rebinding_request_is_refused(stack):
    rebound = f"evil.example:{stack.port}"
    before = snapshot_of(stack)
    page = stack.http.get("/", headers={"Host": rebound})
    write = stack.http.post("/tasks", data={"name": "rebound task"},
                            headers={"Host": rebound, "Origin": f"http://{rebound}"})
    assert page.status_code in (400, 403, 421) and write.status_code in (400, 403, 421)
    assert snapshot_of(stack) == before


def test_requests_without_an_origin_still_work(stack):
    """Scripts and curl send no Origin: they are not cross-site, and stay allowed on loopback."""
    with httpx.Client(base_url=stack.url, timeout=10) as plain:
        assert plain.post("/tasks", data={"name": "from a script"}, headers=HX).status_code == 200
