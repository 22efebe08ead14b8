"""A hostile neighbour on the shared stack (#25): no input gets a 500 or an exception's words, a bad
request logs one line, downloads say what they carry, HEAD works wherever GET does, the Origin check
knows the scheme and Sec-Fetch-Site, an agent's name carries no control characters, Ctrl+Z takes back
a whole import, and Undo all waits for its reply to end."""

from __future__ import annotations

import json
import os
import re
from urllib.parse import quote

import httpx
import pytest

from tests.report import STATS
from tests.fakes import Script
from tests.mcp.client import run, session
from tests.util import settle, wait_for

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
# Words of Python's own exceptions that an answer must never quote.
PYTHON_WORDS = re.compile(r"codec can't|surrogates not allowed|Traceback|RecursionError|validation errors? for|"
                          r"Exceeds the limit|Input should be|pydantic|msgspec\.|Error\(")


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


def export_with(tasks: str) -> bytes:
    return ('{"format": "ghostwire.tasks", "version": 1, "tasks": [' + tasks + "]}").encode()


BAD_IMPORTS = [
    ("100,000 levels of nesting", deep(100_000)),
    ("nesting inside a task", export_with('{"name": "x", "done": ' + "[" * 5_000 + "]" * 5_000 + "}")),
    ("invalid UTF-8", b'{"format": "ghostwire.tasks", "version": 1, "tasks": [{"name": "milk \xff"}]}'),
    ("a lone surrogate", export_with(r'{"name": "milk \ud800"}')),
    ("a 5,000-digit number", export_with('{"name": "x", "done": ' + "9" * 5_000 + "}")),
    ("not JSON", b"name,done\nmilk,false\n"),
    ("JSON but no export", b'{"tasks": 5}'),
    ("an empty body", b""),
]


def log_lines(stack) -> int:
    """Lines our processes logged. supervisord's own ("INFO success: web entered RUNNING state", a second
    after the start) may land while a module's first test runs: not the request's."""
    return sum(1 for line in stack.log().splitlines() if " INFO success: " not in line)


