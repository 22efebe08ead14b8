"""How a model server's failure reads: every HTTP status, error body and cut-off stream a backend meets
becomes a BackendError in words a person can act on (the kinds base.py names), with any secret taken out.
The streaming core (core.py) and each provider use these; a provider special-cases only its own wording."""

from __future__ import annotations

import contextlib
import email.utils
import time

import httpx
import msgspec

from llm_worker.backends.base import BackendError

ERROR_BODY_LIMIT = 64 * 1024
ERROR_TEXT_CHARS = 300


def closed_early(service: str, why: str = "") -> BackendError:
    return BackendError(f"{service} closed the stream before finishing the reply{why}.", kind="stream")


def too_long(context: int, how: str) -> BackendError:
    size = f" ({context:,} tokens)" if context else ""
    return BackendError(f"This conversation is too long for this model's context{size}: {how}. Start a new "
                        "conversation, shorten the message, or give the server a larger context.", kind="context")


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait, from retry-after-ms, or retry-after as seconds or an HTTP date."""
    with contextlib.suppress(TypeError, ValueError):
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(float(ms) / 1000, 0.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return max(float(value), 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_fields(body: bytes) -> dict:
    """The error object of a body: Ollama {"error": str}, OpenAI/Anthropic {"error": {...}}, or {}."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return {}
    err = data.get("error", data) if isinstance(data, dict) else None
    if isinstance(err, str):
        return {"message": err}
    return err if isinstance(err, dict) else {}


def error_text(body: bytes, secret: str = "") -> str:
    """The human part of an error body, with any secret taken out."""
    err = error_fields(body)
    text = str(err.get("message") or err.get("type") or "") or body.decode("utf-8", "replace").strip()
    return redact(text, secret)[:ERROR_TEXT_CHARS]


def error_code(body: bytes) -> str:
    """A machine code such as invalid_api_key or overloaded_error, if the body names one."""
    err = error_fields(body)
    code = err.get("code") or err.get("type")
    return code if isinstance(code, str) else ""


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
        return BackendError(f"{service} is rate limiting us (429){detail}{end}{wait}", kind="rate_limited")
    if status >= 500:
        return BackendError(f"{service} had a server error ({status}){detail}{end}", kind="server")
    if status == 404:
        return BackendError(f"{service} says not found (404){detail}{end}", kind="model_not_found")
    if status in (401, 403):
        return BackendError(f"{service} refused our credentials ({status}){detail}{end}", kind="auth")
    return BackendError(f"{service} rejected the request ({status}){detail}{end}", kind="bad_request")
