"""A chat turn through the real four processes and a real model: streaming, storing, multi-byte text,
and Stop. What the model says is not ours to predict, so each test checks what
Ghostwire did with it: that what streamed is what was stored, that Stop stopped the engine's work."""

from __future__ import annotations

import time
from pathlib import Path

from tests.engine.conftest import FIGURES, N_CTX
from tests.engine.helpers import appends, final_bubble, stored, streamed
from tests.util import SseReader, wait_for

# Ghostwire's history budget matches this server's context, as the README tells people to set it.
STACK_ENV = {"LLM_NUM_CTX": str(N_CTX)}
IDLE_CORES = 0.1  # the server's CPU use between requests (its own threads only; other processes don't count)
BUSY_CORES = 0.25  # while it generates: one thread by default on 2 cores, ~1.0 alone, 0.4 on a busy machine


def test_multibyte_text_is_intact(stack, engine):
    with SseReader(stack.url, tab="utf8") as sse:
        # SmolLM2 answers this with emoji (4 bytes, often split over two tokens) in 3 runs of 3 when it
        # is the conversation's first message, so this test runs first.
        reply = stack.chat("Reply with only these characters: 🍎🍌✓é")
        final_bubble(sse, reply)
    row = stored(stack, reply)
    assert row.status == "done", row
    seen = streamed(sse, reply)
    assert seen == row.content, "what streamed over /events is what was stored"
    assert "\ufffd" not in row.content, "a multi-byte character was split between tokens and mangled"
    assert any(ord(ch) > 127 for ch in row.content), \
        f"the model wrote no non-ASCII character, so this run proved nothing: {row.content!r}"


def test_stop_ends_generation_at_the_server(stack, engine):
    with SseReader(stack.url, tab="stop") as sse:
        reply = stack.chat("Tell me a very long story about a dragon, with many chapters.")
        wait_for(lambda: appends(sse, reply) >= 3, 60, what="the reply to start streaming")
        busy = engine.cpu_rate(1.0)
        stopped_at = time.monotonic()
        assert stack.http.post(f"/stop/{reply}").status_code == 204
        row = stored(stack, reply, timeout=15)
        final_bubble(sse, reply)
    # The engine's own CPU time is the evidence: it falls to idle only if generation really ended
    # there, not just the stream to us. Measured over half-second windows, for at most 10 s.
    def idle() -> tuple[float] | None:
        rate = engine.cpu_rate()
        return (rate,) if rate < IDLE_CORES else None
    (after,) = wait_for(idle, 10, interval=0, what=f"llama_cpp.server's CPU to fall below {IDLE_CORES} cores")
    assert busy > BUSY_CORES, f"the server used only {busy:.2f} cores while generating: the measure cannot tell"
    assert row.status == "cancelled", row
    assert row.content and streamed(sse, reply) == row.content, "what streamed before Stop is what was kept"
    FIGURES.append(f"Stop: the server's CPU went from {busy:.2f} cores while generating to {after:.2f} "
                   f"within {time.monotonic() - stopped_at:.1f} s")


def test_a_reply_streams_and_is_stored(stack, engine):
    with SseReader(stack.url, tab="engine") as sse:
        reply = stack.chat("Write three sentences about apples.")
        bubble = final_bubble(sse, reply)
    row = stored(stack, reply)
    assert (row.role, row.status, row.error) == ("assistant", "done", ""), row
    assert row.content.strip(), "the model said nothing"
    assert appends(sse, reply) >= 2, "the reply should stream in pieces, not arrive at once"
    assert streamed(sse, reply) == row.content, "what the tab saw streaming is what was stored"
    assert row.content.split()[0] in bubble
    assert row.model in (engine.model_id(), Path(engine.model_id()).name)
    assert "POST /v1/chat/completions" in engine.log()
