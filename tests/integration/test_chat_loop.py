"""The walking loop on real parts: supervisord, the ZeroMQ bus, SQLite, and a fake Ollama over HTTP."""

from __future__ import annotations

import subprocess
import sys

from tests.fakes import Script
from tests.stack import ROOT
from tests.util import SseReader, wait_for


def test_reply_streams_token_by_token_and_is_stored(stack, fake_ollama):
    tokens = [f"word{i} " for i in range(25)]
    fake_ollama.enqueue(Script(tokens=tokens, delay=0.03))
    with SseReader(stack.url, tab="other") as sse:
        reply = stack.chat("hello ghost")
        role, status, content, _ = stack.wait_message(reply)
        wait_for(lambda: sse.matching(f'id="msg-{reply}" class="msg assistant chat done"'), what="final bubble")
    appends = sse.matching(f"beforeend:#body-{reply}")
    assert len(appends) >= 5, "tokens should arrive as many events, not one"
    assert appends[-1].at - appends[0].at > 0.3, "events should be spread over the reply's duration"
    assert (role, status, content) == ("assistant", "done", "".join(tokens))
    request = fake_ollama.requests[-1]
    newest = request["messages"][-1]  # the list as it is now, then the message (crud_worker/context.py)
    assert newest["role"] == "user" and newest["content"].endswith("\n\nhello ghost") and "[the list now" in newest["content"]
    assert request["options"]["num_ctx"] > 0 and request["stream"] is True
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM messages WHERE content = 'hello ghost' AND role = 'user'").fetchone() == (1,)


def test_every_event_has_an_id_and_html_is_escaped(stack, fake_ollama):
    fake_ollama.enqueue(Script(tokens=["<script>alert(1)</script>", " & <b>bold</b>"]))
    with SseReader(stack.url, tab="other") as sse:
        reply = stack.chat("say something nasty")
        stack.wait_message(reply)
        wait_for(lambda: sse.matching(f'msg-{reply}" class="msg assistant chat done'), what="final bubble")
    assert all(e.id for e in sse.snapshot())
    assert "<script>" not in sse.text()
    assert "&lt;script&gt;" in sse.text()


def test_stop_closes_the_upstream_stream_and_keeps_the_text(stack, fake_ollama):
    tokens = [f"t{i} " for i in range(300)]
    fake_ollama.enqueue(Script(tokens=tokens, delay=0.03))
    before = fake_ollama.disconnects
    with SseReader(stack.url, tab="other") as sse:
        reply = stack.chat("tell me a long story")
        wait_for(lambda: len(sse.matching(f"beforeend:#body-{reply}")) >= 3, what="the reply to start streaming")
        assert stack.http.post(f"/stop/{reply}").status_code == 204
        fake_ollama.wait_for(lambda: fake_ollama.disconnects > before, timeout=5)
        _, status, content, _ = stack.wait_message(reply)
    assert status == "cancelled"
    assert content and "".join(tokens).startswith(content) and len(content) < len("".join(tokens))


def test_bad_messages_are_refused_and_nothing_reaches_the_model(stack, fake_ollama):
    sent = len(fake_ollama.requests)
    for msg in ["", "   ", "x" * 8_001]:
        r = stack.http.post("/chat", data={"msg": msg})
        assert r.status_code == 422
        assert "error-text" in r.text
    assert "limit is 8,000" in stack.http.post("/chat", data={"msg": "y" * 9000}).text
    assert len(fake_ollama.requests) == sent


def test_missing_model_fails_with_an_actionable_error(stack, fake_ollama):
    fake_ollama.enqueue(Script(error_status=404))
    reply = stack.chat("anyone there?")
    _, status, _, error = stack.wait_message(reply)
    assert status == "failed"
    assert "ollama pull" in error


def test_mid_stream_error_keeps_what_was_produced(stack, fake_ollama):
    fake_ollama.enqueue(Script(tokens=["partial ", "answer ", "then"], error_after=2))
    reply = stack.chat("break please")
    _, status, content, error = stack.wait_message(reply)
    assert (status, content) == ("failed", "partial answer ")
    assert error


def test_health_names_every_process_and_the_model(stack):
    body = stack.health()
    assert body["ok"] is True
    assert set(body["processes"]) == {"broker", "crud_worker", "llm_worker", "web"}
    assert body["backend"] == "ollama" and body["model"] == "llama3.2:3b" and body["reachable"] is True


def test_two_workers_answer_each_job_exactly_once(stack, fake_ollama):
    second = subprocess.Popen([sys.executable, "-m", "llm_worker"], cwd=ROOT, env=stack.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(stack.health()["processes"]["llm_worker"]["workers"]) == 2, what="two llm workers")
        sent = len(fake_ollama.requests)
        for _ in range(6):
            fake_ollama.enqueue(Script(tokens=["one ", "answer"], delay=0.02))
        replies = [stack.chat(f"question {i}") for i in range(6)]
        for reply in replies:
            assert stack.wait_message(reply)[1] == "done"
        assert len(fake_ollama.requests) == sent + 6
        workers = stack.health()["processes"]["llm_worker"]["workers"]
        assert len(workers) == 2
    finally:
        second.terminate()
        second.wait(10)


def test_a_reply_with_nothing_in_it_says_so_instead_of_an_empty_bubble(stack, fake_ollama):
    fake_ollama.enqueue(Script(tokens=[]))
    with SseReader(stack.url, tab="other") as sse:
        reply = stack.chat("say nothing")
        final = wait_for(lambda: sse.matching(f'id="msg-{reply}" class="msg assistant chat done"'), what="final bubble")
    assert "The model returned nothing" in final[-1].data
    assert "The model returned nothing" in stack.http.get("/").text
