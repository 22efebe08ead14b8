"""The streaming core every HTTP backend shares: the client, the model list and probe, the stream
loop with its timeouts, and tool-argument decoding; how a failure reads is errors.py. A provider
(ollama.py, openai.py, anthropic.py) says only what differs: paths, the request body, how a chunk
becomes events, how an error reads. Every httpx failure leaves here as a BackendError, the one
exception base.py promises.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import httpx
import httpx_sse
import msgspec

from llm_worker.backends.base import BackendError, ChatRequest, Done, Event, ModelInfo, Probe, TextDelta, ToolCall
from llm_worker.backends.errors import (closed_early, error_code, error_text, parse_retry_after, read_error_body,
                                         status_error)
from llm_worker.backends.structured import ReplyDecoder

# Reads are unbounded at the httpx level: a cold model load can take minutes before the
# first byte. Our own first-token / inter-token timeouts (Pacer) bound the wait instead.
HTTPX_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=30.0, pool=10.0)
# Listing models is never slow on an idle server, and a probe must not hang the worker.
PROBE_TIMEOUT = httpx.Timeout(10.0)


class Reply(Protocol):
    """One reply's decoding state: items (NDJSON lines or SSE events) in, typed events out."""

    output: bool  # the model has produced something (preamble such as a role-only chunk is not output)

    def feed(self, item: Any) -> list[Event]: ...

    def end(self) -> list[Event]:
        """At the end of the body: the last events, or raise because the reply was cut off."""


class Pacer:
    """First-token deadline, then a per-item gap limit.

    The deadline covers connect, headers and every item up to the first piece of model output;
    from then on the gap between items is what is limited.
    """

    def __init__(self, first_timeout: float, inter_timeout: float, service: str):
        self.first_timeout, self.inter_timeout, self.service = first_timeout, inter_timeout, service
        self.deadline = asyncio.get_running_loop().time() + first_timeout
        self.started = False

    def _scope(self) -> asyncio.Timeout:
        return asyncio.timeout(self.inter_timeout) if self.started else asyncio.timeout_at(self.deadline)

    def error(self) -> BackendError:
        if self.started:
            return BackendError(
                f"The model stopped sending for {self.inter_timeout:g} s in the middle of a reply "
                "(inter-token timeout; raise LLM_INTER_TOKEN_TIMEOUT if it is just slow).", kind="timeout")
        return BackendError(
            f"No reply from the model within {self.first_timeout:g} s (first-token timeout; a cold model load "
            "can take a while, raise LLM_FIRST_TOKEN_TIMEOUT if needed).", kind="timeout")

    async def send(self, client: httpx.AsyncClient, request: httpx.Request, unreachable: str) -> httpx.Response:
        try:
            async with self._scope():
                return await client.send(request, stream=True)
        except TimeoutError:
            raise self.error() from None
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise BackendError(unreachable, kind="unreachable") from None
        except httpx.TransportError as exc:
            raise BackendError(f"{self.service} dropped the connection before answering ({type(exc).__name__}).",
                               kind="server") from None

    async def next(self, items: AsyncIterator[Any]) -> Any:
        """The next item, or None at the end of the body."""
        try:
            async with self._scope():
                return await anext(items)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            raise self.error() from None
        except httpx.TransportError as exc:
            raise closed_early(self.service, f" ({type(exc).__name__})") from None