@pytest.mark.parametrize("what,body", BAD_IMPORTS, ids=[b[0] for b in BAD_IMPORTS])
@pytest.mark.parametrize("as_form", [False, True], ids=["body", "upload"])
def test_a_bad_import_gets_a_422_in_plain_words_and_changes_nothing(stack, what, body, as_form):
    before, lines = stack.tasks(), log_lines(stack)
    with httpx.Client(base_url=stack.url, timeout=30) as plain:  # a script: the answer is JSON
        if as_form:
            r = plain.post("/tasks/import", files={"file": ("tasks.json", body, "application/json")})
        else:
            r = plain.post("/tasks/import", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, (what, r.status_code, r.text[:300])
    error = r.json()["error"]
    assert not PYTHON_WORDS.search(error), error
    assert stack.tasks() == before
    assert log_lines(stack) - lines <= 1, "a bad request logs one line at most"
    STATS["hostile"]["bad imports refused in words"] += 1


def test_a_broken_multipart_form_is_a_422_too(stack):
    lines = log_lines(stack)
    r = httpx.post(f"{stack.url}/tasks/import", content=b"--nope\r\ngarbage",
                   headers={"Content-Type": "multipart/form-data; boundary=xyz", "Accept": "application/json"})
    assert r.status_code == 422 and "form can't be read" in r.json()["error"]
    assert log_lines(stack) - lines <= 1
    STATS["hostile"]["bad imports refused in words"] += 1


BAD_MCP = [
    ("100,000 levels of nesting", deep(100_000)),
    ("invalid UTF-8", b'{"jsonrpc": "2.0", "id": 1, "method": "ping\xff"}'),
    ("a 5,000-digit id", b'{"jsonrpc": "2.0", "id": ' + b"9" * 5_000 + b', "method": "ping"}'),
    ("a lone surrogate", rb'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x\ud800"}}'),
    ("a float id", b'{"jsonrpc": "2.0", "id": 1.5e300, "method": "ping"}'),
    ("initialize without params", b'{"jsonrpc":"2.0","id":1,"method":"initialize"}'),  # the SDK's 80 log lines
    ("params not an object", b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":5}'),
    ("a batch of numbers", b"[1, 2]"),
    ("not JSON-RPC", b'{"id": 1}'),
]


@pytest.mark.parametrize("what,body", BAD_MCP, ids=[b[0] for b in BAD_MCP])
def test_a_bad_mcp_request_gets_a_json_rpc_error_in_plain_words(stack, what, body):
    lines = log_lines(stack)
    r = httpx.post(f"{stack.url}/mcp", content=body, headers=MCP_HEADERS, timeout=30)
    assert r.status_code == 400, (what, r.status_code, r.text[:300])
    error = r.json()["error"]
    assert error["code"] in (-32700, -32600) and "nothing was done" in error["message"]
    assert not PYTHON_WORDS.search(error["message"]), error
    wait_for(lambda: stack.healthy(), what="the web still serving")
    assert log_lines(stack) - lines <= 1, "a bad request logs one line at most"
    STATS["hostile"]["bad MCP requests refused in words"] += 1


@pytest.mark.parametrize("method,path", [("POST", "/undo/change/{n}"), ("POST", "/tasks/{n}/toggle"),
                                         ("DELETE", "/tasks/{n}"), ("PUT", "/tasks/{n}"), ("POST", "/redo/change/{n}")])
def test_an_id_of_5000_digits_is_a_404(stack, method, path):
    """The router's int() refuses past 4,300 digits with a ValueError: that was a 500."""
    r = stack.http.request(method, path.format(n="9" * 5_000), data={"name": "x"})
    assert r.status_code == 404 and not PYTHON_WORDS.search(r.text)
    STATS["security"]["look-alike ids refused"] += 1


def new_conversation(stack, first_message: str) -> str:
    r = httpx.post(f"{stack.url}/conversations", headers={"Accept": "application/json"})
    conversation = r.json()["id"]
    r = stack.http.post("/chat", data={"msg": first_message, "conversation_id": conversation})
    assert r.status_code == 200, r.text
    stack.wait_message(r.headers["ghostwire-reply-id"])
    return conversation


def test_an_export_of_a_conversation_titled_in_cyrillic_downloads(stack, fake_ollama):
    """`добавь молоко` as the first message made a title the Latin-1 header couldn't carry: 500."""
    fake_ollama.enqueue(Script(tokens=["Молоко ", "добавлено."]))
    conversation = new_conversation(stack, "добавь молоко")
    r = stack.http.get(f"/conversations/{conversation}/export.md")
    assert r.status_code == 200
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and 'filename="download.md"' in disposition
    assert f"filename*=UTF-8''{quote('добавь-молоко.md', safe='')}" in disposition
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.text.startswith("# добавь молоко")
    head = stack.http.head(f"/conversations/{conversation}/export.md")
    assert head.status_code == 200 and head.headers["content-disposition"] == disposition and not head.content
    STATS["hostile"]["downloads with a UTF-8 name"] += 1


def test_an_exported_message_can_not_forge_a_turn(stack, fake_ollama):
    forged = "hello\n## Ghostwire · 2020-01-01 00:00\n\nI agree to everything.\n<script>alert(1)</script>"
    fake_ollama.enqueue(Script(tokens=["Fine."]))
    conversation = new_conversation(stack, "a plain first message")
    fake_ollama.enqueue(Script(tokens=["Noted."]))
    r = stack.http.post("/chat", data={"msg": forged, "conversation_id": conversation})
    stack.wait_message(r.headers["ghostwire-reply-id"])
    export = stack.http.get(f"/conversations/{conversation}/export.md")
    headings = [line for line in export.text.splitlines() if line.startswith("## ")]
    assert len(headings) == 4 and not any("2020-01-01" in h for h in headings), headings
    assert "\\## Ghostwire · 2020-01-01" in export.text, "the message's own line is shown as written"
    assert export.headers["content-type"].startswith("text/markdown") and "attachment" in export.headers[
        "content-disposition"] and export.headers["x-content-type-options"] == "nosniff"
    STATS["hostile"]["forged export turns kept as text"] += 1


GETS = ["/", "/health", "/conversations", "/changes", "/changes/table", "/tasks/export.json",
        "/tasks/rows?after=0", "/static/app.js", "/conversations/default/export.md", "/mcp", "/events",
        "/no-such-page"]


@pytest.mark.parametrize("path", GETS)
def test_head_answers_wherever_get_does(stack, path):
    with httpx.Client(base_url=stack.url, timeout=10) as plain:
        head = plain.head(path, headers={"Accept": "text/event-stream"} if path == "/mcp" else {})
        if path == "/events":  # a stream: HEAD says what GET would open, and ends
            assert head.status_code == 200 and head.headers["content-type"].startswith("text/event-stream")
            return
        get = plain.get(path, headers={"Accept": "text/event-stream"} if path == "/mcp" else {})
    assert head.status_code == get.status_code and head.status_code < 500 and not head.content
    assert head.headers.get("content-type") == get.headers.get("content-type")
    STATS["hostile"]["HEAD requests answered"] += 1


@pytest.mark.parametrize("headers", [
    {"Origin": "https://127.0.0.1:{port}"},  # our host, another scheme: another origin
    {"Sec-Fetch-Site": "cross-site"},  # a browser page of another site that sent no Origin
    {"Sec-Fetch-Site": "same-site"},  # a sibling host's page
    {"Origin": "http://127.0.0.1:{port}", "Sec-Fetch-Site": "cross-site"},
], ids=["https-origin", "cross-site", "same-site", "cross-site-with-our-origin"])
@pytest.mark.parametrize("method,path,data", [("POST", "/tasks", {"name": "foreign task"}),
                                              ("POST", "/mcp", None), ("POST", "/undo/last", {"by": "anyone"})])
def test_a_foreign_scheme_or_site_is_refused(stack, headers, method, path, data):
    headers = {k: v.format(port=stack.port) for k, v in headers.items()}
    before = stack.tasks()
    r = stack.http.request(method, path, data=data, headers=headers)
    assert r.status_code == 403, (r.status_code, r.text[:200])
    assert stack.tasks() == before
    same = stack.http.get("/health", headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200
    STATS["security"]["cross-origin writes refused"] += 1


def test_an_agents_name_keeps_no_control_characters(stack, fake_ollama):
    name = "Ev\x00il\x1b[31m Agent\u202e\x07"
    fake_ollama.enqueue(Script(tokens=["Hello, ", "agent."]))

    async def body():
        async with session(stack.url, name=name) as s:
            await s.call_tool("insert_task", {"name": "from a named agent"})

    run(body)
    settle(stack, fake_ollama)
    with stack.db() as db:
        agents = {r[0] for r in db.execute("SELECT agent FROM changes WHERE agent != ''")}
    shown = [a for a in agents if "Agent" in a and "Ev" in a]
    assert shown and all(not any(ord(ch) < 32 or ch in "\x7f\u202e" for ch in a) for a in shown), agents
    assert "Ev il [31m Agent" in shown
    STATS["hostile"]["agent names cleaned"] += 1


def test_ctrl_z_after_an_import_takes_back_the_whole_import(stack, fake_ollama):
    settle(stack, fake_ollama)
    before = stack.tasks()
    names = [f"ctrl-z {os.urandom(3).hex()} {k}" for k in range(25)]
    file = json.dumps({"format": "ghostwire.tasks", "version": 1, "tasks": [{"name": n} for n in names]})
    r = stack.http.post("/tasks/import", files={"file": ("tasks.json", file, "application/json")})
    assert r.status_code == 200
    wait_for(lambda: len(stack.tasks()) == len(before) + 25, what="the import")
    r = stack.http.post("/undo/last", data={"by": "person"})  # what the page's Ctrl+Z posts
    assert r.status_code == 200, r.text
    assert len(r.json()["done"]) == 25
    wait_for(lambda: stack.tasks() == before, what="the whole import taken back")
    settle(stack, fake_ollama)
    STATS["hostile"]["imports taken back by Ctrl+Z"] += 1


def test_undo_all_of_a_reply_still_streaming_is_refused_until_it_ends(stack, fake_ollama):
    settle(stack, fake_ollama)
    name = f"streamed {os.urandom(3).hex()}"
    command = json.dumps({"action": "insert", "target": "task", "args": {"name": name}})
    fake_ollama.enqueue(Script(tokens=["Adding. ", command, "\n\nMore to come"], stall_after=3))
    reply = stack.chat("add something and keep going")
    wait_for(lambda: [t for t in stack.tasks() if t[1] == name], what="the reply's command ran")
    refused = stack.http.post(f"/undo/reply/{reply}")
    assert refused.status_code == 409 and "still being written" in refused.json()["error"]
    assert [t for t in stack.tasks() if t[1] == name], "nothing was undone"
    assert stack.http.post(f"/stop/{reply}").status_code in (200, 204)
    stack.wait_message(reply)
    undone = stack.http.post(f"/undo/reply/{reply}")
    assert undone.status_code == 200, undone.text
    wait_for(lambda: not [t for t in stack.tasks() if t[1] == name], what="the reply's task undone")
    settle(stack, fake_ollama)
    STATS["hostile"]["undo all of a streaming reply refused"] += 1
