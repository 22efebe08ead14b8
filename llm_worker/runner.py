"""Runs one job: stream from the backend, publish coalesced deltas, end with done or error.

Coalescing is by time, never by count: the first text after an idle gap goes out at once,
later text waits at most one frame (FRAME_S) so the bus and the browser see ≤ 60 events/s.
A token that closes a top-level brace goes out at once too: it may end a command, and a
command should run the moment it closes, not a frame later. Such early deltas fit inside the
same budget: no second ever holds more than MAX_PER_S deltas of one reply.

A reply longer than `max_chars` (GHOSTWIRE_MAX_REPLY_CHARS, thinking included) is cut there and
the model stopped:
a looping model must not grow a reply (and every page that shows it) without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from bus import contract as c
from bus.client import Bus
from commands.schema import reply_schema
from llm_worker.backends import structured
from llm_worker.backends.base import (Backend, BackendError, ChatRequest, Done, Message, TextDelta, ThinkingDelta,
                                      ToolCall, Usage)

log = logging.getLogger(__name__)
FRAME_S = 1 / 60
MAX_PER_S = 60
EARLY_FLUSHES = 25  # at most one per command the crud_worker would run (its per-reply cap)


def alternating(messages: list[c.JobMessage]) -> list[Message]:
    """Strict chat templates (Anthropic's API, some llama.cpp ones) want roles to alternate: a run of one
    role's messages (events the model did not answer) goes as one. Done here, on the wire, so the job's
    messages stay each turn's prefix of the next; merged, the text is still a prefix (a server's cache holds)."""
    merged: list[Message] = []
    for m in messages:
        if merged and merged[-1].role == m.role:
            merged[-1] = Message(role=m.role, content=merged[-1].content + "\n\n" + m.content)
        else:
            merged.append(Message(role=m.role, content=m.content))
    return merged


def tokens_per_s(usage: c.Usage | None, first: float | None, last: float) -> float | None:
    """The generation rate as c.Timing defines it: the tokens after the first over the time from the
    first token to the last. None (unknown) without the server's count or a measurable span."""
    count = usage.completion_tokens if usage else None
    if count is None or count < 2 or first is None or last - first < 0.001:
        return None
    return round((count - 1) / (last - first), 1)


