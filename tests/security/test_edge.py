"""Refuse at the edge: an oversized body is answered 413 before anything crosses the bus, and ids are
ASCII digits only."""

from __future__ import annotations

import socket
import time
from urllib.parse import quote, unquote

import pytest

from tests.faults.helpers import ReplyTap
from tests.report import STATS
from tests.stack import HX
from tests.util import wait_for

HUNDRED_MB = 100 * 1024 * 1024


def post_streaming(stack, path: str, total: int) -> int:
    """POST a `total`-byte form body, sending it while watching for an early answer (a server that
    refuses mid-upload closes the connection, which an ordinary client reports as a write error).
    Returns the status code and how much of the body went out first."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{stack.port}\r\nHX-Request: true\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {total}\r\n\r\n").encode()
    chunk = b"x" * (1 << 20)
    sent = 0
    with socket.create_connection(("127.0.0.1", stack.port), timeout=30) as sock:
        sock.sendall(head + b"name=")
        sock.setblocking(False)
        answer = b""
        deadline = time.monotonic() + 60
        while b"\r\n" not in answer and time.monotonic() < deadline:
            try:
                answer += sock.recv(4096)
                continue
            except BlockingIOError:
                pass
            if sent < total:
                try:
                    sent += sock.send(chunk[: total - sent])
                except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                    time.sleep(0.001)  # the socket buffer is full or the server closed: read its answer
        assert b"\r\n" in answer, "the server answered"
        return int(answer.split()[1]), sent


@pytest.mark.parametrize("path", ["/tasks", "/tasks/import"])  # a name; a task list's file
def test_a_100_mb_body_is_refused_before_it_reaches_the_bus(stack, path):
    with ReplyTap(stack, also=(b"crud.",)) as tap:
        status, sent = post_streaming(stack, path, HUNDRED_MB)
        # A control through the same pipe: the web's requests leave on one PUB socket, in order, so once
        # the control is on the bus a request published before it would have been seen already.
        assert stack.http.post("/tasks", data={"name": "edge control"}).status_code == 200
        wait_for(lambda: any(b"edge control" in p for _, p in tap.heard), what="the control on the bus")
    assert status == 413
    assert sent < HUNDRED_MB, "refused before the upload finished"
    biggest = max(len(p) for _, p in tap.heard)
    assert biggest < 10_000, f"a {biggest:,}-byte request crossed the bus"
    STATS["security"]["oversized bodies refused before the bus"] += 1


def test_a_chunked_body_over_the_limit_is_refused(stack):
    def chunks():
        for _ in range(64):
            yield b"name=" + b"y" * 65536

    r = stack.http.post("/tasks", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded",
                                                             **HX})
    assert r.status_code == 413
    STATS["security"]["oversized bodies refused before the bus"] += 1


def test_a_name_over_the_limit_is_refused_by_the_web(stack):
    with ReplyTap(stack, also=(b"crud.",)) as tap:
        r = stack.http.post("/tasks", data={"name": "n" * 20_000})
        assert stack.http.post("/tasks", data={"name": "edge control 2"}).status_code == 200
        wait_for(lambda: any(b"edge control 2" in p for _, p in tap.heard), what="the control on the bus")
    assert r.status_code == 422 and "500 characters" in r.text
    assert not any(b"nnnnnnnnnn" in p for _, p in tap.heard), "the long name crossed the bus"


def lookalike(kind: str, task_id: int) -> str:
    """`task_id` written so that Python's int() still reads it, percent-encoded for the path."""
    digits = str(task_id)
    if kind == "fullwidth":
        digits = "".join(chr(0xFF10 + int(d)) for d in digits)
    elif kind == "arabic-indic":
        digits = "".join(chr(0x0660 + int(d)) for d in digits)
    elif kind == "sign":
        digits = "+" + digits
    elif kind == "space":
        digits = " " + digits
    return quote(digits)


@pytest.mark.parametrize("kind", ["fullwidth", "arabic-indic", "sign", "space"])
@pytest.mark.parametrize("method,suffix", [("POST", "/toggle"), ("PUT", ""), ("DELETE", "")])
def test_ids_are_ascii_digits_only(stack, kind, method, suffix):
    """`/tasks/%EF%BC%91/toggle` is no route: never task 1."""
    name = f"lookalike target {kind} {method}"
    assert stack.http.post("/tasks", data={"name": name}).status_code == 200
    task_id = wait_for(lambda: [t[0] for t in stack.tasks() if t[1] == name], what=name)[0]
    assert int(unquote(lookalike(kind, task_id))) == task_id, "Python's int() would take it"
    before = stack.tasks()
    r = stack.http.request(method, f"/tasks/{lookalike(kind, task_id)}{suffix}",
                           data={"name": "x"} if method == "PUT" else None)
    assert r.status_code in (404, 405, 422), r.status_code
    assert stack.tasks() == before
    STATS["security"]["look-alike ids refused"] += 1


def test_a_reorder_with_unicode_digits_is_refused(stack):
    r = stack.http.post("/tasks/order", data={"ids": ["１"]})
    assert r.status_code == 422
