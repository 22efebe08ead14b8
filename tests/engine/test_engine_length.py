"""A reply that hits the token limit is marked cut off. Ghostwire sends no max_tokens, so llama.cpp's
limit is what the context leaves after the prompt; on a server with little room past the system
prompt (~430 tokens) a long story fills it and the server says finish_reason "length"."""

from __future__ import annotations

import pytest

from tests.engine.conftest import NO_INTERRUPT, serve
from tests.engine.helpers import CUT_OFF, final_bubble, stored
from tests.engine.server import CUT_SHORT
from tests.util import SseReader, wait_for

ENGINE = "short_engine"
SHORT_N_CTX = 640  # ~200 tokens for the reply: SmolLM2's long stories ran 500-1,600 tokens here
# llama-cpp-python 0.3.36, streaming, holds back a token that may be half a character or the start of
# a stop sequence with a `continue` that skips its max_tokens check; at the context's last slot it then
# evaluates past the end and the stream dies (ValueError in Llama.eval) without a finish reason. Every
# run here at 600, 640 and 700 did that under Ghostwire's prompt; a bare prompt ended with "length".
# Either way the reply reached the limit, and Ghostwire must say it was cut off.
OVERRAN = "ValueError: could not broadcast input array"
STACK_ENV = {"LLM_NUM_CTX": str(SHORT_N_CTX)}


@pytest.fixture(scope="module")
def short_engine():
    yield from serve(SHORT_N_CTX, *NO_INTERRUPT)


@pytest.mark.xfail(strict=False, reason="the engine's stream breaks at the full context (see OVERRAN) and Ghostwire "
                                        "says 'closed the stream before finishing', not cut off; it sends no max_tokens "
                                        "(issue 12, item 4: not fixed by the backends merge)")
def test_a_reply_hitting_the_token_limit_is_marked_cut_off(stack, short_engine):
    mark = len(short_engine.log())
    with SseReader(stack.url, tab="length") as sse:
        reply = stack.chat("Tell me a very long story about a dragon, with many chapters.")
        bubble = final_bubble(sse, reply)
    row = stored(stack, reply)
    assert row.content, row
    assert CUT_SHORT not in short_engine.log(mark), "the stream was cut short, it did not end at the limit"
    def ended() -> str:
        return ("overran" if OVERRAN in short_engine.log(mark)
                else "filled" if short_engine.context_used(mark) == [SHORT_N_CTX]
                else "ended early" if short_engine.context_used(mark) else "")
    how = wait_for(ended, 10, what="llama.cpp's log of how the reply ended")
    assert how != "ended early", f"the premise: the engine generates until its context is full; it wrote {row.content!r}"
    assert CUT_OFF.search(row.error) or CUT_OFF.search(bubble), \
        f"a reply cut at the token limit should say so; stored {row.status!r} with error {row.error!r}"
