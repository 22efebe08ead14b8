"""Through the real four processes against llama.cpp's server (its byte-faithful fake, one slot): every
prompt the server gets begins with the one before it — chats, clicks, the model's comments, a comment
the person talks over — so its prompt cache holds; and the speed line says how much of the prompt the
server read and how much it had cached."""

from __future__ import annotations

import re

import pytest

from tests.fakes import FakeOpenAI, Script
from tests.stack import Stack
from tests.util import SseReader, wait_for

MODEL = "/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def chatml(body: dict) -> str:
    """A request's prompt as Qwen's chat template lays it out (what the server's cache compares)."""
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in body["messages"])


@pytest.fixture(scope="module")
def llama():
    with FakeOpenAI.llama_server(MODEL) as fake:
        stack = Stack(LLM_BACKEND="openai", OPENAI_BASE_URL=fake.url)
        try:
            stack.start()
            yield fake, stack
        finally:
            stack.stop()


def chats(fake) -> list[dict]:
    return [r for r in fake.requests if r.get("messages")]


def comments(stack) -> int:
    with stack.db() as db:
        return db.execute("SELECT COUNT(*) FROM messages WHERE role = 'assistant' AND kind = 'comment'").fetchone()[0]


def test_every_prompt_begins_with_the_last_whatever_was_clicked(llama):
    fake, stack = llama
    fake.enqueue(Script(tokens=["Hello."]))
    reply = stack.chat("hello")
    stack.wait_message(reply)
    fake.enqueue(Script(tokens=["Nice", " task."]))  # the comment on the click
    assert stack.http.post("/tasks", data={"name": "water the plants"}).status_code == 200
    wait_for(lambda: len(chats(fake)) == 2, 15, what="the comment on the click")
    wait_for(lambda: comments(stack) == 1, 15, what="the comment stored")
    fake.enqueue(Script(tokens=["Yes."]))
    asked = stack.chat("is it there?")
    stack.wait_message(asked, 15)
    assert "[the list now" not in chats(fake)[-1]["messages"][-1]["content"], "the comment saw this list already"
    # A slow comment on the next click, still streaming when the person sends a message: it is cancelled.
    fake.enqueue(Script(tokens=["Ticked"] + [" on"] * 200, delay=0.05))
    fake.enqueue(Script(tokens=["On it."]))
    task_id = wait_for(lambda: stack.tasks() and stack.tasks()[0][0], 10, what="the task")
    assert stack.http.post(f"/tasks/{task_id}/toggle").status_code == 200
    wait_for(lambda: len(chats(fake)) == 4, 15, what="the comment on the toggle streaming")
    reply = stack.chat("what is left?")
    assert stack.wait_message(reply, 30)[1] == "done"
    with stack.db() as db:  # the person's message stopped it (200 tokens at 50 ms would take 10 s more)
        statuses = db.execute("SELECT status FROM messages WHERE kind = 'comment' ORDER BY rowid").fetchall()
    assert statuses == [("done",), ("cancelled",)], statuses
    fake.enqueue(Script(tokens=["Fine."]))
    last = stack.chat("thanks")
    stack.wait_message(last, 15)
    prompts = [chatml(r) for r in chats(fake)]
    assert len(prompts) == 6, [p[-80:] for p in prompts]
    for n, (before, after) in enumerate(zip(prompts, prompts[1:])):
        # The newest message of one may take what came after it when no reply was kept between (a
        # comment the person talked over): the text is still a prefix, up to that message's end.
        assert after.startswith(before.removesuffix("<|im_end|>\n")), f"prompt {n + 1} does not begin with prompt {n}"
    assert "[the list now" in prompts[1] and "water the plants" in prompts[1].rsplit("<|im_start|>", 1)[1]


def test_the_speed_line_says_what_the_server_read_and_had_cached(llama):
    fake, stack = llama
    fake.enqueue(Script(tokens=["Sure", "."], prompt_tokens=612, cached_tokens=590))
    reply = stack.chat("one more")
    stack.wait_message(reply)

    def line():
        match = re.search(rf'id="stats-{reply}"[^>]*>(.*?)</div>', stack.http.get("/").text, re.S)
        return match and "cached" in match.group(1) and re.sub(r"<[^>]+>", "", match.group(1))
    assert "612 in (22 read, 590 cached) · 2 out" in wait_for(line, 10, what="the stored speed line")



def test_the_person_typing_stops_a_comment_but_never_their_own_reply(llama):
    """On a one-slot engine a comment still streaming at Enter would hold up the person's answer, so it
    stops as they type (POST /typing, what the chat box sends); a reply they asked for streams on."""
    fake, stack = llama
    had = comments(stack)
    assert stack.http.post("/tasks", data={"name": "typing task"}).status_code == 200
    wait_for(lambda: comments(stack) > had, 15, what="the comment on the add, the default script's")
    task_id = next(t[0] for t in stack.tasks() if t[1] == "typing task")
    fake.enqueue(Script(tokens=["Ticked"] + [" on"] * 200, delay=0.05))  # 10 s of comment unless stopped
    had = comments(stack)
    with SseReader(stack.url) as sse:
        assert stack.http.post(f"/tasks/{task_id}/toggle").status_code == 200
        wait_for(lambda: sse.matching(r'beforeend:#body-c\w+".*Ticked'), 15, what="the comment on the toggle streaming")
    assert stack.http.post("/typing").status_code == 204
    wait_for(lambda: comments(stack) > had, 5, what="the comment stopped (it would stream 10 s more)")
    with stack.db() as db:
        status, content = db.execute("SELECT status, content FROM messages WHERE kind = 'comment'"
                                     " ORDER BY rowid DESC LIMIT 1").fetchone()
    assert status == "cancelled" and content.startswith("Ticked"), (status, content[:40])
    fake.enqueue(Script(tokens=["Three", " are", " done", "."] + [" Yes"] * 20, delay=0.05))
    asked = len(chats(fake))
    reply = stack.chat("how many are done?")
    wait_for(lambda: len(chats(fake)) > asked, 15, what="the person's reply streaming")
    assert stack.http.post("/typing").status_code == 204  # they start on their next message meanwhile
    _, status, content, _ = stack.wait_message(reply, 30)
    assert status == "done" and content.endswith(" Yes" * 20), (status, content[-40:])
