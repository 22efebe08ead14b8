"""The model server misbehaves: it dies mid-stream, stalls, or answers 500. Each time the reply
ends `failed` with a reason a person can read, keeps what was produced, every tab shows it, and
the next message works."""

from __future__ import annotations

import html
import re

import pytest

from tests.faults.helpers import INTER_TOKEN_TIMEOUT, all_up
from tests.report import STATS
from tests.fakes import Script
from tests.util import SseReader, wait_for

TOKENS = ["The ", "answer ", "is ", "forty", "-two", ", ", "probably", "."]


def readable(error: str) -> bool:
    """A sentence for a person: no traceback, no repr of an exception object, not just a class name."""
    return (len(error) > 20 and " " in error and "Traceback" not in error and "Error(" not in error
            and not re.fullmatch(r"[A-Za-z.]+Error", error.strip()))


FAULTS = {
    "dies mid-stream": (Script(tokens=TOKENS, delay=0.01, eof_after=3), r"model|Ollama", "The answer is "),
    "stalls": (Script(tokens=TOKENS, delay=0.01, stall_after=3), r"stopped sending|timeout", "The answer is "),
    "answers 500": (Script(error_status=500, error_message="CUDA error: out of memory"),
                    r"500.*out of memory|out of memory.*500", ""),
    "mid-stream error": (Script(tokens=TOKENS, delay=0.01, error_after=4, error_message="model runner crashed"),
                         r"model runner crashed", "The answer is forty"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_model_fault_fails_the_reply_readably_and_the_next_message_works(stack, fake_ollama, fault):
    script, reason, produced = FAULTS[fault]
    fake_ollama.enqueue(script)
    with SseReader(stack.url, tab="watcher") as sse:
        reply = stack.chat(f"question while the model {fault}")
        _, status, content, error = stack.wait_message(reply, timeout=INTER_TOKEN_TIMEOUT + 15)
        final = wait_for(lambda: sse.matching(f'id="msg-{reply}" class="msg assistant chat failed'),
                         what="the failed bubble in the watching tab")
    STATS["model faults"][fault] += 1
    assert (status, content) == ("failed", produced)
    assert readable(error), f"not a readable reason: {error!r}"
    assert re.search(reason, error, re.I), error
    shown = html.unescape(final[-1].data)
    assert error in shown, "the tab shows the same reason that was stored"
    assert all_up(stack)

    fake_ollama.enqueue(Script(tokens=["fine ", "now"]))
    again = stack.chat("and now?")
    assert stack.wait_message(again)[1:3] == ("done", "fine now")


def test_a_stalled_model_is_hung_up_on(stack, fake_ollama):
    """The worker closes the upstream stream at the inter-token timeout: the model really stops."""
    before = fake_ollama.disconnects
    fake_ollama.enqueue(Script(tokens=TOKENS, stall_after=2))
    reply = stack.chat("stall please")
    assert stack.wait_message(reply, timeout=INTER_TOKEN_TIMEOUT + 15)[1] == "failed"
    fake_ollama.wait_for(lambda: fake_ollama.disconnects > before, timeout=5)
