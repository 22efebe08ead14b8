"""Every way a model server fails, through the real processes: each ends in a stored `failed`
message whose error a person can act on, and the very next message works again.

One stack per backend, with first-token and inter-token timeouts of 1 s so a stall is quick to see.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.fakes import Script
from tests.integration.test_backends import BACKENDS, DEFAULT_TEXT, Served, ask, served

FAST = {"LLM_FIRST_TOKEN_TIMEOUT": "1", "LLM_INTER_TOKEN_TIMEOUT": "1"}
PARTIAL = ["partial ", "answer ", "then more"]


@pytest.fixture(scope="module")
def ollama():
    with served("ollama", **FAST) as b:
        yield b


@pytest.fixture(scope="module")
def openai():
    with served("openai", **FAST) as b:
        yield b


@pytest.fixture(scope="module")
def anthropic():
    with served("anthropic", **FAST) as b:
        yield b


@dataclass
class Case:
    id: str
    script: Script | Callable[[str], Script] | None  # per backend if callable; None: the server is down
    says: dict[str, list[str]]  # per backend: what the error must mention (case-insensitive); "*" = all
    kept: str = ""  # the text produced before the failure, kept in the stored message
    hangs_up: bool = False  # the worker must close the upstream connection itself


CASES = [
    Case("refused", None, {"ollama": ["not reachable", "ollama serve", "OLLAMA_HOST"],
                           "openai": ["not reachable", "OPENAI_BASE_URL"],
                           "anthropic": ["not reachable", "ANTHROPIC_BASE_URL"]}),
    Case("401", Script(error_status=401), {"ollama": ["ollama signin"], "openai": ["401", "OPENAI_API_KEY"],
                                           "anthropic": ["401", "ANTHROPIC_API_KEY"]}),
    Case("403", Script(error_status=403), {"openai": ["403", "OPENAI_API_KEY"],
                                           "anthropic": ["403", "ANTHROPIC_API_KEY"]}),
    Case("404-model", Script(error_status=404),
         {"ollama": ["ollama pull qwen3:4b"], "openai": ["gpt-4o-mini", "LLM_MODEL"],
          "anthropic": ["claude-sonnet-4-5", "LLM_MODEL"]}),
    Case("429", Script(error_status=429, retry_after=7), {"*": ["rate limit", "retry after 7 s"]}),
    Case("500", Script(error_status=500), {"*": ["server error", "500"]}),
    Case("503", Script(error_status=503), {"*": ["server error", "503"]}),
    Case("529-overloaded", Script(error_status=529), {"anthropic": ["overloaded", "try again"]}),
    Case("mid-stream", Script(tokens=PARTIAL, error_after=2),
         {"ollama": ["failed mid-reply"], "openai": ["failed mid-reply"],
          "anthropic": ["overloaded", "mid-reply", "try again"]}, kept="partial answer "),
    Case("mid-stream-api-error", Script(tokens=PARTIAL, error_after=2, error_type="api_error",
                                        error_message="Internal server error"),
         {"anthropic": ["failed mid-reply", "Internal server error"]}, kept="partial answer "),
    Case("eof-without-end", Script(tokens=PARTIAL, eof_after=2), {"*": ["closed the stream before finishing"]},
         kept="partial answer "),
    Case("clean-end-without-end-marker", lambda backend: Script(raw=[unterminated(backend, t) for t in PARTIAL]),
         {"*": ["closed the stream before finishing"]}, kept="".join(PARTIAL)),
    Case("no-headers", Script(ttft=30), {"*": ["no reply", "1 s", "LLM_FIRST_TOKEN_TIMEOUT"]}, hangs_up=True),
    Case("headers-then-silence", Script(stall_after=0), {"*": ["no reply", "1 s", "LLM_FIRST_TOKEN_TIMEOUT"]},
         hangs_up=True),
    Case("stall-mid-reply", Script(tokens=PARTIAL, stall_after=2),
         {"*": ["stopped sending for 1 s", "LLM_INTER_TOKEN_TIMEOUT"]}, kept="partial answer ", hangs_up=True),
]


def unterminated(backend: str, text: str) -> bytes:
    """One streamed token in the backend's own framing; a body of these ends with no end marker."""
    if backend == "ollama":
        return json.dumps({"model": "qwen3:4b", "created_at": "2025-01-01T00:00:00Z",
                           "message": {"role": "assistant", "content": text}, "done": False}).encode() + b"\n"
    if backend == "openai":
        return b"data: " + json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": {"content": text}, "finish_reason": None}]}).encode() + b"\n\n"
    return b"event: content_block_delta\ndata: " + json.dumps({"type": "content_block_delta", "index": 0, "delta": {
        "type": "text_delta", "text": text}}).encode() + b"\n\n"


def params():
    for case in CASES:
        for backend in BACKENDS:
            if backend in case.says or "*" in case.says:
                yield pytest.param(backend, case, id=f"{backend}-{case.id}")


def readable(error: str) -> bool:
    """One or two plain sentences: no traceback, no raw JSON body, no repr of an exception object."""
    return (10 < len(error) < 400 and (error[0].isupper() or error.startswith("http")) and "Traceback" not in error
            and not error.lstrip().startswith(("{", "[")) and "<" not in error and "\n" not in error
            and ".." not in error and "!." not in error)


@pytest.mark.parametrize("backend,case", list(params()))
def test_failure_is_stored_readable_and_the_next_reply_works(backend, case, request):
    b: Served = request.getfixturevalue(backend)
    hangups = b.fake.disconnects
    if case.script is None:
        b.fake.stop()
        try:
            _, row = ask(b.stack, f"{case.id}: anyone there?")
        finally:
            b.fake.start()  # the same port again
    else:
        b.fake.enqueue(case.script(backend) if callable(case.script) else case.script)
        _, row = ask(b.stack, f"{case.id}: please answer")
    error = row["error"]
    assert row["status"] == "failed", row
    for words in case.says.get(backend, case.says.get("*")):
        assert words.lower() in error.lower(), f"{words!r} not in {error!r}"
    assert readable(error), error
    assert row["content"] == case.kept
    if b.key:
        assert b.key not in error
    if case.hangs_up:  # a timeout must really close the stream, or the model keeps generating
        b.fake.wait_for(lambda: b.fake.disconnects > hangups, timeout=5)

    _, row = ask(b.stack, "and now?")
    assert (row["status"], row["content"], row["error"]) == ("done", DEFAULT_TEXT, ""), "the app keeps working"
