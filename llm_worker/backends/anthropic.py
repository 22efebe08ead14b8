"""Anthropic's Messages API, streamed as named SSE events."""

from __future__ import annotations

from typing import Any

import httpx
import httpx_sse
import msgspec

from llm_worker.backends import core, errors
from llm_worker.backends.base import BackendError, ChatRequest, Done, Event, ModelInfo, TextDelta, ThinkingDelta, Usage

SERVICE = "Anthropic"
API_VERSION = "2023-06-01"
# Events that mean the model is producing; message_start, content_block_start and ping come first.
OUTPUT_EVENTS = {"content_block_delta", "content_block_stop", "message_delta", "message_stop"}
# Anthropic's stop reasons, in the vocabulary the other backends use.
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


class _Block(msgspec.Struct):
    type: str = ""
    text: str = ""
    thinking: str = ""
    partial_json: str = ""
    id: str = ""
    name: str = ""
    input: Any = None
    stop_reason: str | None = None


class _Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None


class _Message(msgspec.Struct):
    usage: _Usage | None = None


class _Event(msgspec.Struct):
    type: str = ""
    index: int = 0
    message: _Message | None = None
    content_block: _Block | None = None
    delta: _Block | None = None
    usage: _Usage | None = None
    error: Any = None


class _Card(msgspec.Struct):
    id: str = ""


class _Models(msgspec.Struct):
    data: list[_Card] | None = None


_event_decoder = msgspec.json.Decoder(_Event)


class _Reply:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.stop = "stop"
        self.tools: dict[int, list[str]] = {}  # index -> [id, name, json pieces...]
        self.output = False  # the model has produced something (see OUTPUT_EVENTS)

    def count(self, usage: _Usage | None) -> None:
        if usage is None:
            return
        if usage.input_tokens is not None:
            self.input_tokens = usage.input_tokens
        if usage.output_tokens is not None:
            self.output_tokens = usage.output_tokens  # cumulative, so the last value wins

    def feed(self, sse: httpx_sse.ServerSentEvent) -> list[Event]:
        try:
            ev = _event_decoder.decode(sse.data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise BackendError(f"Anthropic sent an unreadable event: {sse.data[:120]!r}", kind="stream") from None
        kind = ev.type or sse.event
        self.output = self.output or kind in OUTPUT_EVENTS
        if kind == "error" or sse.event == "error":
            raise self._error(ev.error)
        if kind == "message_start" and ev.message is not None:
            self.count(ev.message.usage)
        elif kind == "content_block_start" and ev.content_block is not None:
            block = ev.content_block
            if block.type == "tool_use":
                self.tools[ev.index] = [block.id, block.name]
            elif block.type == "text" and block.text:
                return [TextDelta(block.text)]
        elif kind == "content_block_delta" and ev.delta is not None:
            delta = ev.delta
            if delta.type == "text_delta" and delta.text:
                return [TextDelta(delta.text)]
            if delta.type == "thinking_delta" and delta.thinking:
                return [ThinkingDelta(delta.thinking)]
            if delta.type == "input_json_delta" and ev.index in self.tools:
                self.tools[ev.index].append(delta.partial_json)
        elif kind == "content_block_stop" and ev.index in self.tools:
            call_id, name, *parts = self.tools.pop(ev.index)
            return [core.tool_call(name, "".join(parts), call_id)]
        elif kind == "message_delta":
            self.count(ev.usage)
            if ev.delta is not None and ev.delta.stop_reason:
                self.stop = STOP_REASONS.get(ev.delta.stop_reason, ev.delta.stop_reason)
        elif kind == "message_stop":
            known = self.input_tokens is not None or self.output_tokens is not None
            usage = [Usage(prompt_tokens=self.input_tokens, completion_tokens=self.output_tokens)] if known else []
            return [*usage, Done(reason=self.stop)]
        return []  # ping and event types we do not know yet

    def end(self) -> list[Event]:
        raise errors.closed_early(SERVICE, " (no message_stop)")

    def _error(self, error: Any) -> BackendError:
        err = error if isinstance(error, dict) else {}
        text = errors.redact(str(err.get("message") or error or "unknown error"), self.secret)
        if err.get("type") == "overloaded_error":
            return BackendError(f"Anthropic is overloaded right now and stopped mid-reply ({text}); try again shortly.",
                                kind="server")
        if err.get("type") == "rate_limit_error":
            return BackendError(f"Anthropic is rate limiting us: {text}", kind="rate_limited")
        return BackendError(f"Anthropic failed mid-reply: {text}", kind="stream")


class AnthropicBackend(core.HttpBackend):
    name = "anthropic"
    service = SERVICE
    chat_path = "/v1/messages"
    models_path = "/v1/models"
    key_var = "ANTHROPIC_API_KEY"

    def __init__(self, api_key: str, model: str = "", base_url: str = "https://api.anthropic.com", *,
                 max_tokens: int = 4096, first_token_timeout: float = 120, **kwargs):
        super().__init__(base_url, model, api_key=api_key, first_token_timeout=first_token_timeout, **kwargs)
        self.max_tokens = max_tokens

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key, "anthropic-version": API_VERSION}

    def unreachable(self) -> str:
        return f"Anthropic is not reachable at {self.url}. Check the network, or set ANTHROPIC_BASE_URL."

    def status_error(self, status: int, body: bytes, headers: httpx.Headers, model: str) -> BackendError:
        if status == 529 or errors.error_code(body) == "overloaded_error":
            return BackendError(f"Anthropic is overloaded right now ({status}); try again shortly.", kind="server")
        return super().status_error(status, body, headers, model)

    def parse_models(self, body: bytes) -> list[ModelInfo]:
        data = msgspec.json.decode(body, type=_Models).data or []
        return [ModelInfo(name=m.id) for m in data if m.id]

    def choose(self, models: tuple[ModelInfo, ...]) -> tuple[str, str]:
        if self.model or not models:
            return super().choose(models)
        # Haiku first: replies here are short and frequent, so speed and price beat depth.
        names = [m.name for m in models]
        return next((n for family in ("haiku", "sonnet", "opus") for n in names if family in n), names[0]), ""

    def body(self, request: ChatRequest, model: str) -> dict:
        # Anthropic takes the system prompt as a field and only user/assistant turns.
        system = [request.system] if request.system else []
        messages = []
        for m in request.messages:
            if m.role == "system":
                system.append(m.content)
            else:
                messages.append({"role": "assistant" if m.role == "assistant" else "user", "content": m.content})
        body: dict[str, Any] = {"model": model, "max_tokens": self.max_tokens, "stream": True, "messages": messages}
        if system:
            body["system"] = "\n\n".join(system)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.tools:
            body["tools"] = [_anthropic_tool(t) for t in request.tools]
        return body

    def reply(self) -> _Reply:
        return _Reply(self._api_key)


def _anthropic_tool(tool: dict) -> dict:
    """Accept tools in the OpenAI/Ollama shape ({"type": "function", "function": {...}}) or Anthropic's own."""
    fn = tool.get("function")
    if not isinstance(fn, dict):
        return tool
    return {"name": fn.get("name", ""), "description": fn.get("description", ""),
            "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}}