class Run:
    def __init__(self, bus: Bus, job: c.LlmJob, backend: Backend, model: str, tools: list[dict] | None = None,
                 max_chars: int = 200_000, structured: bool = False, commands_first: bool = False):
        self.bus, self.job, self.backend, self.model, self.tools = bus, job, backend, model, tools
        self.structured, self.commands_first = structured, commands_first
        self.max_chars = self.room = max_chars  # room: characters of reply text still allowed
        self.seq = 0
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.pending_text: list[str] = []
        self.pending_thinking: list[str] = []
        self.last_flush = 0.0
        self.flushed_at: deque[float] = deque(maxlen=MAX_PER_S)  # the last second's deltas, at most
        self.flusher: asyncio.Task | None = None
        self.cancelled_by_user = False
        self.depth = 0
        self.early_flushes = 0
        self.end: c.LlmDone | c.LlmError | None = None  # kept by the worker, to publish again if asked
        self.last_token = 0.0  # monotonic: when the newest text or thinking arrived

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    async def _flush(self) -> None:
        if not (self.pending_text or self.pending_thinking):
            return
        text, thinking = "".join(self.pending_text), "".join(self.pending_thinking)
        self.pending_text.clear()
        self.pending_thinking.clear()
        self.last_flush = time.monotonic()
        self.flushed_at.append(self.last_flush)
        await self.bus.publish(c.LlmDelta(msg_id=self.job.msg_id, seq=self._next_seq(), text=text, thinking=thinking))

    async def _flush_at(self, when: float) -> None:
        await asyncio.sleep(max(0.0, when - time.monotonic()))
        self.flusher = None
        await self._flush()

    def _budget_free_at(self) -> float:
        """When one more delta keeps every second at MAX_PER_S or fewer."""
        full = len(self.flushed_at) == MAX_PER_S
        return self.flushed_at[0] + 1.0 if full else 0.0

    async def _offer(self, text: str) -> None:
        now, budget = time.monotonic(), self._budget_free_at()
        if self._closes_a_brace(text) and self.early_flushes < EARLY_FLUSHES and now >= budget:
            self.early_flushes += 1
            await self._drain()
            return
        due = max(self.last_flush + FRAME_S, budget)
        if now >= due:
            await self._drain()  # also cancels a timer that fired but hasn't run: one flush, not two
        elif self.flusher is None:
            self.flusher = asyncio.create_task(self._flush_at(due))

    def _closes_a_brace(self, text: str) -> bool:
        if "{" not in text and "}" not in text:
            return False
        closed = False
        for ch in text:
            if ch == "{":
                self.depth += 1
            elif ch == "}" and self.depth:
                self.depth -= 1
                closed = closed or self.depth == 0
        return closed

    async def run(self, worker: str) -> None:
        job = self.job
        started = time.monotonic()
        first: float | None = None
        usage: c.Usage | None = None
        stop_reason = ""
        calls: list[c.ToolCallMsg] = []
        await self.bus.publish(c.LlmStart(msg_id=job.msg_id, worker=worker, backend=self.backend.name,
                                          model=self.model))
        try:
            async with contextlib.aclosing(self.backend.stream(self._request())) as events:
                async for ev in events:
                    match ev:
                        case TextDelta(text=t) | ThinkingDelta(text=t) if t:
                            first = first or time.monotonic()
                            if not await self._take(t, thinking=isinstance(ev, ThinkingDelta)):
                                stop_reason = "too_long"  # closing the stream (aclosing) stops the model
                                break
                        case ToolCall():
                            call = c.ToolCallMsg(name=ev.name, arguments=ev.arguments, id=ev.id)
                            calls.append(call)
                            await self._drain()
                            await self.bus.publish(c.LlmToolCall(msg_id=job.msg_id, seq=self._next_seq(), call=call))
                        case Usage():
                            usage = c.Usage(prompt_tokens=ev.prompt_tokens, completion_tokens=ev.completion_tokens,
                                            cached_tokens=ev.cached_tokens)
                        case Done(reason=reason):
                            stop_reason = "length" if reason == "length" else ""
                            break
        except asyncio.CancelledError:
            await self._drain()
            if not self.cancelled_by_user:
                await self._error("The LLM worker was stopped in the middle of this reply.", "worker")
                raise
            await self._done("cancelled", usage, started, first, calls)
            return
        except BackendError as err:
            await self._drain()
            await self._error(err.message, err.kind)
            return
        await self._drain()
        await self._done("done", usage, started, first, calls, stop_reason)

    def _request(self) -> ChatRequest:
        hint = structured.HINT_COMMANDS_FIRST if self.commands_first else structured.HINT
        return ChatRequest(model=self.model, system=self.job.system + (hint if self.structured else ""),
                           num_ctx=self.job.num_ctx, tools=self.tools,
                           schema=reply_schema(self.commands_first) if self.structured else None,
                           messages=alternating(self.job.messages))

    async def _take(self, t: str, thinking: bool) -> bool:
        """Keep and offer a piece of text or thinking; False when it reached the reply's length limit
        (what fitted is kept)."""
        self.last_token = time.monotonic()
        fits = len(t) <= self.room
        t = t[:self.room]
        self.room -= len(t)
        (self.thinking if thinking else self.text).append(t)
        (self.pending_thinking if thinking else self.pending_text).append(t)
        await self._offer("" if thinking else t)
        return fits

    async def _drain(self) -> None:
        """Publish what is pending now, or, at a reply's end, as soon as the budget allows."""
        if self.flusher:
            self.flusher.cancel()
            self.flusher = None
        wait = self._budget_free_at() - time.monotonic()
        if wait > 0 and (self.pending_text or self.pending_thinking):
            await asyncio.sleep(wait)
        await self._flush()

    async def _done(self, status, usage, started, first, calls, stop_reason="") -> None:
        now = time.monotonic()
        timing = c.Timing(queued_ms=round((time.time() - self.job.queued_at) * 1000 - (now - started) * 1000, 1),
                          first_token_ms=round((first - started) * 1000, 1) if first else None,
                          total_ms=round((now - started) * 1000, 1),
                          tokens_per_s=tokens_per_s(usage, first, self.last_token))
        self.end = c.LlmDone(
            msg_id=self.job.msg_id, seq=self._next_seq(), text="".join(self.text), status=status,
            thinking="".join(self.thinking), usage=usage, timing=timing, backend=self.backend.name, model=self.model,
            tool_calls=calls, stop_reason=stop_reason)
        await self.bus.publish(self.end)

    async def _error(self, message: str, kind: str) -> None:
        log.warning("reply %s failed (%s): %s", self.job.msg_id, kind, message)
        self.end = c.LlmError(msg_id=self.job.msg_id, seq=self._next_seq(), error=message, kind=kind,
                              text="".join(self.text), backend=self.backend.name, model=self.model)
        await self.bus.publish(self.end)
