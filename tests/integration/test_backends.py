"""Every model backend through the real four processes: Ollama, OpenAI-compatible, Anthropic, the demo.

Each backend gets one stack (module-scoped) pointed at its byte-faithful fake over real HTTP.
The error cases live in test_backend_errors.py; the helpers here are shared with it.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.fakes import FakeAnthropic, FakeOllama, FakeOpenAI, Script, tag
from tests.fakes.script import DEFAULT_TOKENS
from tests.stack import ROOT, Stack, free_port
from tests.util import SseReader, wait_for

OPENAI_KEY = f"sk-test-LEAKCHECK-{secrets.token_hex(12)}"
ANTHROPIC_KEY = f"sk-ant-test-LEAKCHECK-{secrets.token_hex(12)}"
OPENAI_MODEL, ANTHROPIC_MODEL = "gpt-4o-mini", "claude-sonnet-4-5"
THINKER = "qwen3:4b"  # the Ollama stack's one chat model, thinking-capable
DEFAULT_TEXT = "".join(DEFAULT_TOKENS)  # what a fake says when nothing is enqueued
BACKENDS = ["ollama", "openai", "anthropic"]


@dataclass
class Served:
    """One stack and the fake model server behind it."""

    name: str
    stack: Stack
    fake: FakeOllama | FakeOpenAI | FakeAnthropic
    model: str
    key: str = ""
    key_var: str = ""


@contextlib.contextmanager
def served(name: str, **env: str):
    """Start the fake, then a stack whose llm_worker uses backend `name` against it."""
    if name == "ollama":
        fake = FakeOllama(models=[tag(THINKER, capabilities=["completion", "tools", "thinking"]),
                                  tag("nomic-embed-text:latest", capabilities=["embedding"])])
    elif name == "openai":
        fake = FakeOpenAI(api_key=OPENAI_KEY)
    else:
        fake = FakeAnthropic(api_key=ANTHROPIC_KEY)
    with fake:
        if name == "ollama":
            b = Served(name, Stack(LLM_BACKEND="ollama", OLLAMA_HOST=fake.url, **env), fake, THINKER)
        elif name == "openai":
            b = Served(name, Stack(LLM_BACKEND="openai", OPENAI_BASE_URL=fake.url, OPENAI_API_KEY=OPENAI_KEY,
                                   LLM_MODEL=OPENAI_MODEL, **env), fake, OPENAI_MODEL, OPENAI_KEY, "OPENAI_API_KEY")
        else:
            b = Served(name, Stack(LLM_BACKEND="anthropic", ANTHROPIC_BASE_URL=fake.url,
                                   ANTHROPIC_API_KEY=ANTHROPIC_KEY, LLM_MODEL=ANTHROPIC_MODEL, **env),
                       fake, ANTHROPIC_MODEL, ANTHROPIC_KEY, "ANTHROPIC_API_KEY")
        try:
            b.stack.start()
            yield b
        finally:
            b.stack.stop()


@pytest.fixture(scope="module")
def ollama():
    with served("ollama") as b:
        yield b


@pytest.fixture(scope="module")
def openai():
    with served("openai") as b:
        yield b


@pytest.fixture(scope="module")
def anthropic():
    with served("anthropic") as b:
        yield b


def stored(stack: Stack, msg_id: str, timeout: float = 15) -> dict:
    """The assistant message once it has ended (done, cancelled or failed)."""
    def row():
        with stack.db() as db:
            return db.execute("SELECT role, status, content, error, model, usage FROM messages WHERE id = ?",
                              [msg_id]).fetchone()
    role, status, content, error, model, usage = wait_for(row, timeout, what=f"message {msg_id} stored")
    return {"role": role, "status": status, "content": content, "error": error or "", "model": model,
            "usage": json.loads(usage) if usage else None}


def ask(stack: Stack, text: str = "hello") -> tuple[str, dict]:
    reply = stack.chat(text)
    return reply, stored(stack, reply)


def final_bubble(sse: SseReader, reply: str, status: str = "done") -> str:
    found = wait_for(lambda: sse.matching(f'id="msg-{reply}" class="msg assistant chat {status}"'),
                     what=f"the {status} bubble of {reply}")
    return found[-1].data


# 1. Happy path, end to end, for each backend.

@pytest.mark.parametrize("backend", BACKENDS)
def test_reply_streams_and_is_stored_with_usage_and_health(backend, request):
    b: Served = request.getfixturevalue(backend)
    tokens = [f"{backend}{i} " for i in range(12)]
    b.fake.enqueue(Script(tokens=tokens, delay=0.02, prompt_tokens=41))
    with SseReader(b.stack.url, tab="happy") as sse:
        reply, row = ask(b.stack, "hello there")
        final_bubble(sse, reply)
    assert len(sse.matching(f"beforeend:#body-{reply}")) >= 3, "the reply should stream, not arrive at once"
    assert row == {"role": "assistant", "status": "done", "content": "".join(tokens), "error": "",
                   "model": b.model, "usage": {"prompt_tokens": 41, "completion_tokens": 12}}
    sent = b.fake.requests[-1]
    assert sent["model"] == b.model and sent["messages"][-1]["content"].endswith("hello there")
    if b.key:  # the key goes where the API wants it (the fakes refuse any other key anyway)
        header = sent.headers["authorization"] if backend == "openai" else sent.headers["x-api-key"]
        assert header.removeprefix("Bearer ") == b.key
    health = b.stack.health()
    assert (health["backend"], health["model"], health["reachable"]) == (backend, b.model, True)
    assert [(w["backend"], w["model"]) for w in health["processes"]["llm_worker"]["workers"]] == [(backend, b.model)]


# 3. Keys never leak: not in a log line, /health, the page, an SSE event, or the database.

@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_api_key_never_leaks(backend, request):
    b: Served = request.getfixturevalue(backend)
    secret = b.key.split("LEAKCHECK-")[1]  # the distinctive part: catches a partly masked echo too
    seen = [b.stack.http.get("/health").text]
    with SseReader(b.stack.url, tab="leak") as sse:
        good, row = ask(b.stack, "a normal question")
        assert row["status"] == "done"
        seen.append(b.stack.http.get("/health").text)
        b.fake.api_key = "sk-someone-else-entirely"  # our key is now wrong: the fake answers 401
        try:
            bad, row = ask(b.stack, "and with a revoked key?")
        finally:
            b.fake.api_key = b.key
        assert row["status"] == "failed" and b.key_var in row["error"] and "401" in row["error"]
        assert b.key_var in final_bubble(sse, bad, "failed"), "the person sees which variable to fix"
        final_bubble(sse, good)
        seen.append(b.stack.http.get("/health").text)
    seen += [b.stack.http.get("/").text, sse.text(), b.stack.log()]
    seen += [path.read_bytes().decode("latin-1") for path in b.stack.data_dir.iterdir() if path.is_file()]
    with b.stack.db() as db:
        seen += [line for line in db.iterdump()]
    for where, text in enumerate(seen):
        assert b.key not in text and secret not in text, f"the API key leaked into source #{where}"


# 4. Swap the worker, not just the backend: an OpenAI worker joins an Ollama stack.

def test_an_openai_worker_joins_an_ollama_stack_and_each_job_is_answered_once(ollama):
    stack = ollama.stack
    with FakeOpenAI(api_key=OPENAI_KEY) as cloud, open(stack.base / "second-worker.log", "wb") as log:
        env = {**stack.env, "LLM_BACKEND": "openai", "OPENAI_BASE_URL": cloud.url, "OPENAI_API_KEY": OPENAI_KEY,
               "LLM_MODEL": OPENAI_MODEL}
        second = subprocess.Popen([sys.executable, "-m", "llm_worker"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            workers = lambda: stack.health()["processes"]["llm_worker"]["workers"]  # noqa: E731
            wait_for(lambda: sorted(w["backend"] for w in workers()) == ["ollama", "openai"], timeout=15,
                     what="both workers in /health")
            before = len(ollama.fake.requests)
            with ThreadPoolExecutor(8) as pool:  # all at once, so both workers get some
                replies = list(pool.map(stack.chat, [f"question {i}" for i in range(8)]))
            rows = [stored(stack, r) for r in replies]
            assert [(r["status"], r["content"]) for r in rows] == [("done", DEFAULT_TEXT)] * 8
            by_ollama, by_openai = len(ollama.fake.requests) - before, len(cloud.requests)
            assert by_ollama + by_openai == 8, "every message answered exactly once"
            assert by_ollama and by_openai, "both workers took jobs"
            assert Counter(r["model"] for r in rows) == {THINKER: by_ollama, OPENAI_MODEL: by_openai}
            assert {(w["backend"], w["model"]) for w in workers()} == {("ollama", THINKER),
                                                                        ("openai", OPENAI_MODEL)}
        finally:
            second.terminate()
            second.wait(10)
        assert OPENAI_KEY not in (stack.base / "second-worker.log").read_text()


# 6. Thinking is shown collapsed, apart from the reply, and never stored as the reply.

def test_thinking_streams_into_the_collapsed_box_never_the_body(ollama):
    thinking, answer = ["Hmm, ", "the person ", "wants ", "a greeting."], ["Hi ", "there, ", "human."]
    ollama.fake.enqueue(Script(thinking=thinking, tokens=answer, delay=0.03))
    with SseReader(ollama.stack.url, tab="think") as sse:
        reply, row = ask(ollama.stack, "say hi")
        final = final_bubble(sse, reply)
    assert (row["status"], row["content"]) == ("done", "Hi there, human.")
    streamed_body, streamed_thinking = "", ""
    for event in sse.snapshot():
        if event.data is final:
            break
        streamed_body += "".join(re.findall(rf'<span hx-swap-oob="beforeend:#body-{reply}">(.*?)</span>', event.data))
        streamed_thinking += "".join(re.findall(rf'id="think-{reply}"[^>]*>(.*?)</div>', event.data))
        streamed_thinking += "".join(re.findall(rf'beforeend:#think-{reply}">(.*?)</span>', event.data))
    assert (streamed_thinking, streamed_body) == ("".join(thinking), "".join(answer))
    box = re.search(rf'<details[^>]*id="thinkbox-{reply}"[^>]*>.*?</details>', final, re.S)
    assert box and "".join(thinking) in box.group(0)
    assert " open" not in box.group(0).split(">")[0], "the thinking box starts collapsed"
    body = re.search(rf'id="body-{reply}"[^>]*>(.*?)</div>', final, re.S).group(1)
    assert "Hi there, human." in body and "the person" not in body


# 5. auto: the demo model until an Ollama answers, then Ollama, with no restart.

def test_auto_falls_back_to_demo_then_switches_to_ollama_by_itself():
    port = free_port()
    stack = Stack(LLM_BACKEND="auto", OLLAMA_HOST=f"http://127.0.0.1:{port}", GHOSTWIRE_DEMO_RATE="0")
    fake = FakeOllama(port=port)
    try:
        stack.start()
        health = stack.health()
        assert (health["backend"], health["model"]) == ("demo", "ghostwire-demo")
        assert f"127.0.0.1:{port}" in health["note"] and "ollama" in health["note"].lower()
        _, row = ask(stack, "hello demo")
        assert row["status"] == "done" and row["content"] and row["model"] == "ghostwire-demo"
        fake.start()
        wait_for(lambda: stack.health()["backend"] == "ollama", timeout=10, interval=0.1,
                 what="auto to switch to the Ollama that just started")
        assert stack.health()["model"] == "llama3.2:3b"
        _, row = ask(stack, "hello ollama")
        assert (row["status"], row["content"], row["model"]) == ("done", DEFAULT_TEXT, "llama3.2:3b")
        assert len(fake.requests) == 1 and fake.requests[0]["messages"][-1]["content"].endswith("hello ollama")
    finally:
        stack.stop()
        fake.stop()


# 7. A llama.cpp server (as observed, through the fake's faithful options) behind the real four.

LLAMA_PATH = "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"  # shown by its file name, asked for by its path


@pytest.fixture(scope="module")
def llama():
    with FakeOpenAI.llama_cpp(LLAMA_PATH, n_ctx=1024, props=True) as fake:
        stack = Stack(LLM_BACKEND="openai", OPENAI_BASE_URL=fake.url, GHOSTWIRE_MAX_REPLY_CHARS="500")
        try:
            stack.start()
            yield Served("llama", stack, fake, LLAMA_MODEL)
        finally:
            stack.stop()


def test_llama_cpp_a_second_chat_never_cuts_the_first(llama):
    tokens = [f"slow{i} " for i in range(40)]
    llama.fake.enqueue(Script(tokens=tokens, delay=0.02), Script(tokens=["second ", "reply"]))
    first = llama.stack.chat("a long answer please")
    wait_for(lambda: llama.fake._playing, what="the first reply streaming")
    second, row = ask(llama.stack, "and another thing")
    assert (stored(llama.stack, first)["content"], row["content"]) == ("".join(tokens), "second reply")
    assert llama.fake.interrupted == 0
    assert llama.fake.requests[-1]["model"] == LLAMA_PATH and row["model"] == LLAMA_MODEL
    assert row["usage"] is None, "llama.cpp sends no usage: unknown, not 0/0"


def test_llama_cpp_a_long_message_is_fitted_to_the_context_the_server_said(llama):
    wait_for(lambda: llama.stack.health()["model"] == LLAMA_MODEL, what="the worker to know its model")
    # 7,920 characters (under the page's 8,000) against n_ctx 1,024: the default budget (LLM_NUM_CTX 8,192)
    # would send it all and the server would answer with an empty stream.
    _, long = ask(llama.stack, "tell me about this: " + "blah " * 1580)
    _, short = ask(llama.stack, "hi")
    assert (long["status"], short["status"]) == ("done", "done"), (long["error"], short["error"])
    assert llama.fake.interrupted == 0


def test_llama_cpp_a_reply_cut_at_the_token_limit_says_so(llama):
    llama.fake.enqueue(Script(tokens=["half ", "an ", "answer"], done_reason="length"))
    with SseReader(llama.stack.url, tab="length") as sse:
        reply, row = ask(llama.stack, "go on")
        final = final_bubble(sse, reply)
    assert (row["status"], row["content"]) == ("done", "half an answer")
    assert "cut off at the token limit" in final


def test_a_reply_past_the_length_cap_is_cut_with_a_note_and_the_model_stopped(llama):
    tokens = [f"looping{i:03} " for i in range(200)]  # 2,400 characters against a cap of 500
    llama.fake.enqueue(Script(tokens=tokens, delay=0.005))
    gone = llama.fake.disconnects
    with SseReader(llama.stack.url, tab="too-long") as sse:
        reply, row = ask(llama.stack, "say it forever")
        final = final_bubble(sse, reply)
    assert (row["status"], row["content"]) == ("done", "".join(tokens)[:500])
    assert "reply too long — stopped at 500 characters" in final
    wait_for(lambda: llama.fake.disconnects > gone, what="the model's stream closed by the worker")


def test_llama_cpp_without_props_one_long_message_does_not_break_the_turns_after_it():
    """llama-cpp-python says nothing of its context: the long message fails readably, and the history
    sent next is fitted to half of what was refused, so "hi" after it works."""
    with FakeOpenAI.llama_cpp(LLAMA_PATH, n_ctx=1024, props=False) as fake:
        stack = Stack(LLM_BACKEND="openai", OPENAI_BASE_URL=fake.url)
        try:
            stack.start()
            _, long = ask(stack, "tell me about this: " + "blah " * 1580)
            _, short = ask(stack, "hi")
        finally:
            stack.stop()
    assert long["status"] == "failed" and "too long for this model's context" in long["error"], long
    assert "shorter history" in long["error"]
    assert short["status"] == "done", short["error"]


def chats(fake) -> list[dict]:
    return [r for r in fake.requests if "messages" in r]


def test_llama_cpp_without_props_a_history_too_long_is_retried_once_shorter():
    """When it is the history that overflows (the person's message fits on its own), the turn is tried
    once more with the shrunk history, and the person sees both: the overflow, then the answer."""
    with FakeOpenAI.llama_cpp(LLAMA_PATH, n_ctx=100_000, props=False) as fake:
        stack = Stack(LLM_BACKEND="openai", OPENAI_BASE_URL=fake.url)
        try:
            stack.start()
            _, first = ask(stack, "remember this: " + "blah " * 600)
            assert first["status"] == "done", first
            # The server's context now holds that prompt but not that prompt and one more turn.
            fake.n_ctx = len(json.dumps(chats(fake)[-1]["messages"])) // 4 - 10
            for _ in range(2):  # the refused request takes a script too
                fake.enqueue(Script(tokens=["Hello ", "again."]))
            reply, short = ask(stack, "hi")
            again = stored(stack, reply + "-s")
        finally:
            stack.stop()
    assert short["status"] == "failed" and "Trying once more with a shorter history" in short["error"], short
    assert (again["status"], again["content"]) == ("done", "Hello again."), again
    sent = chats(fake)[-1]["messages"]
    assert sent[-1]["content"].endswith("hi") and "blah blah" not in json.dumps(sent), "the retry left the long history out"
