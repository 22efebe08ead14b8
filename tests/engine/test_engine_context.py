"""A message longer than the server's context, as issue 12 met it: Ghostwire's history budget assumes
its default LLM_NUM_CTX (8,192 tokens) while the server has N_CTX. llama.cpp answers a streamed request
over its context with HTTP 200 and an empty body, so only Ghostwire can say what went wrong."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.engine.conftest import N_CTX
from tests.engine.helpers import final_bubble, stored
from tests.util import SseReader

TOO_LONG = re.compile(r"too long.*context", re.I | re.S)
# Digits and odd words tokenize at about two characters a token: under the web's 8,000-character
# limit, yet well over N_CTX tokens.
LONG_MESSAGE = ("Please remember these codes: "
                + " ".join(f"{i * 7919 % 100003:05d}-zq{i % 97}" for i in range(700)))[:7_900]


def token_count(engine, text: str) -> int:
    """The engine's own tokenizer (llama-cpp-python's /extras/tokenize), so the premise is checked."""
    r = httpx.post(engine.url.removesuffix("/v1") + "/extras/tokenize", json={"input": text}, timeout=30)
    r.raise_for_status()
    return len(r.json()["tokens"])


@pytest.fixture(scope="module")
def overflowed(stack, engine):
    """The long message has been sent and its reply has ended, however it ended."""
    assert token_count(engine, LONG_MESSAGE) > N_CTX, "the long message must exceed the server's context"
    with SseReader(stack.url, tab="long") as sse:
        reply = stack.chat(LONG_MESSAGE)
        bubble = final_bubble(sse, reply)
    return stored(stack, reply), bubble


def test_a_message_over_the_context_gets_a_readable_error(overflowed):
    row, bubble = overflowed
    assert row.status != "done", row
    assert TOO_LONG.search(row.error), f"stored error should say the message is too long: {row.error!r}"
    assert TOO_LONG.search(bubble), f"the bubble should say so too: {bubble!r}"


def test_the_next_short_message_still_works(overflowed, stack):
    with SseReader(stack.url, tab="after") as sse:
        reply = stack.chat("hi")
        final_bubble(sse, reply)
    row = stored(stack, reply)
    assert (row.status, row.error) == ("done", ""), row
    assert row.content.strip(), "the model said nothing"