class HttpBackend:
    """A model server over HTTP. Subclasses set the class attributes and the provider hooks below."""

    name = ""
    service = ""          # how messages name the server
    chat_path = ""
    models_path = ""
    sse = True            # the chat stream is Server-Sent Events; else NDJSON lines
    key_var = ""          # the setting that holds the API key
    probe_while_streaming = False  # llama-cpp-python ends a running stream for any other request

    def __init__(self, url: str, model: str = "", *, api_key: str = "", first_token_timeout: float = 300,
                 inter_token_timeout: float = 60, client: httpx.AsyncClient | None = None):
        self.url, self.model, self._api_key = url.rstrip("/"), model, api_key
        self.first_token_timeout, self.inter_token_timeout = first_token_timeout, inter_token_timeout
        self._client = client
        self.streaming = 0  # replies streaming now: a probe then could interrupt one (see Selector)
        self.context = 0    # the model's context in tokens, where the server says it (0: unknown)
        self.slots = 0      # streams the server serves at once (0: no limit of ours)
        self._gate: asyncio.Semaphore | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, model={self.model!r})"

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=HTTPX_TIMEOUT)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    # --- what a provider says -------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return {}

    def unreachable(self) -> str:
        return f"{self.service} is not reachable at {self.url}."

    def body(self, request: ChatRequest, model: str) -> dict:
        raise NotImplementedError

    def reply(self) -> Reply:
        raise NotImplementedError

    def parse_models(self, body: bytes) -> list[ModelInfo]:
        raise NotImplementedError

    def choose(self, models: tuple[ModelInfo, ...]) -> tuple[str, str]:
        """The model to use from the list, and a note for the person ("" when all is well)."""
        if self.model:
            listed = any(m.name == self.model for m in models)
            return self.model, "" if listed else f"'{self.model}' is not in {self.url}{self.models_path}."
        return (models[0].name, "") if models else ("", "No models listed; set LLM_MODEL.")

    async def learn(self, model: str) -> None:
        """Ask the server what it says about the model's context and its slots (optional)."""

    async def resolve(self, request: ChatRequest) -> str:
        if model := request.model or self.model:
            return model
        raise BackendError(f"No model chosen for {self.service}; set LLM_MODEL.", kind="bad_request")

    def status_error(self, status: int, body: bytes, headers: httpx.Headers, model: str) -> BackendError:
        if status in (401, 403):
            # The server's text may echo part of the key, so only its error code goes into the message.
            code = error_code(body)
            return BackendError(f"{self.service} at {self.url} refused the API key ({status}"
                                f"{', ' + code if code else ''}). Check {self.key_var}.", kind="auth")
        text = error_text(body, self._api_key)
        if status == 404:
            return BackendError(f"{self.url} has no model '{model}' (404: {text.rstrip('.')}). Check LLM_MODEL.",
                                kind="model_not_found")
        return status_error(status, text, service=self.service, retry_after=parse_retry_after(headers))

    def wire_model(self, model: str) -> str:
        """The name the server wants in a request (a listed name may be shortened for people)."""
        return model

    def refused(self, body: dict, error: BackendError) -> dict | None:
        """Another body to try once when the server refused this one before streaming (None: give up)."""
        return None

    # --- the shared part --------------------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        try:
            response = await self.client.get(self.url + self.models_path, headers=self.headers(),
                                             timeout=PROBE_TIMEOUT)
        except (httpx.ReadTimeout, httpx.PoolTimeout):
            # Connected but no answer: a one-slot server busy with someone's reply, not a missing one.
            raise BackendError(f"{self.service} at {self.url} is busy (it did not list its models within "
                               f"{PROBE_TIMEOUT.read:g} s).", kind="busy") from None
        except httpx.HTTPError:
            raise BackendError(self.unreachable(), kind="unreachable") from None
        if response.status_code != 200:
            raise self.status_error(response.status_code, response.content, response.headers, self.model)
        try:
            return self.parse_models(response.content)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise BackendError(f"{self.url}{self.models_path} did not answer with a model list.",
                               kind="server") from None

    async def probe(self) -> Probe:
        try:
            models = tuple(await self.list_models())
        except BackendError as exc:
            return Probe(reachable=exc.kind == "busy", busy=exc.kind == "busy", detail=exc.message)
        model, detail = self.choose(models)
        if model:
            await self.learn(model)
        return Probe(reachable=True, models=models, model=model, detail=detail, context=self.context)

    @contextlib.asynccontextmanager
    async def _turn(self):
        """One stream's turn: counted (no probe meanwhile), and one at a time on a server with one slot."""
        if self.slots and self._gate is None:
            self._gate = asyncio.Semaphore(self.slots)
        self.streaming += 1
        try:
            async with self._gate or contextlib.nullcontext():
                yield
        finally:
            self.streaming -= 1

    @contextlib.asynccontextmanager
    async def open(self, pacer: Pacer, path: str, body: dict, model: str):
        """POST a streaming request; yield its items (SSE events with data, or NDJSON lines)."""
        accept = "text/event-stream" if self.sse else "application/x-ndjson"
        request = self.client.build_request("POST", self.url + path, json=body,
                                            headers={**self.headers(), "Accept": accept})
        response = await pacer.send(self.client, request, self.unreachable())
        try:
            if response.status_code != 200:
                raise self.status_error(response.status_code, await read_error_body(response), response.headers,
                                        model)
            if self.sse and "text/event-stream" not in (kind := response.headers.get("content-type", "")):
                raise BackendError(f"{self.service} at {self.url} answered with {kind or 'no content type'}, "
                                   "not an event stream: is that the right URL?", kind="stream")
            yield httpx_sse.EventSource(response).aiter_sse() if self.sse else response.aiter_lines()
        except httpx.HTTPError as exc:
            raise closed_early(self.service, f" ({type(exc).__name__})") from None
        finally:
            await response.aclose()

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        if request.schema is None:
            async for event in self._stream(request):
                yield event
            return
        # Structured output: the constrained JSON leaves the seam as ordinary text (structured.py).
        decoder = ReplyDecoder()
        async with contextlib.aclosing(self._stream(request)) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    if text := decoder.feed(event.text):
                        yield TextDelta(text)
                    continue
                if isinstance(event, Done) and (text := decoder.end()):
                    yield TextDelta(text)
                yield event

    async def _open(self, stack: contextlib.AsyncExitStack, pacer: Pacer, body: dict, model: str) -> AsyncIterator:
        try:
            return await stack.enter_async_context(self.open(pacer, self.chat_path, body, model))
        except BackendError as err:
            if (other := self.refused(body, err)) is None:
                raise
            return await stack.enter_async_context(self.open(pacer, self.chat_path, other, model))

    async def _stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        model = await self.resolve(request)
        async with self._turn():
            pacer = Pacer(self.first_token_timeout, self.inter_token_timeout, self.service)
            body = self.body(request, self.wire_model(model))
            async with contextlib.AsyncExitStack() as stack:
                items = await self._open(stack, pacer, body, model)
                reply = self.reply()
                while (item := await pacer.next(items)) is not None:
                    if self.sse and not item.data:
                        continue  # the SSE spec dispatches no event without data; httpx-sse does
                    events = reply.feed(item)
                    pacer.started = pacer.started or reply.output
                    for event in events:
                        yield event
                        if isinstance(event, Done):
                            return
                for event in reply.end():
                    yield event


def tool_call(name: str, arguments: Any, call_id: str = "") -> ToolCall:
    """A tool call from arguments as an object, a JSON string, or JSON in pieces (joined by the caller)."""
    if isinstance(arguments, str):
        try:
            arguments = msgspec.json.decode(arguments or "{}")
        except msgspec.DecodeError:
            raise BackendError(f"The model's call to '{name}' had arguments that are not JSON: {arguments[:120]!r}",
                               kind="stream") from None
    return ToolCall(name=name, arguments=arguments if isinstance(arguments, dict) else {}, id=call_id)
