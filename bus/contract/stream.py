"""The LLM stream: the job the crud_worker queues, and what a worker publishes while it answers.

A reply stream carries `msg_id` and a per-reply `seq` starting at 0 with `llm.start`, so any receiver
can see a gap; `llm.done` carries the full text so any receiver can heal one.

Command ids. Every command a reply holds has an id that the crud_worker (which runs it and
logs it under that id) and the web (which shows its chip, and swaps in its `command.result`)
form independently, from the same split of the same text; both call `commands.ids`, the one
definition. For the k-th command (from 0) of the reply's n-th command block (from 0):
`{msg_id}:{n}` when k is 0, else `{msg_id}:{n}.{k}` (a JSON array or a pythonic call list is
one block holding several commands). The n-th native tool call of a reply is
`{msg_id}:tool{n}`. Receivers may rely on this: a `command.result` names its chip by it, and
the crud_worker runs each id at most once.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec

from bus.contract.rules import JobKind, Msg


class JobMessage(msgspec.Struct, frozen=True):
    role: str
    content: str


class LlmJob(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → broker job queue → exactly one llm_worker. Carries the whole prompt context."""

    msg_id: str
    messages: list[JobMessage]
    system: str = ""
    kind: JobKind = "chat"
    model: str = ""
    num_ctx: int = 8192
    tools: list[dict[str, Any]] = []  # native tool definitions; sent only if the model supports tools
    max_chars: int = 0  # the reply is cut (and the model stopped) past this; 0: the worker's own limit
    queued_at: float = 0.0
    expires_at: float = 0.0

    def expired(self) -> bool:
        return bool(self.expires_at) and time.time() > self.expires_at


class LlmStart(Msg, kw_only=True, omit_defaults=True):
    msg_id: str
    seq: int = 0
    worker: str
    backend: str
    model: str


class LlmDelta(Msg, kw_only=True, omit_defaults=True):
    msg_id: str
    seq: int
    text: str = ""
    thinking: str = ""


class ToolCallMsg(Msg, kw_only=True, omit_defaults=True):
    name: str
    arguments: dict[str, Any]
    id: str = ""


class LlmToolCall(Msg, kw_only=True, omit_defaults=True):
    """A native tool call, routed into the same validation and execution as embedded JSON."""

    msg_id: str
    seq: int
    call: ToolCallMsg


class Usage(Msg, kw_only=True, omit_defaults=True):
    """Token counts as the model server reported them; None where it did not (unknown, not zero).
    `cached_tokens`: of the prompt, those the server took from its prompt cache instead of evaluating
    them again (llama.cpp's `cache_n`); the prompt tokens evaluated are prompt_tokens - cached_tokens."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None


class Timing(Msg, kw_only=True, omit_defaults=True):
    """Measured by the llm_worker, the one process that sees the stream: `first_token_ms` from the
    request to the first text or thinking (None: nothing came), `total_ms` to the stream's end, and
    `tokens_per_s` the model's generation rate: the completion tokens after the first, over the time
    from the first to the last token (None where the server did not count its tokens, or sent them
    all at once: unknown, never 0)."""

    queued_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    tokens_per_s: float | None = None


class LlmDone(Msg, kw_only=True, omit_defaults=True):
    msg_id: str
    seq: int
    text: str
    status: Literal["done", "cancelled"]
    thinking: str = ""
    usage: Usage | None = None
    timing: Timing | None = None
    backend: str = ""
    model: str = ""
    tool_calls: list[ToolCallMsg] = []
    # Why the reply ended, when a person should know: "length" (cut at the model's token limit) or
    # "too_long" (stopped by us at GHOSTWIRE_MAX_REPLY_CHARS); "" for a reply that simply finished.
    stop_reason: str = ""  # a str, not a Literal: an unknown reason from a newer worker must not drop the end


class LlmError(Msg, kw_only=True, omit_defaults=True):
    msg_id: str
    seq: int
    error: str
    kind: str = "error"
    text: str = ""
    backend: str = ""
    model: str = ""


class LlmCancel(Msg, kw_only=True, omit_defaults=True):
    msg_id: str


class LlmResend(Msg, kw_only=True, omit_defaults=True):
    """Ask the workers to publish a reply's end again (PUB/SUB drops what a restarting peer missed).
    `msg_id="*"`: every reply they ended recently."""

    msg_id: str
