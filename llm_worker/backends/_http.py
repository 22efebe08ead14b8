"""HTTP plumbing shared by the network backends: timeouts, status mapping, error text."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator
from typing import TypeVar

import httpx
import msgspec

from llm_worker.backends.base import BackendError

T = TypeVar("T")

# Reads are unbounded at the httpx level: a cold model load can take minutes before the
# first byte. Our own first-token / inter-token timeouts (Pacer) bound the wait instead.
HTTPX_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=30.0, pool=10.0)
# Listing models is never slow on a healthy server, and a probe must not hang the worker.
PROBE_TIMEOUT = httpx.Timeout(10.0)
ERROR_BODY_LIMIT = 64 * 1024
ERROR_TEXT_CHARS = 300


def new_client(client: httpx.AsyncClient | None) -> httpx.AsyncClient:
    return client if client is not None else httpx.AsyncClient(timeout=HTTPX_TIMEOUT)


class Pacer:
    """First-token deadline, then a per-item gap limit.

    The deadline covers connect, headers and every item up to the first piece of model output.
    Preamble that servers send before the model has produced anything (OpenAI's role-only chunk,
    Anthropic's message_start and ping) does not count: the backend calls `progress()` when an
    item carried output, and only from then on is the gap between items what is limited.
    """

    def __init__(self, first_timeout: float, inter_timeout: float):
        self.first_timeout = first_timeout
        self.inter_timeout = inter_timeout
        self.deadline = asyncio.get_running_loop().time() + first_timeout
        self.started = False

    def _scope(self) -> asyncio.Timeout:
        return asyncio.timeout(self.inter_timeout) if self.started else asyncio.timeout_at(self.deadline)

    def error(self) -> BackendError:
        if self.started:
            return BackendError(
                f"The model stopped sending for {self.inter_timeout:g} s in the middle of a reply "
                "(inter-token timeout; raise LLM_INTER_TOKEN_TIMEOUT if it is just slow).",
                kind="timeout",
            )
        return BackendError(
            f"No reply from the model within {self.first_timeout:g} s (first-token timeout; a cold model load "
            "can take a while, raise LLM_FIRST_TOKEN_TIMEOUT if needed).",
            kind="timeout",
        )

    async def send(self, client: httpx.AsyncClient, request: httpx.Request, service: str,
                   unreachable: str = "") -> httpx.Response:
        try:
            async with self._scope():
                return await client.send(request, stream=True)
        except TimeoutError:
            raise self.error() from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise BackendError(unreachable or f"{service} is not reachable at {host_of(request.url)} ({exc}).",
                               kind="unreachable") from None
        except httpx.TransportError as exc:
            raise BackendError(f"{service} dropped the connection before answering ({type(exc).__name__}).",
                               kind="server") from None

    async def next(self, items: AsyncIterator[T], service: str) -> T | None:
        """The next item, or None at the end of the body."""
        try:
            async with self._scope():
                item = await anext(items)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            raise self.error() from None
        except httpx.TransportError as exc:
            raise closed_early(service, f" ({type(exc).__name__})") from None
        return item

    def progress(self) -> None:
        """The last item carried model output: the first-token wait is over."""
        self.started = True


def closed_early(service: str, why: str = "") -> BackendError:
    return BackendError(f"{service} closed the stream before finishing the reply{why}.", kind="stream")


def host_of(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode()}"


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait, from retry-after-ms, or retry-after as seconds or an HTTP date."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_text(body: bytes, secret: str = "") -> str:
    """The human part of an error body: Ollama {"error": str}, OpenAI/Anthropic {"error": {"message"}}."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        data = None
    text = ""
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, str):
            text = err
        elif isinstance(err, dict):
            text = str(err.get("message") or err.get("type") or "")
        elif isinstance(data.get("message"), str):
            text = data["message"]
    if not text:
        text = body.decode("utf-8", "replace").strip()
    return redact(text, secret)[:ERROR_TEXT_CHARS]


def error_code(body: bytes) -> str:
    """A machine code such as invalid_api_key or overloaded_error, if the body names one."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        code = err.get("code") or err.get("type")
        return code if isinstance(code, str) else ""
    return ""


def redact(text: str, secret: str) -> str:
    return text.replace(secret, "[redacted]") if secret else text


async def read_error_body(response: httpx.Response) -> bytes:
    body = b""
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= ERROR_BODY_LIMIT:
                break
    except httpx.TransportError:
        pass  # a truncated error body still tells us the status, which is what we map on
    return body[:ERROR_BODY_LIMIT]


def status_error(status: int, text: str, *, service: str, retry_after: float | None) -> BackendError:
    """Generic mapping by status code; backends special-case auth and not-found wording first."""
    detail = f": {text.rstrip('.')}" if text else ""
    end = "" if detail.endswith(("!", "?")) else "."  # one end to the sentence, whatever the server's text had
    if status == 429:
        wait = f" Retry after {retry_after:g} s." if retry_after is not None else ""
        return BackendError(f"{service} is rate limiting us (429){detail}{end}{wait}",
                            kind="rate_limited", retry_after=retry_after)
    if status >= 500:
        return BackendError(f"{service} had a server error ({status}){detail}{end}", kind="server",
                            retry_after=retry_after)
    if status == 404:
        return BackendError(f"{service} says not found (404){detail}{end}", kind="model_not_found")
    if status in (401, 403):
        return BackendError(f"{service} refused our credentials ({status}){detail}{end}", kind="auth")
    return BackendError(f"{service} rejected the request ({status}){detail}{end}", kind="bad_request")
