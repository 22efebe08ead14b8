"""Anthropic's Messages API, streamed as named SSE events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

from llm_worker.backends import _http
from llm_worker.backends.base import (
    BackendError, ChatRequest, Done, Event, ModelInfo, Probe, TextDelta, ThinkingDelta, ToolCall, Usage,
)
from llm_worker.backends.sse import SSEStream

SERVICE = "Anthropic"
API_VERSION = "2023-06-01"
# Anthropic's stop reasons, in the vocabulary the other backends use.
# Events that mean the model is producing; message_start, content_block_start and ping come first.
OUTPUT_EVENTS = {"content_block_delta", "content_block_stop", "message_delta", "message_stop"}
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


_event_decoder = msgspec.json.Decoder(_Event)


class _Reply:
    def __init__(self) -> None:
        self.input_tokens = 0
        self.output_tokens = 0
        self.stop = "stop"
        self.tools: dict[int, dict] = {}
        self.output = False  # the model has produced something (see OUTPUT_EVENTS)

    def count(self, usage: _Usage | None) -> None:
        if usage is None:
            return
        if usage.input_tokens is not None:
            self.input_tokens = usage.input_tokens
        if usage.output_tokens is not None:
            self.output_tokens = usage.output_tokens  # cumulative, so the last value wins


class AnthropicBackend:
    name = "anthropic"

    def __init__(self, api_key: str, model: str = "", base_url: str = "https://api.anthropic.com", *,
                 max_tokens: int = 4096, first_token_timeout: float = 120, inter_token_timeout: float = 60,
                 client: httpx.AsyncClient | None = None):
        self._api_key = api_key
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.max_tokens = max_tokens
        self.first_token_timeout = first_token_timeout
        self.inter_token_timeout = inter_token_timeout
        self._client = client

    def __repr__(self) -> str:
        return f"AnthropicBackend(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def client(self) -> httpx.AsyncClient:
        self._client = _http.new_client(self._client)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key, "anthropic-version": API_VERSION}

    def _unreachable(self) -> str:
        return f"Anthropic is not reachable at {self.base_url}. Check the network, or set ANTHROPIC_BASE_URL."

    def _status_error(self, status: int, body: bytes, headers: httpx.Headers, model: str) -> BackendError:
        code = _http.error_code(body)
        if status in (401, 403):
            return BackendError(f"Anthropic refused the API key ({status}{', ' + code if code else ''}). "
                                "Check ANTHROPIC_API_KEY.", kind="auth")
        text = _http.error_text(body, self._api_key)
        retry_after = _http.parse_retry_after(headers)
        if status == 529 or code == "overloaded_error":
            return BackendError(f"Anthropic is overloaded right now ({status}); try again shortly.",
                                kind="server", retry_after=retry_after)
        if status == 404:
            return BackendError(f"Anthropic has no model '{model}' (404: {text.rstrip('.')}). Check LLM_MODEL.",
                                kind="model_not_found")
        return _http.status_error(status, text, service=SERVICE, retry_after=retry_after)

    async def list_models(self) -> list[ModelInfo]:
        try:
            response = await self.client.get(f"{self.base_url}/v1/models", headers=self._headers(),
                                             timeout=_http.PROBE_TIMEOUT)
        except httpx.TransportError:
            raise BackendError(self._unreachable(), kind="unreachable") from None
        if response.status_code != 200:
            raise self._status_error(response.status_code, response.content, response.headers, self.model)
        try:
            data = msgspec.json.decode(response.content).get("data") or []
        except (msgspec.DecodeError, AttributeError):
            raise BackendError(f"{self.base_url}/v1/models did not answer with a model list.", kind="server") from None
        return [ModelInfo(name=str(m["id"])) for m in data if isinstance(m, dict) and m.get("id")]

    async def probe(self) -> Probe:
        try:
            models = tuple(await self.list_models())
        except BackendError as exc:
            return Probe(reachable=False, detail=exc.message)
        if self.model:
            listed = any(m.name == self.model for m in models)
            return Probe(reachable=True, models=models, model=self.model,
                         detail="" if listed else f"'{self.model}' is not in Anthropic's model list.")
        # Haiku first: replies here are short and frequent, so speed and price beat depth.
        names = [m.name for m in models]
        by_family = (n for family in ("haiku", "sonnet", "opus") for n in names if family in n)
        chosen = next(by_family, names[0] if names else "")
        return Probe(reachable=True, models=models, model=chosen, detail="" if chosen else "No models listed.")

    def _body(self, request: ChatRequest, model: str) -> dict:
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

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        model = request.model or self.model
        if not model:
            raise BackendError("No Anthropic model chosen; set LLM_MODEL.", kind="bad_request")
        pacer = _http.Pacer(self.first_token_timeout, self.inter_token_timeout)
        http_request = self.client.build_request("POST", f"{self.base_url}/v1/messages",
                                                 json=self._body(request, model),
                                                 headers={**self._headers(), "Accept": "text/event-stream"})
        response = await pacer.send(self.client, http_request, SERVICE, self._unreachable())
        try:
            if response.status_code != 200:
                body = await _http.read_error_body(response)
                raise self._status_error(response.status_code, body, response.headers, model)
            reply = _Reply()
            events = SSEStream(response.aiter_bytes())
            while (sse := await pacer.next(events, SERVICE)) is not None:
                parsed = self._events(sse.event, sse.data, reply)
                if reply.output:
                    pacer.progress()
                for event in parsed:
                    yield event
                    if isinstance(event, Done):
                        return
            raise _http.closed_early(SERVICE, " (no message_stop)")
        finally:
            await response.aclose()

    def _events(self, name: str, data: str, reply: _Reply) -> list[Event]:
        try:
            ev = _event_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise BackendError(f"Anthropic sent an unreadable event: {data[:120]!r}", kind="stream") from None
        kind = ev.type or name
        reply.output = reply.output or kind in OUTPUT_EVENTS
        if kind == "error" or name == "error":
            raise self._stream_error(ev.error)
        if kind == "message_start" and ev.message is not None:
            reply.count(ev.message.usage)
        elif kind == "content_block_start" and ev.content_block is not None:
            block = ev.content_block
            if block.type == "tool_use":
                reply.tools[ev.index] = {"id": block.id, "name": block.name, "json": []}
            elif block.type == "text" and block.text:
                return [TextDelta(block.text)]
        elif kind == "content_block_delta" and ev.delta is not None:
            delta = ev.delta
            if delta.type == "text_delta" and delta.text:
                return [TextDelta(delta.text)]
            if delta.type == "thinking_delta" and delta.thinking:
                return [ThinkingDelta(delta.thinking)]
            if delta.type == "input_json_delta" and ev.index in reply.tools:
                reply.tools[ev.index]["json"].append(delta.partial_json)
        elif kind == "content_block_stop" and ev.index in reply.tools:
            return [_tool_call(reply.tools.pop(ev.index))]
        elif kind == "message_delta":
            reply.count(ev.usage)
            if ev.delta is not None and ev.delta.stop_reason:
                reply.stop = STOP_REASONS.get(ev.delta.stop_reason, ev.delta.stop_reason)
        elif kind == "message_stop":
            return [Usage(prompt_tokens=reply.input_tokens, completion_tokens=reply.output_tokens),
                    Done(reason=reply.stop)]
        return []  # ping and event types we do not know yet

    def _stream_error(self, error: Any) -> BackendError:
        err = error if isinstance(error, dict) else {}
        text = _http.redact(str(err.get("message") or error or "unknown error"), self._api_key)
        if err.get("type") == "overloaded_error":
            return BackendError(f"Anthropic is overloaded right now and stopped mid-reply ({text}); try again shortly.",
                                kind="server")
        if err.get("type") == "rate_limit_error":
            return BackendError(f"Anthropic is rate limiting us: {text}", kind="rate_limited")
        return BackendError(f"Anthropic failed mid-reply: {text}", kind="stream")


def _tool_call(tool: dict) -> ToolCall:
    text = "".join(tool["json"]) or "{}"
    try:
        args = msgspec.json.decode(text)
    except msgspec.DecodeError:
        raise BackendError(f"The model's call to '{tool['name']}' had arguments that are not JSON.",
                           kind="stream") from None
    return ToolCall(name=tool["name"], arguments=args if isinstance(args, dict) else {}, id=tool["id"])


def _anthropic_tool(tool: dict) -> dict:
    """Accept tools in the OpenAI/Ollama shape ({"type": "function", "function": {...}}) or Anthropic's own."""
    fn = tool.get("function")
    if not isinstance(fn, dict):
        return tool
    return {"name": fn.get("name", ""), "description": fn.get("description", ""),
            "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}}
