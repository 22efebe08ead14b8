"""No poll of ours interrupts a stream. llama-cpp-python's server as shipped (interrupt_requests=True)
ends a running stream when any other request arrives, the llm_worker's health probe of /v1/models
included (every PROBE_SLOW_S while healthy; not a setting, so this test takes that long). So replies
streaming for longer than one probe interval must each end with the engine's own finish reason."""

from __future__ import annotations

import re
import time

import pytest

from llm_worker.selector import PROBE_SLOW_S
from tests.engine.conftest import FIGURES, serve
from tests.engine.helpers import appends, final_bubble, stored
from tests.engine.server import CUT_SHORT
from tests.util import SseReader, wait_for

ENGINE = "shipped_engine"
# Room for SmolLM2's long stories (500-1,600 tokens, 10-60 s at the 25-55 tokens/s seen here) to end by
# themselves: at a full context llama-cpp-python's stream breaks (see test_engine_length.py), which is
# not what this test is about. Replies follow one another until more than a probe interval of streaming.
LONG_N_CTX = 4096
STACK_ENV = {"LLM_NUM_CTX": str(LONG_N_CTX)}  # the history fits, as the README says to set it
STREAMING_S = PROBE_SLOW_S + 5
LONG_REPLY_S = 150  # the most one reply may take to end by itself (one ran 9,370 characters here)
PROBES = re.compile(r'"GET /v1/models ')


@pytest.fixture(scope="module")
def shipped_engine():
    yield from serve(LONG_N_CTX)


@pytest.mark.timeout(STREAMING_S + 2 * LONG_REPLY_S + 60)  # past the suite's 120 s: replies, then one more
def test_replies_streaming_longer_than_a_probe_interval_end_with_their_finish_reason(stack, shipped_engine):
    mark = len(shipped_engine.log())
    spent, rows, health = 0.0, [], []
    while spent <= STREAMING_S:
        with SseReader(stack.url, tab="long") as sse:
            reply = stack.chat("Tell me a very long story about a dragon, with many chapters.")
            wait_for(lambda: appends(sse, reply) >= 1, 30, what="the reply to start streaming")
            started = time.monotonic()
            health.append(stack.http.get("/health").status_code)  # a tab's own polling, meanwhile
            final_bubble(sse, reply, timeout=LONG_REPLY_S)
            spent += time.monotonic() - started
        rows.append(stored(stack, reply))
    during = shipped_engine.log(mark)
    FIGURES.append(f"long replies: {len(rows)} streamed for {spent:.0f} s ({', '.join(f'{len(r.content):,}' for r in rows)}"
                   f" characters); {len(PROBES.findall(during))} model-list requests reached the server meanwhile; "
                   f"streams the server saw cut: {during.count(CUT_SHORT)}")
    assert set(health) == {200}
    # The server's own log is the evidence: a stream it did not finish leaves this line.
    assert CUT_SHORT not in during, "a poll cut a reply off while the server was generating it"
    assert all(r.content and r.status not in ("failed", "cancelled") for r in rows), rows
