"""Final replies are rendered in a worker process, never on the event loop, each within a time
budget, and kept in an LRU cache by message id and text: a page load renders nothing it has
rendered before, and a reply that takes too long is shown as plain text (its worker is replaced).

Jobs go to the one worker one at a time (replies waiting their turn go together, up to BATCH_MAX);
a batch that runs out of time is split, and each of its replies gets its own budget.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from web.render.markdown import Rendered, plain_reply, render_many

log = logging.getLogger("web.render.pool")
BUDGET_S = 2.0  # per reply; an ordinary one takes about a millisecond
START_S = 60.0  # a new worker imports markdown-it and nh3 first (slow on a busy machine)
CACHE_BYTES = 32 * 1024 * 1024
BATCH_MAX = 64  # replies sent to the worker in one round trip
BATCH_CHARS = 64 * 1024


def _key(msg_id: str, text: str) -> tuple[str, bytes]:
    return msg_id, hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class RenderCache:
    """LRU of rendered replies, bounded by the bytes of their HTML."""

    def __init__(self, max_bytes: int = CACHE_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple[str, bytes], Rendered] = OrderedDict()

    def get(self, msg_id: str, text: str) -> Rendered | None:
        key = _key(msg_id, text)
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, msg_id: str, text: str, rendered: Rendered) -> None:
        key = _key(msg_id, text)
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= len(old.html)
        self._items[key] = rendered
        self.bytes += len(rendered.html)
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self.bytes -= len(dropped.html)

    def final(self, msg_id: str, text: str) -> Rendered | None:
        """An ended reply as shown: its cached render (an empty one for no text); None until it is rendered."""
        return self.get(msg_id, text) if text else Rendered("", ())

    def __len__(self) -> int:
        return len(self._items)


def _own_process_group() -> None:
    """In the render worker: leave web's process group. supervisord stops web by signalling that
    group; a worker killed by it mid-shutdown left `Pool.terminate` waiting and web alive until
    SIGKILL. Outside the group only web ends it (`close`), and it ends by itself with web's pipe."""
    os.setsid()


class Renderer:
    def __init__(self, cache: RenderCache, budget_s: float = BUDGET_S):
        self.cache = cache
        self.budget_s = budget_s
        self._ctx = multiprocessing.get_context("spawn")  # no copy of the web's sockets and threads
        self._pool: multiprocessing.pool.Pool | None = None
        self._turn = asyncio.Lock()
        self._pending: dict[tuple[str, bytes], asyncio.Future] = {}
        self._waiting: dict[tuple[str, bytes], tuple[str, str]] = {}  # asked for, not yet sent: key → (id, text)
        self._alone: set[tuple[str, bytes]] = set()  # in a batch that ran out of time: each goes alone
        self.timeouts = 0

    async def start(self) -> None:
        async with self._turn:
            if self._pool is None:
                await self._start()

    async def _start(self) -> None:
        self._pool = self._ctx.Pool(1, initializer=_own_process_group)
        await self._run(render_many, [""], START_S)  # the worker is up and has imported everything

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.terminate)

    async def render(self, msg_id: str, text: str) -> Rendered:
        """The cached render, or one made now (concurrent asks for the same reply share it)."""
        if (found := self.cache.get(msg_id, text)) is not None:
            return found
        key = _key(msg_id, text)
        if key not in self._pending:
            self._waiting[key] = (msg_id, text)
            self._pending[key] = asyncio.ensure_future(self._render(key, msg_id, text))
            self._pending[key].add_done_callback(lambda _: self._pending.pop(key, None))
        return await asyncio.shield(self._pending[key])

    async def _render(self, key: tuple[str, bytes], msg_id: str, text: str) -> Rendered:
        async with self._turn:
            if (found := self.cache.get(msg_id, text)) is not None:
                return found  # it went in an earlier batch
            if self._pool is None:
                await self._start()
            if key in self._alone:
                return await self._one(key, msg_id, text)
            # A burst (thousands of replies ending at once, a cold page) goes in a few round trips.
            batch, size = [(msg_id, text)], len(text)
            self._waiting.pop(key, None)
            for k, (m, t) in list(self._waiting.items()):
                if len(batch) >= BATCH_MAX or size + len(t) > BATCH_CHARS:
                    break
                if k not in self._alone:
                    batch.append((m, t))
                    size += len(t)
                    del self._waiting[k]
            try:
                results = await self._run(render_many, [t for _, t in batch], self.budget_s)
            except TimeoutError:
                await self._replace()
                if len(batch) == 1:
                    return await self._plain(key, msg_id, text)
                self._alone.update(_key(m, t) for m, t in batch)  # one of them is slow: find out which
                for m, t in batch[1:]:
                    self._waiting[_key(m, t)] = (m, t)
                return await self._one(key, msg_id, text)
            for (m, t), rendered in zip(batch, results):
                self.cache.put(m, t, rendered)
            return results[0]

    async def _one(self, key: tuple[str, bytes], msg_id: str, text: str) -> Rendered:
        self._alone.discard(key)
        try:
            [rendered] = await self._run(render_many, [text], self.budget_s)
        except TimeoutError:
            await self._replace()
            return await self._plain(key, msg_id, text)
        self.cache.put(msg_id, text, rendered)
        return rendered

    async def _replace(self) -> None:
        """The worker may be stuck for a long while yet: a new one takes its place."""
        await self.close()
        await self._start()

    async def _plain(self, key: tuple[str, bytes], msg_id: str, text: str) -> Rendered:
        self.timeouts += 1
        log.warning("rendering reply %s (%d characters) took over %.1f s: shown as plain text",
                    msg_id, len(text), self.budget_s)
        # linear, but a second for megabytes of text: not on the event loop either
        rendered = await self._run(plain_reply, text, START_S)
        self.cache.put(msg_id, text, rendered)
        return rendered

    async def _run(self, fn: Callable[[Any], Any], arg: Any, budget_s: float) -> Any:
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()

        def settle(value=None, error: BaseException | None = None) -> None:
            if not done.done():
                done.set_exception(error) if error else done.set_result(value)

        assert self._pool is not None
        self._pool.apply_async(fn, (arg,), callback=lambda v: loop.call_soon_threadsafe(settle, v),
                               error_callback=lambda e: loop.call_soon_threadsafe(settle, None, e))
        return await asyncio.wait_for(done, budget_s)
