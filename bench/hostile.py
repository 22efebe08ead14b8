"""Hostile replies through Ghostwire: /health latency while the web renders one, GET / after it."""

from __future__ import annotations

import asyncio
import time

from bench import measure
from bench.clients import open_tab
from bench.model import Script
from bench.runner import Ctx, chat
from tests.security.payloads import HEAVY_MARKDOWN, HOSTILE_TABLES

REPLIES = {"hostile tables": HOSTILE_TABLES, "heavy markdown": HEAVY_MARKDOWN}
PAGE_LOADS = 5
PIECE = 64  # characters per token piece


async def one(ctx: Ctx, text: str) -> dict:
    key = ctx.key()
    ctx.fake.add(Script(key=key, tokens=[text[i:i + PIECE] for i in range(0, len(text), PIECE)], rate=0,
                        markers={}, closers={}))
    tab = await open_tab(*ctx.host_port, f"bench-{key}")
    health_ns: list[int] = []
    finished = asyncio.Event()

    async def probe() -> None:
        while not finished.is_set():
            started = time.monotonic_ns()
            (await ctx.http.get("/health")).raise_for_status()
            health_ns.append(time.monotonic_ns() - started)

    prober = asyncio.create_task(probe())
    try:
        started = time.monotonic_ns()
        reply_id = await chat(ctx, f"bench-run-{key}")
        final_ns = await tab.wait_final(reply_id, 120)
    finally:
        finished.set()
        await prober
        tab.close()
    page_ns, page_bytes = [], 0
    for _ in range(PAGE_LOADS):
        t = time.monotonic_ns()
        r = await ctx.http.get("/")
        page_ns.append(time.monotonic_ns() - t)
        page_bytes = len(r.content)
    return {"chars": len(text), "reply_ms": round((final_ns - started) / 1e6, 1), "probes": len(health_ns),
            "health_ms": measure.summary_ms(health_ns), "page_ms": measure.summary_ms(page_ns),
            "page_bytes": page_bytes}


async def run(ctx: Ctx) -> dict:
    return {name: await one(ctx, text) for name, text in REPLIES.items()}
