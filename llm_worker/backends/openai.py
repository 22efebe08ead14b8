"""Any OpenAI-compatible Chat Completions endpoint (OpenAI, Groq, vLLM, llama.cpp, LM Studio, Ollama /v1)."""

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

SERVICE = "The OpenAI-compatible endpoint"
NOT_CHAT = ("embed", "whisper", "tts", "dall-e", "moderation", "transcribe", "realtime", "audio", "image")


class _Function(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _ToolCallPart(msgspec.Struct):
    index: int = 0
    id: str | None = None
    function: _Function | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    reasoning: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[_ToolCallPart] | None = None


class _Choice(msgspec.Struct):
    index: int = 0
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Groq(msgspec.Struct):
    usage: _Usage | None = None


class _Chunk(msgspec.Struct):
    choices: list[_Choice] | None = None
    usage: _Usage | None = None
    x_groq: _Groq | None = None
    error: Any = None
    object: str = ""
    message: Any = None  # old vLLM error shape: {"object": "error", "message": ...}


class _Models(msgspec.Struct):
    data: list[dict] | None = None  # null on Ollama's /v1 with no models


_chunk_decoder = msgspec.json.Decoder(_Chunk)


class _Reply:
    """What we have learned from the chunks so far."""

    def __init__(self) -> None:
        self.finish: str | None = None
        self.usage: Usage | None = None
        self.calls: dict[int, dict] = {}
        self.output = False  # the model has produced something (a role-only chunk is not output)

    def tool_calls(self) -> list[ToolCall]:
        out = []
        for _, call in sorted(self.calls.items()):
            text = "".join(call["args"]) or "{}"
            try:
                args = msgspec.json.decode(text)
            except msgspec.DecodeError:
                raise BackendError(f"The model's call to '{call['name']}' had arguments that are not JSON.",
                                   kind="stream") from None
            out.append(ToolCall(name=call["name"], arguments=args if isinstance(args, dict) else {}, id=call["id"]))
        return out


class OpenAIBackend:
    name = "openai"

    def __init__(self, base_url: str = "https://api.openai.com/v1", api_key: str = "", model: str = "", *,
                 first_token_timeout: float = 120, inter_token_timeout: float = 60,
                 max_tokens: int | None = None, client: httpx.AsyncClient | None = None):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.model = model
        self.first_token_timeout = first_token_timeout
        self.inter_token_timeout = inter_token_timeout
        self.max_tokens = max_tokens
        self._client = client

    def __repr__(self) -> str:
        return f"OpenAIBackend(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def client(self) -> httpx.AsyncClient:
        self._client = _http.new_client(self._client)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _unreachable(self) -> str:
        return f"{SERVICE} is not reachable at {self.base_url}. Check that it is running, or set OPENAI_BASE_URL."

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _status_error(self, status: int, body: bytes, headers: httpx.Headers, model: str) -> BackendError:
        if status in (401, 403):
            # The server's text may echo part of the key, so only its error code goes into the message.
            code = _http.error_code(body)
            return BackendError(f"{self.base_url} refused the API key ({status}{', ' + code if code else ''}). "
                                "Check OPENAI_API_KEY.", kind="auth")
        text = _http.error_text(body, self._api_key)
        if status == 404:
            return BackendError(f"{self.base_url} has no model '{model}' (404: {text.rstrip('.')}). Check LLM_MODEL.",
                                kind="model_not_found")
        return _http.status_error(status, text, service=f"{SERVICE} at {self.base_url}",
                                  retry_after=_http.parse_retry_after(headers))

    async def list_models(self) -> list[ModelInfo]:
        try:
            response = await self.client.get(f"{self.base_url}/models", headers=self._headers(),
                                             timeout=_http.PROBE_TIMEOUT)
        except httpx.TransportError:
            raise BackendError(self._unreachable(), kind="unreachable") from None
        if response.status_code != 200:
            raise self._status_error(response.status_code, response.content, response.headers, self.model)
        try:
            data = msgspec.json.decode(response.content, type=_Models).data or []
        except msgspec.DecodeError:
            raise BackendError(f"{self.base_url}/models did not answer with a model list.", kind="server") from None
        return [ModelInfo(name=str(m["id"])) for m in data if m.get("id")]

    async def probe(self) -> Probe:
        try:
            models = tuple(await self.list_models())
        except BackendError as exc:
            return Probe(reachable=False, detail=exc.message)
        if self.model:
            listed = any(m.name == self.model for m in models)
            return Probe(reachable=True, models=models, model=self.model,
                         detail="" if listed else f"'{self.model}' is not in {self.base_url}/models.")
        chat = [m.name for m in models if not any(word in m.name.lower() for word in NOT_CHAT)]
        return Probe(reachable=True, models=models, model=chat[0] if chat else "",
                     detail="" if chat else "No chat model listed; set LLM_MODEL.")

    def _body(self, request: ChatRequest, model: str) -> dict:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True,
                                "stream_options": {"include_usage": True}}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if self.max_tokens:
            body["max_tokens"] = self.max_tokens
        if request.tools:
            body["tools"] = request.tools
        return body

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        model = request.model or self.model
        if not model:
            raise BackendError("No model chosen for the OpenAI-compatible endpoint; set LLM_MODEL.",
                               kind="bad_request")
        pacer = _http.Pacer(self.first_token_timeout, self.inter_token_timeout)
        http_request = self.client.build_request("POST", f"{self.base_url}/chat/completions",
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
                if sse.data.strip() == "[DONE]":
                    break
                if sse.event == "error":
                    detail = _http.error_text(sse.data.encode(), self._api_key)
                    raise BackendError(f"{SERVICE} failed mid-reply: {detail}", kind="stream")
                parsed = self._events(sse.data, reply)
                if reply.output:
                    pacer.progress()
                for event in parsed:
                    yield event
            else:
                if reply.finish is None:
                    raise _http.closed_early(SERVICE, " (no [DONE] and no finish_reason)")
            for call in reply.tool_calls():
                yield call
            yield reply.usage or Usage()
            yield Done(reason=reply.finish or "stop")
        finally:
            await response.aclose()

    def _events(self, data: str, reply: _Reply) -> list[Event]:
        try:
            chunk = _chunk_decoder.decode(data)
        except msgspec.ValidationError:
            raise BackendError(f"{SERVICE} sent an unexpected chunk: {data[:120]!r}", kind="stream") from None
        except msgspec.DecodeError:
            raise BackendError(f"{SERVICE} sent data that is not JSON: {data[:120]!r}", kind="stream") from None
        if chunk.error or chunk.object == "error":
            err = chunk.error if chunk.error else {"message": chunk.message}
            text = err.get("message") if isinstance(err, dict) else err
            raise BackendError(f"{SERVICE} failed mid-reply: {_http.redact(str(text or err), self._api_key)}",
                               kind="stream")
        usage = chunk.usage or (chunk.x_groq.usage if chunk.x_groq else None)
        if usage is not None:
            reply.usage = Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens)
        events: list[Event] = []
        for choice in chunk.choices or ():
            if choice.index != 0:
                continue  # we never ask for n > 1
            delta = choice.delta or _Delta()
            if delta.content or delta.reasoning or delta.reasoning_content or delta.tool_calls or choice.finish_reason:
                reply.output = True
            if thinking := delta.reasoning or delta.reasoning_content:
                events.append(ThinkingDelta(thinking))
            if delta.content:
                events.append(TextDelta(delta.content))
            for part in delta.tool_calls or ():
                call = reply.calls.setdefault(part.index, {"id": "", "name": "", "args": []})
                call["id"] = part.id or call["id"]
                if part.function is not None:
                    call["name"] = part.function.name or call["name"]
                    call["args"].append(part.function.arguments or "")
            if choice.finish_reason == "error":
                raise BackendError(f"{SERVICE} ended the reply with an error.", kind="stream")
            if choice.finish_reason:
                reply.finish = choice.finish_reason
        return events
