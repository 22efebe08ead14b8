"""How a reply ends on the bus: cut at the token limit, stopped for being too long, usage unknown,
and every backend failure (never a bare httpx error) as a readable llm.error."""

from __future__ import annotations

import asyncio

from bus import contract as c
from llm_worker.backends.base import BackendError, Done, TextDelta, ThinkingDelta, Usage
from llm_worker.runner import Run, tokens_per_s
from tests.llm_worker.test_coalescing import Recorder


class Scripted:
    """A backend that yields the given events, and remembers whether its stream was closed early."""

    name = "scripted"
    streaming = 0

    def __init__(self, events, fail: BackendError | None = None):
        self.events, self.fail, self.closed_early, self.sent = events, fail, False, 0

    async def stream(self, request):
        try:
            for event in self.events:
                self.sent += 1
                yield event
                await asyncio.sleep(0)
            if self.fail:
                raise self.fail
        except GeneratorExit:
            self.closed_early = self.sent < len(self.events)
            raise


def end_of(backend: Scripted, **kwargs) -> c.LlmDone | c.LlmError:
    bus = Recorder()
    job = c.LlmJob(msg_id="aends00000000001", messages=[c.JobMessage(role="user", content="go")])
    asyncio.run(Run(bus, job, backend, "m", **kwargs).run("w"))
    return bus.sent[-1][1]


def test_a_reply_cut_at_the_token_limit_says_so():
    end = end_of(Scripted([TextDelta("half a"), Usage(3, 2), Done("length")]))
    assert (end.status, end.stop_reason, end.text) == ("done", "length", "half a")


def test_a_reply_that_finished_carries_no_stop_reason():
    end = end_of(Scripted([TextDelta("all"), Done("stop")]))
    assert (end.status, end.stop_reason) == ("done", "")


def test_missing_usage_stays_unknown():
    assert end_of(Scripted([TextDelta("hi"), Done("stop")])).usage is None
    assert end_of(Scripted([TextDelta("hi"), Usage(prompt_tokens=7), Done()])).usage == c.Usage(prompt_tokens=7)


def test_a_reply_past_the_cap_is_cut_there_and_the_model_stopped():
    backend = Scripted([TextDelta("x" * 30) for _ in range(100)] + [Done()])
    end = end_of(backend, max_chars=100)
    assert (end.status, end.stop_reason, len(end.text)) == ("done", "too_long", 100)
    assert backend.closed_early and backend.sent == 4, "the stream was closed as soon as the cap was reached"


def test_thinking_counts_toward_the_cap():
    backend = Scripted([ThinkingDelta("t" * 80), TextDelta("x" * 30), TextDelta("never"), Done()])
    end = end_of(backend, max_chars=100)
    assert (end.stop_reason, end.thinking, end.text) == ("too_long", "t" * 80, "x" * 20)


def test_a_reply_exactly_at_the_cap_is_not_cut():
    end = end_of(Scripted([TextDelta("x" * 50), TextDelta("y" * 50), Done()]), max_chars=100)
    assert (end.stop_reason, len(end.text)) == ("", 100)


def test_a_backend_error_is_an_llm_error_with_its_kind():
    end = end_of(Scripted([TextDelta("so far")], fail=BackendError("too long for this model's context", kind="context")))
    assert isinstance(end, c.LlmError) and (end.kind, end.text) == ("context", "so far")


def test_tokens_per_second_counts_the_tokens_after_the_first_over_their_span():
    assert tokens_per_s(c.Usage(completion_tokens=11), 10.0, 12.0) == 5.0  # 10 tokens in 2 s
    assert tokens_per_s(None, 10.0, 12.0) is None, "no count from the server: unknown"
    assert tokens_per_s(c.Usage(prompt_tokens=5), 10.0, 12.0) is None
    assert tokens_per_s(c.Usage(completion_tokens=1), 10.0, 12.0) is None, "one token has no rate"
    assert tokens_per_s(c.Usage(completion_tokens=9), 10.0, 10.0) is None, "all at once: no span to divide by"
    assert tokens_per_s(c.Usage(completion_tokens=9), None, 0.0) is None


def test_the_end_carries_the_rate_only_where_the_server_counted():
    counted = end_of(Scripted([TextDelta("a"), TextDelta("b"), Usage(3, 2), Done()]))
    assert counted.timing.first_token_ms is not None and counted.timing.total_ms >= counted.timing.first_token_ms
    uncounted = end_of(Scripted([TextDelta("a"), TextDelta("b"), Done()]))
    assert uncounted.timing.tokens_per_s is None
