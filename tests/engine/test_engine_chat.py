"""A chat turn through the real four processes and the real engine with a real model: a reply streams and
is stored, a command the model writes lands in SQLite and in a second tab, Stop stops the engine's
generation, and /health and the page name the backend and the model file. What the model says is not ours
to predict, so each test checks what Ghostwire did with it."""

from __future__ import annotations

import html
import re
import time

import httpx
import pytest

from models.local import engine_key
from tests.engine.conftest import FIGURES, N_CTX, worker
from tests.engine.helpers import REPLY_TIMEOUT_S, appends, final_bubble, stored, streamed
from tests.engine.server import model_file
from tests.util import SseReader, wait_for, wait_steady

pytestmark = pytest.mark.timeout(600)  # real replies on a shared 2-core machine (see helpers.REPLY_TIMEOUT_S)

COMMAND_TRIES = 3  # the model samples (temperature 0.8): a request it answers without a command is asked again
STOP_IDLE_S = 10.0  # the wait's deadline: a 'very long story' goes on for far longer at this model's pace
TOO_LONG = re.compile(r"too long.*context", re.I | re.S)


def engine_url(stack) -> str:
    return f"http://127.0.0.1:{stack.env['GHOSTWIRE_ENGINE_PORT']}"


def key(stack) -> dict:
    return {"Authorization": f"Bearer {engine_key(stack.run_dir)}"}


def slots_busy(stack) -> bool:
    slots = httpx.get(f"{engine_url(stack)}/slots", headers=key(stack), timeout=5).json()
    return any(s["is_processing"] for s in slots)


def test_a_reply_streams_and_is_stored(stack):
    with SseReader(stack.url, tab="engine") as sse:
        reply = stack.chat("Write three sentences about apples.")
        bubble = final_bubble(sse, reply)
    row = stored(stack, reply)
    assert (row.role, row.status, row.error) == ("assistant", "done", ""), row
    assert row.content.strip(), "the model said nothing"
    assert appends(sse, reply) >= 2, "the reply should stream in pieces, not arrive at once"
    assert streamed(sse, reply) == row.content, "what the tab saw streaming is what was stored"
    words = re.findall(r"[A-Za-z]{4,}", row.content)  # markdown's marks ("1.", "**") don't survive rendering
    assert words and words[0] in bubble, (words[:3], bubble[:200])
    assert row.model == model_file().name


def test_health_and_the_page_name_the_backend_and_the_model_file(stack):
    health = stack.health()
    assert (health["backend"], health["model"], health["reachable"]) == ("local", model_file().name, True), health
    assert (worker(stack)["backend"], worker(stack)["model"]) == ("local", model_file().name)
    page = html.unescape(stack.http.get("/").text)
    assert f"local · {model_file().name}" in page, "the status line names the backend and the model file"


def test_a_command_from_the_model_lands_in_sqlite_and_in_a_second_tab(stack):
    tasks: list[tuple] = []
    with SseReader(stack.url, tab="one") as one, SseReader(stack.url, tab="two") as two:
        for attempt in range(1, COMMAND_TRIES + 1):
            # A new conversation each time, so the turn is the one a person starts with (no earlier replies).
            new = stack.http.post("/conversations", headers={"Accept": "application/json"})
            assert new.status_code == 201, new.text
            r = stack.http.post("/chat", data={"msg": "add buy milk", "conversation_id": new.json()["id"]})
            assert r.status_code == 200, r.text
            reply = r.headers["ghostwire-reply-id"]
            final_bubble(one, reply)
            row = stored(stack, reply)
            assert (row.status, row.error) == ("done", ""), row
            # its follow-ups too (a flagged "Buy milk, done." gets one, which may write the insert): the
            # engine idle for a second after the reply means none is left to come
            wait_steady(lambda: not slots_busy(stack), 1.0, 3 * REPLY_TIMEOUT_S, what="the turn's follow-ups ended")
            tasks = [t for t in stack.tasks() if "milk" in t[1].lower()]
            if tasks:
                break
        assert tasks, f"no task after {COMMAND_TRIES} tries; the model's last reply: {row.content!r}"
        task_id = tasks[0][0]
        for tab in (one, two):
            wait_for(lambda: tab.matching(f'id="task-{task_id}"'), 10, what=f"task {task_id} in tab {tab.url}")
    with stack.db() as db:
        ran = db.execute("SELECT action, ok FROM commands WHERE msg_id = ? OR msg_id LIKE ?",
                         [reply, reply + "-f%"]).fetchall()
    assert ("insert", 1) in ran, ran
    FIGURES.append(f"'add buy milk': a task on try {attempt} of {COMMAND_TRIES}: {tasks[0][1]!r}")


def test_stop_ends_generation_at_the_engine(stack):
    with SseReader(stack.url, tab="stop") as sse:
        reply = stack.chat("Tell me a very long story about a dragon, with many chapters.")
        wait_for(lambda: sse.matching(reply) and slots_busy(stack), REPLY_TIMEOUT_S, interval=0.05,
                 what="the engine generating the reply")  # prose or commands: the model chooses
        stopped_at = time.monotonic()
        assert stack.http.post(f"/stop/{reply}").status_code == 204
        # How soon is a figure (reported below; ~0.1 s on an idle machine, the engine stops at its next token),
        # not an assertion: on a loaded machine a token can take a second.
        wait_for(lambda: not slots_busy(stack), STOP_IDLE_S, interval=0.02, what="the engine's /slots to be idle")
        idle_after = time.monotonic() - stopped_at
        row = stored(stack, reply, timeout=15)
        final_bubble(sse, reply)
    assert row.status == "cancelled", row
    if "{" not in row.content:  # prose only (a command shows as a chip, not as streamed text)
        assert streamed(sse, reply) == row.content, "what streamed before Stop is what was kept"
    FIGURES.append(f"Stop: the engine's slot was idle {idle_after * 1000:.0f} ms after POST /stop")


def test_a_message_over_the_context_gets_a_readable_error_and_the_next_one_works(stack):
    # Digits and odd words tokenize at about two characters a token: under the page's 8,000-character
    # limit, yet over N_CTX. llama-server refuses it (400, exceed_context_size_error) before generating.
    long = ("Please remember these codes: " + " ".join(f"{i * 7919 % 100003:05d}-zq{i % 97}" for i in range(700)))
    tokens = httpx.post(f"{engine_url(stack)}/tokenize", json={"content": long[:7_900]}, headers=key(stack),
                        timeout=30).json()["tokens"]
    assert len(tokens) > N_CTX, "the message must be over the engine's context for this to prove anything"
    with SseReader(stack.url, tab="long") as sse:
        reply = stack.chat(long[:7_900])
        bubble = final_bubble(sse, reply)
        row = stored(stack, reply)
        assert row.status != "done" and TOO_LONG.search(row.error), row
        assert TOO_LONG.search(bubble), bubble
        after = stack.chat("hi")
        final_bubble(sse, after)
    row = stored(stack, after)
    assert (row.status, row.error) == ("done", ""), row
