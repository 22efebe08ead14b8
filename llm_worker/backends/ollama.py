"""Ollama's native API: POST /api/chat as NDJSON, GET /api/tags, POST /api/pull."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

from llm_worker.backends import _http
from llm_worker.backends.base import (
    BackendError, ChatRequest, Done, Event, ModelInfo, Probe, TextDelta, ThinkingDelta, ToolCall, Usage,
)
from llm_worker.backends.ollama_models import find, normalize_host, parse_tags, pick_chat_model, to_info

SERVICE = "Ollama"
SUGGESTED_MODEL = "llama3.2"


class _Function(msgspec.Struct):
    name: str = ""
    arguments: Any = None


class _ToolCall(msgspec.Struct):
    function: _Function
    id: str = ""


class _Message(msgspec.Struct):
    content: str = ""
    thinking: str = ""
    tool_calls: list[_ToolCall] | None = None


class _Line(msgspec.Struct):
    message: _Message | None = None
    done: bool = False
    done_reason: str = ""
    prompt_eval_count: int = 0
    eval_count: int = 0
    error: Any = None


_line_decoder = msgspec.json.Decoder(_Line)


class OllamaBackend:
    name = "ollama"

    def __init__(self, host: str, model: str = "", *, first_token_timeout: float = 300,
                 inter_token_timeout: float = 60, client: httpx.AsyncClient | None = None):
        self.host = normalize_host(host)
        self.model = model
        self.first_token_timeout = first_token_timeout
        self.inter_token_timeout = inter_token_timeout
        self._client = client
        self._capabilities: dict[str, tuple[str, ...]] = {}

    def __repr__(self) -> str:
        return f"OllamaBackend(host={self.host!r}, model={self.model!r})"

    @property
    def client(self) -> httpx.AsyncClient:
        self._client = _http.new_client(self._client)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _unreachable(self) -> BackendError:
        return BackendError(f"Ollama is not reachable at {self.host}. Start it with `ollama serve` or set OLLAMA_HOST.",
                            kind="unreachable")

    async def _status_error(self, response: httpx.Response, model: str) -> BackendError:
        text = _http.error_text(await _http.read_error_body(response))
        status = response.status_code
        if status == 404:
            return BackendError(f"Ollama has no model '{model}'. Run `ollama pull {model}`.", kind="model_not_found")
        if status == 401:
            return BackendError(f"Ollama needs you signed in for '{model}': run `ollama signin` ({text}).", kind="auth")
        return _http.status_error(status, text, service=SERVICE, retry_after=_http.parse_retry_after(response.headers))

    async def list_models(self) -> list[ModelInfo]:
        try:
            response = await self.client.get(f"{self.host}/api/tags", timeout=_http.PROBE_TIMEOUT)
        except httpx.TransportError:
            raise self._unreachable() from None
        if response.status_code != 200:
            raise _http.status_error(response.status_code, _http.error_text(response.content), service=SERVICE,
                                     retry_after=None)
        try:
            infos = [to_info(e) for e in parse_tags(response.content)]
        except msgspec.DecodeError:
            raise BackendError(f"{self.host} answered /api/tags with something that is not Ollama's model list.",
                               kind="server") from None
        self._capabilities = {i.name: i.capabilities for i in infos}
        return infos

    async def probe(self) -> Probe:
        try:
            models = tuple(await self.list_models())
        except BackendError as exc:
            return Probe(reachable=False, detail=exc.message)
        if self.model:
            detail = "" if find(models, self.model) else \
                f"Model '{self.model}' is not installed. Run `ollama pull {self.model}`."
            return Probe(reachable=True, models=models, model=self.model, detail=detail)
        chosen = pick_chat_model(models)
        detail = "" if chosen else \
            f"Ollama is running but has no chat model installed. Run `ollama pull {SUGGESTED_MODEL}`."
        return Probe(reachable=True, models=models, model=chosen, detail=detail)

    async def _resolve(self, request: ChatRequest) -> tuple[str, tuple[str, ...]]:
        """The model to use and its capabilities (looked up once, to know whether `think` is allowed)."""
        model = request.model or self.model
        if not model:
            found = await self.probe()
            if not found.reachable:
                raise self._unreachable()
            model = found.model
            if not model:
                raise BackendError(f"No chat model is installed in Ollama. Run `ollama pull {SUGGESTED_MODEL}`.",
                                   kind="model_not_found")
        info = self._known(model)
        if info is None:  # first use, or pulled since we last looked
            try:
                await self.list_models()
            except BackendError as exc:
                if exc.kind == "unreachable":
                    raise self._unreachable() from None
                # Without capabilities we simply omit `think`, which every model accepts.
            info = self._known(model)
        return model, info.capabilities if info else ()

    def _known(self, model: str) -> ModelInfo | None:
        return find([ModelInfo(name=n, capabilities=c) for n, c in self._capabilities.items()], model)

    def _body(self, request: ChatRequest, model: str, capabilities: tuple[str, ...]) -> dict:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        options: dict[str, Any] = {"num_ctx": request.num_ctx}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True, "options": options}
        if "thinking" in capabilities:
            # Thinking-capable models think by default, which is a long silent gap before the answer.
            # Only these models accept the field at all: sending it to others is a 400.
            body["think"] = False
        if request.tools:
            body["tools"] = request.tools
        return body

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        pacer = _http.Pacer(self.first_token_timeout, self.inter_token_timeout)
        model, capabilities = await self._resolve(request)
        http_request = self.client.build_request("POST", f"{self.host}/api/chat",
                                                 json=self._body(request, model, capabilities),
                                                 headers={"Accept": "application/x-ndjson"})
        response = await pacer.send(self.client, http_request, SERVICE, self._unreachable().message)
        try:
            if response.status_code != 200:
                raise await self._status_error(response, model)
            lines = response.aiter_lines()
            while (line := await pacer.next(lines, SERVICE)) is not None:
                if not line.strip():
                    continue
                events = self._events(line)
                if events:
                    pacer.progress()
                for event in events:
                    yield event
                    if isinstance(event, Done):
                        return
            raise _http.closed_early(SERVICE)
        finally:
            await response.aclose()

    def _events(self, line: str) -> list[Event]:
        try:
            part = _line_decoder.decode(line)
        except msgspec.DecodeError:
            raise BackendError(f"Ollama sent a line that is not JSON: {line[:120]!r}", kind="stream") from None
        if part.error:
            raise BackendError(f"Ollama failed mid-reply: {part.error}", kind="stream")
        events: list[Event] = []
        message = part.message or _Message()
        if message.thinking:
            events.append(ThinkingDelta(message.thinking))
        if message.content:
            events.append(TextDelta(message.content))
        for call in message.tool_calls or ():
            events.append(ToolCall(name=call.function.name, arguments=_arguments(call.function.arguments), id=call.id))
        if part.done:
            events.append(Usage(prompt_tokens=part.prompt_eval_count, completion_tokens=part.eval_count))
            events.append(Done(reason=part.done_reason or "stop"))
        return events

    async def pull(self, name: str) -> AsyncIterator[dict]:
        """Progress objects from /api/pull: {status, digest?, total?, completed?}."""
        pacer = _http.Pacer(self.first_token_timeout, max(self.inter_token_timeout, 120))
        http_request = self.client.build_request("POST", f"{self.host}/api/pull", json={"model": name, "stream": True})
        response = await pacer.send(self.client, http_request, SERVICE, self._unreachable().message)
        try:
            if response.status_code != 200:
                raise await self._status_error(response, name)
            lines = response.aiter_lines()
            while (line := await pacer.next(lines, SERVICE)) is not None:
                if not line.strip():
                    continue
                try:
                    progress = msgspec.json.decode(line)
                except msgspec.DecodeError:
                    raise BackendError(f"Ollama sent a pull line that is not JSON: {line[:120]!r}",
                                       kind="stream") from None
                if isinstance(progress, dict) and progress.get("error"):
                    raise BackendError(f"Pulling '{name}' failed: {progress['error']}", kind="stream")
                pacer.progress()
                yield progress
                if isinstance(progress, dict) and progress.get("status") == "success":
                    return
            raise _http.closed_early(SERVICE, f" while pulling '{name}'")
        finally:
            await response.aclose()


def _arguments(value: Any) -> dict:
    """Ollama sends an object; some builds and proxies send the OpenAI-style JSON string instead."""
    if isinstance(value, str):
        try:
            value = msgspec.json.decode(value)
        except msgspec.DecodeError:
            raise BackendError(f"Ollama sent tool-call arguments that are not JSON: {value[:120]!r}",
                               kind="stream") from None
    return value if isinstance(value, dict) else {}
