"""The one seam every model backend sits behind.

A backend turns a `ChatRequest` into an async stream of typed events and ends it with
exactly one `Done`, or raises `BackendError` with a message a person can act on.
Closing the generator (aclose / task cancellation) must close the upstream HTTP stream,
so cancelling a reply really stops the model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

import msgspec


class Message(msgspec.Struct, frozen=True):
    role: Literal["system", "user", "assistant", "tool"]
    content: str


class ChatRequest(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    messages: list[Message]
    system: str = ""
    num_ctx: int = 8192
    temperature: float | None = None
    tools: list[dict] | None = None
    # Structured-output mode: the JSON Schema the reply must follow (structured.py decodes it back to text).
    schema: dict | None = None


class TextDelta(msgspec.Struct, frozen=True, tag="text"):
    text: str


class ThinkingDelta(msgspec.Struct, frozen=True, tag="thinking"):
    text: str


class ToolCall(msgspec.Struct, frozen=True, tag="tool_call"):
    name: str
    arguments: dict
    id: str = ""


class Usage(msgspec.Struct, frozen=True, tag="usage"):
    """Token counts as the server reported them; None where it did not (unknown, not zero)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None  # of prompt_tokens, taken from the server's prompt cache (not evaluated)


class Done(msgspec.Struct, frozen=True, tag="done"):
    reason: str = "stop"  # "length": the model hit its token limit and the reply is cut there


Event = TextDelta | ThinkingDelta | ToolCall | Usage | Done

ErrorKind = Literal[
    "unreachable", "busy", "auth", "model_not_found", "rate_limited", "server", "bad_request", "stream", "timeout",
    "context",
]


class BackendError(Exception):
    """A failure worth showing to the person, phrased so they can fix it."""

    def __init__(self, message: str, *, kind: ErrorKind):
        super().__init__(message)
        self.message = message
        self.kind = kind


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    size: int = 0
    capabilities: tuple[str, ...] = ()


class Probe(msgspec.Struct, frozen=True, kw_only=True):
    """What a backend found when asked: is it there, which models, which one it would use."""

    reachable: bool
    busy: bool = False  # connected, but it did not answer in time: serving someone else's reply
    models: tuple[ModelInfo, ...] = ()
    model: str = ""
    detail: str = ""
    context: int = 0  # the model's context in tokens, where the server says it (0: unknown)


class Backend(Protocol):
    name: str
    streaming: int  # replies streaming now
    probe_while_streaming: bool  # False where a probe could cut a streaming reply off

    async def probe(self) -> Probe: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[Event]: ...
