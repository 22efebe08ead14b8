"""Ollama's native API: POST /api/chat as NDJSON, GET /api/tags, POST /api/show, POST /api/pull."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

from llm_worker.backends import core, errors
from llm_worker.backends.base import BackendError, ChatRequest, Done, Event, ModelInfo, TextDelta, ThinkingDelta, Usage
from llm_worker.backends.ollama_models import find, normalize_host, parse_tags, pick_chat_model, to_info

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
    prompt_eval_count: int | None = None
    eval_count: int | None = None
    error: Any = None


class _Show(msgspec.Struct):
    model_info: dict[str, Any] | None = None


_line_decoder = msgspec.json.Decoder(_Line)


class _Reply:
    def __init__(self) -> None:
        self.output = False

    def feed(self, line: str) -> list[Event]:
        if not line.strip():
            return []
        try:
            part = _line_decoder.decode(line)
        except msgspec.DecodeError:
            raise BackendError(f"Ollama sent a line that is not JSON: {line[:120]!r}", kind="stream") from None
        if part.error:
            raise BackendError(f"Ollama failed mid-reply: {part.error}", kind="stream")
        message = part.message or _Message()
        events: list[Event] = []
        if message.thinking:
            events.append(ThinkingDelta(message.thinking))
        if message.content:
            events.append(TextDelta(message.content))
        events += [core.tool_call(c.function.name, c.function.arguments, c.id) for c in message.tool_calls or ()]
        if part.done:
            if part.prompt_eval_count is not None or part.eval_count is not None:
                events.append(Usage(prompt_tokens=part.prompt_eval_count, completion_tokens=part.eval_count))
            events.append(Done(reason=part.done_reason or "stop"))
        self.output = self.output or bool(events)
        return events

    def end(self) -> list[Event]:
        raise errors.closed_early("Ollama")


class OllamaBackend(core.HttpBackend):
    name = "ollama"
    service = "Ollama"
    chat_path = "/api/chat"
    models_path = "/api/tags"
    sse = False
    probe_while_streaming = True  # Ollama queues requests; a pulled model shows up at once

    def __init__(self, host: str, model: str = "", **kwargs):
        super().__init__(normalize_host(host), model, **kwargs)
        self._capabilities: dict[str, tuple[str, ...]] = {}
        self._contexts: dict[str, int] = {}

    @property
    def host(self) -> str:
        return self.url

    def unreachable(self) -> str:
        return f"Ollama is not reachable at {self.url}. Start it with `ollama serve` or set OLLAMA_HOST."

    def status_error(self, status: int, body: bytes, headers: httpx.Headers, model: str) -> BackendError:
        text = errors.error_text(body)
        if status == 404:
            return BackendError(f"Ollama has no model '{model}'. Run `ollama pull {model}`.", kind="model_not_found")
        if status == 401:
            return BackendError(f"Ollama needs you signed in for '{model}': run `ollama signin` ({text}).", kind="auth")
        return errors.status_error(status, text, service=self.service, retry_after=errors.parse_retry_after(headers))

    def parse_models(self, body: bytes) -> list[ModelInfo]:
        infos = [to_info(e) for e in parse_tags(body)]
        self._capabilities = {i.name: i.capabilities for i in infos}
        return infos

    def choose(self, models: tuple[ModelInfo, ...]) -> tuple[str, str]:
        if self.model:
            found = find(models, self.model)
            return self.model, "" if found else f"Model '{self.model}' is not installed. Run `ollama pull {self.model}`."
        chosen = pick_chat_model(models)
        return chosen, "" if chosen else \
            f"Ollama is running but has no chat model installed. Run `ollama pull {SUGGESTED_MODEL}`."

    async def learn(self, model: str) -> None:
        """The model's trained context from /api/show (`<arch>.context_length`), asked once per model."""
        if model not in self._contexts:
            try:
                response = await self.client.post(f"{self.url}/api/show", json={"model": model},
                                                  timeout=core.PROBE_TIMEOUT)
                info = msgspec.json.decode(response.content, type=_Show).model_info or {} \
                    if response.status_code == 200 else {}
            except (httpx.HTTPError, msgspec.DecodeError, msgspec.ValidationError):
                return  # unknown for now; asked again at the next probe
            arch = info.get("general.architecture", "")
            length = info.get(f"{arch}.context_length")
            self._contexts[model] = length if isinstance(length, int) else 0
        self.context = self._contexts[model]

    async def resolve(self, request: ChatRequest) -> str:
        """The model to use, with its capabilities looked up once (to know whether `think` is allowed)."""
        model = request.model or self.model
        if not model:
            found = await self.probe()
            if not found.reachable:
                raise BackendError(self.unreachable(), kind="unreachable")
            if not (model := found.model):
                raise BackendError(f"No chat model is installed in Ollama. Run `ollama pull {SUGGESTED_MODEL}`.",
                                   kind="model_not_found")
        if self._known(model) is None:  # first use, or pulled since we last looked
            try:
                await self.list_models()
            except BackendError as exc:
                if exc.kind == "unreachable":
                    raise
                # Without capabilities we simply omit `think`, which every model accepts.
        return model

    def _known(self, model: str) -> ModelInfo | None:
        return find([ModelInfo(name=n, capabilities=c) for n, c in self._capabilities.items()], model)

    def body(self, request: ChatRequest, model: str) -> dict:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        options: dict[str, Any] = {"num_ctx": request.num_ctx}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True, "options": options}
        if "thinking" in (info.capabilities if (info := self._known(model)) else ()):
            # Thinking-capable models think by default, which is a long silent gap before the answer.
            # Only these models accept the field at all: sending it to others is a 400.
            body["think"] = False
        if request.tools:
            body["tools"] = request.tools
        if request.schema is not None:
            body["format"] = request.schema  # Ollama 0.5+: a JSON Schema the reply is constrained to
        return body

    def reply(self) -> _Reply:
        return _Reply()

    async def pull(self, name: str) -> AsyncIterator[dict]:
        """Progress objects from /api/pull: {status, digest?, total?, completed?}."""
        pacer = core.Pacer(self.first_token_timeout, max(self.inter_token_timeout, 120), self.service)
        async with self.open(pacer, "/api/pull", {"model": name, "stream": True}, name) as lines:
            while (line := await pacer.next(lines)) is not None:
                if not line.strip():
                    continue
                try:
                    progress = msgspec.json.decode(line)
                except msgspec.DecodeError:
                    raise BackendError(f"Ollama sent a pull line that is not JSON: {line[:120]!r}",
                                       kind="stream") from None
                if isinstance(progress, dict) and progress.get("error"):
                    raise BackendError(f"Pulling '{name}' failed: {progress['error']}", kind="stream")
                pacer.started = True
                yield progress
                if isinstance(progress, dict) and progress.get("status") == "success":
                    return
            raise errors.closed_early(self.service, f" while pulling '{name}'")
