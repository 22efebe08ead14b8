"""Any OpenAI-compatible Chat Completions endpoint (OpenAI, Groq, vLLM, llama.cpp, LM Studio, Ollama /v1)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import httpx_sse
import msgspec

from bus.contract import CHARS_PER_TOKEN, shown_model
from llm_worker.backends import core, errors, openai_wire as wire
from llm_worker.backends.base import BackendError, ChatRequest, Done, Event, ModelInfo, TextDelta, ThinkingDelta, Usage

SERVICE = "The OpenAI-compatible endpoint"
NOT_CHAT = ("embed", "whisper", "tts", "dall-e", "moderation", "transcribe", "realtime", "audio", "image")
PER_MESSAGE_TOKENS = 8  # a chat template's role markers around each message
ROOM_MARGIN_TOKENS = 16  # left unused: a server that runs a token or two past max_tokens stays inside the context
CONTEXT_CODES = ("context_length_exceeded", "exceed_context_size_error")
_CONTEXT_IN_TEXT = re.compile(r"(?:maximum context length is|context window of|n_ctx[ =:]+)\s*(\d+)")


_chunk_decoder = msgspec.json.Decoder(wire.Chunk)


class _Reply:
    """What we have learned from the chunks so far."""

    def __init__(self, secret: str, context: int, service: str = SERVICE):
        self.secret, self.context, self.service = secret, context, service
        self.finish: str | None = None
        self.usage: Usage | None = None
        self.calls: dict[int, list[str]] = {}  # index -> [id, name, argument pieces...]
        self.output = False
        self.seen = False  # any event at all: a 200 with an empty body is llama.cpp's context overflow

    def feed(self, sse: httpx_sse.ServerSentEvent) -> list[Event]:
        self.seen = True
        if sse.data.strip() == "[DONE]":
            if self.finish is None:
                # llama-cpp-python ends a stream it interrupted (another request came) just like this.
                raise BackendError(f"{self.service} ended the reply without a finish reason: it was cut off (a "
                                   "server with one slot stops a reply when another request arrives).",
                                   kind="stream")
            return self.end()
        if sse.event == "error":
            raise BackendError(f"{self.service} failed mid-reply: {errors.error_text(sse.data.encode(), self.secret)}",
                               kind="stream")
        try:
            chunk = _chunk_decoder.decode(sse.data)
        except msgspec.ValidationError:
            raise BackendError(f"{self.service} sent an unexpected chunk: {sse.data[:120]!r}", kind="stream") from None
        except msgspec.DecodeError:
            raise BackendError(f"{self.service} sent data that is not JSON: {sse.data[:120]!r}",
                               kind="stream") from None
        if chunk.error or chunk.object == "error":
            err = chunk.error if chunk.error else {"message": chunk.message}
            text = err.get("message") if isinstance(err, dict) else err
            raise BackendError(f"{self.service} failed mid-reply: {errors.redact(str(text or err), self.secret)}",
                               kind="stream")
        if usage := chunk.usage or (chunk.x_groq.usage if chunk.x_groq else None):
            self.usage = Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                               cached_tokens=_cached(usage, chunk.timings))
        events: list[Event] = []
        for choice in chunk.choices or ():
            if choice.index != 0:
                continue  # we never ask for n > 1
            delta = choice.delta or wire.Delta()
            if delta.content or delta.reasoning or delta.reasoning_content or delta.tool_calls or choice.finish_reason:
                self.output = True
            if thinking := delta.reasoning or delta.reasoning_content:
                events.append(ThinkingDelta(thinking))
            if delta.content:
                events.append(TextDelta(delta.content))
            for part in delta.tool_calls or ():
                call = self.calls.setdefault(part.index, ["", ""])
                call[0] = part.id or call[0]
                if part.function is not None:
                    call[1] = part.function.name or call[1]
                    call.append(part.function.arguments or "")
            if choice.finish_reason == "error":
                raise BackendError(f"{self.service} ended the reply with an error.", kind="stream")
            self.finish = choice.finish_reason or self.finish
        return events

    def end(self) -> list[Event]:
        if self.finish is None:
            if not self.seen:
                raise errors.too_long(self.context, "the server answered with an empty stream")
            raise errors.closed_early(self.service, " (no [DONE] and no finish_reason)")
        calls = [core.tool_call(name, "".join(args), call_id)
                 for _, (call_id, name, *args) in sorted(self.calls.items())]
        return [*calls, *([self.usage] if self.usage else []), Done(reason=self.finish)]


class OpenAIBackend(core.HttpBackend):
    name = "openai"
    service = SERVICE
    chat_path = "/chat/completions"
    models_path = "/models"
    key_var = "OPENAI_API_KEY"

    def __init__(self, base_url: str = "https://api.openai.com/v1", api_key: str = "", model: str = "", *,
                 max_tokens: int | None = None, **kwargs):
        super().__init__(base_url, model, api_key=api_key, **kwargs)
        self.max_tokens = max_tokens
        self._ids: dict[str, str] = {}  # shown name -> the server's id (a file path on llama.cpp)
        self._learned = ""
        # How this server takes a reply schema: OpenAI's `json_schema` (OpenAI, vLLM, LM Studio, llama-server),
        # or `json_object` with a `schema` (llama-cpp-python, which refuses the first), learned on refusal.
        self.schema_form = "json_schema"
        # Local servers (llama.cpp, LM Studio) often serve one reply at a time and llama-cpp-python
        # interrupts the running one for any new request, so a local server that does not say how
        # many slots it has gets one request at a time; a remote API queues for itself.
        self.slots = 1 if is_local(self.url) else 0

    def unreachable(self) -> str:
        return f"{SERVICE} is not reachable at {self.url}. Check that it is running, or set OPENAI_BASE_URL."

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def status_error(self, status: int, body: bytes, headers: httpx.Headers, model: str) -> BackendError:
        text = errors.error_text(body, self._api_key)
        if status == 400 and (errors.error_code(body) in CONTEXT_CODES or "context" in text.lower()):
            n_ctx, found = errors.error_fields(body).get("n_ctx"), _CONTEXT_IN_TEXT.search(text)
            context = n_ctx if isinstance(n_ctx, int) else int(found.group(1)) if found else self.context
            return errors.too_long(context, f"the server refused it ({text.rstrip('.')})")
        return super().status_error(status, body, headers, model)

    def parse_models(self, body: bytes) -> list[ModelInfo]:
        cards = msgspec.json.decode(body, type=wire.Models).data or []
        self._ids = {shown_model(c.id): c.id for c in cards if c.id}
        self.context = next((c.max_model_len for c in cards if c.max_model_len), 0) or self.context
        return [ModelInfo(name=shown_model(c.id)) for c in cards if c.id]

    def choose(self, models: tuple[ModelInfo, ...]) -> tuple[str, str]:
        if self.model:
            return super().choose(models)
        chat = [m.name for m in models if not any(word in m.name.lower() for word in NOT_CHAT)]
        return (chat[0], "") if chat else ("", "No chat model listed; set LLM_MODEL.")

    async def learn(self, model: str) -> None:
        """llama-server's /props says its context (n_ctx) and slots; asked once per model."""
        if self._learned == model:
            return
        self._learned = model
        root = self.url.removesuffix("/v1")
        try:
            response = await self.client.get(f"{root}/props", headers=self.headers(), timeout=core.PROBE_TIMEOUT)
            props = msgspec.json.decode(response.content, type=wire.Props) if response.status_code == 200 else wire.Props()
        except (httpx.HTTPError, msgspec.DecodeError, msgspec.ValidationError):
            return  # not llama-server: the model list (vLLM's max_model_len) is all we know
        settings = props.default_generation_settings or wire.Settings()
        self.context = settings.n_ctx or self.context
        if props.total_slots:
            self.slots, self._gate = props.total_slots, None

    def wire_model(self, model: str) -> str:
        return self._ids.get(model, model)

    def body(self, request: ChatRequest, model: str) -> dict:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True,
                                "stream_options": {"include_usage": True}}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if limit := min(filter(None, (self.max_tokens, self.room(request))), default=0):
            body["max_tokens"] = limit
        if request.tools:
            body["tools"] = request.tools
        if request.schema is not None:
            body["response_format"] = _response_format(self.schema_form, request.schema)
        return body

    def room(self, request: ChatRequest) -> int:
        """Tokens the reply may use: the context less the prompt, so the server stops with `length` before
        the context is full (llama-cpp-python 0.3.36 streaming past it dies with a ValueError, and no
        finish reason). The context is the server's where it says it, else, on a local server, the one the
        crud_worker fitted the history to; a remote API without one is left to its own limit (0)."""
        context = self.context or (request.num_ctx if is_local(self.url) else 0)
        if not context:
            return 0
        texts = [request.system, *(m.content for m in request.messages)]
        prompt = sum(_tokens_at_most(t) + PER_MESSAGE_TOKENS for t in texts)
        return max(context - prompt - ROOM_MARGIN_TOKENS, 0)

    def refused(self, body: dict, error: BackendError) -> dict | None:
        """A server that refuses `json_schema` by name gets the schema the other way it is spelt."""
        form = body.get("response_format", {})
        if form.get("type") != "json_schema" or error.kind not in ("bad_request", "server") \
                or not _NAMES_FORMAT.search(error.message):
            return None
        self.schema_form = "json_object"
        return {**body, "response_format": _response_format(self.schema_form, form["json_schema"]["schema"])}

    def reply(self) -> _Reply:
        return _Reply(self._api_key, self.context, self.service)


def _cached(usage: wire.Usage, timings: wire.Timings | None) -> int | None:
    """The prompt tokens the server did not evaluate again: llama.cpp's `timings.cache_n`, else OpenAI's
    `prompt_tokens_details.cached_tokens`; None where neither is said (unknown, not 0)."""
    if timings is not None and timings.cache_n is not None:
        return timings.cache_n
    return usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None


def _tokens_at_most(text: str) -> int:
    """A prompt's tokens, over- rather than underestimated: ASCII at CHARS_PER_TOKEN, any other character
    one token (CJK text and emoji often take one or more each)."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    return -(-ascii_chars // CHARS_PER_TOKEN) + (len(text) - ascii_chars)


_NAMES_FORMAT = re.compile(r"response_format|json_schema|json_object")


def _response_format(form: str, schema: dict) -> dict:
    if form == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "ghostwire_reply", "schema": schema}}


def is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
