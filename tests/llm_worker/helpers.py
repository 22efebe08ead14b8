"""Small helpers for driving async backends from plain (sync) pytest tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Coroutine

import pytest

from llm_worker.backends.base import BackendError, ChatRequest, Event, Message, TextDelta, ThinkingDelta

RUN_LIMIT = 10.0


def run(coro: Coroutine, limit: float = RUN_LIMIT):
    """Run a coroutine to completion on a fresh loop, failing the test instead of hanging."""
    return asyncio.run(asyncio.wait_for(coro, limit))


def request(text: str = "hi", model: str = "", **kwargs) -> ChatRequest:
    return ChatRequest(model=model, messages=[Message("user", text)], **kwargs)


async def collect(events: AsyncIterator[Event]) -> list[Event]:
    return [e async for e in events]


def chat(backend, req: ChatRequest | None = None, *, settle: Callable[[], bool] | None = None) -> list[Event]:
    """Run one chat to the end. `settle` is awaited before the backend's HTTP client is closed, so a
    check like "the fake saw the disconnect" proves the stream itself closed upstream."""
    return run(_collect_and_close(backend, req or request(), settle))


async def _collect_and_close(backend, req: ChatRequest, settle: Callable[[], bool] | None) -> list[Event]:
    try:
        return await collect(backend.stream(req))
    finally:
        if settle is not None:
            await until(settle)
        await backend.aclose()


def failure(backend, req: ChatRequest | None = None, *, settle: Callable[[], bool] | None = None) -> BackendError:
    """The BackendError a chat ends with; fails the test if it ends any other way."""
    with pytest.raises(BackendError) as info:
        chat(backend, req, settle=settle)
    return info.value


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.005)


def text(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def thinking(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, ThinkingDelta))


def closed_port() -> int:
    """A local port with nothing listening on it (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def first_then_close(backend, req: ChatRequest, n: int = 1, *,
                           settle: Callable[[], bool] | None = None) -> list[Event]:
    """Read n events, then close the stream early, as a Stop button would."""
    stream = backend.stream(req)
    got = []
    try:
        async for event in stream:
            got.append(event)
            if len(got) >= n:
                break
    finally:
        await stream.aclose()
        if settle is not None:
            await until(settle)
        await backend.aclose()
    return got
