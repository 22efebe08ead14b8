"""The runs: one scripted reply through Ghostwire to N tabs, and the same script read directly."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import measure
from bench.clients import SseTab, open_tab
from bench.model import FakeModel, build_script
from bench.procs import CpuMeter, cpu_seconds
from bench.tap import StageTap

ROOT = Path(__file__).resolve().parents[1]
SETTLE_S = 3.0  # after the final bubble, how long a command's task event may still trail it


@dataclass
class Ctx:
    web_url: str
    fake: FakeModel
    meter: CpuMeter
    spy: object | None = None  # bench.spy.Spy when profiling
    tap: StageTap | None = None
    http: httpx.AsyncClient | None = None
    keys: itertools.count = field(default_factory=lambda: itertools.count(1))
    client_tid: int = field(default_factory=threading.get_native_id)

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.web_url.removeprefix("http://").partition(":")
        return host, int(port)

    def key(self) -> str:
        return f"r{next(self.keys)}"

    def bench_cpu(self) -> dict[str, float]:
        pid = os.getpid()
        return {"clients": cpu_seconds(pid, self.client_tid), "fake": cpu_seconds(pid, self.fake.native_id)}


def timeout_for(n_tokens: int, rate: float) -> float:
    return 30 + (n_tokens / rate if rate else n_tokens / 1000)


async def chat(ctx: Ctx, text: str) -> str:
    """What `Stack.chat` does, without blocking the clients' event loop."""
    r = await ctx.http.post("/chat", data={"msg": text})
    if r.status_code != 200:
        raise RuntimeError(f"POST /chat answered {r.status_code}: {r.text[:200]}")
    return r.headers["ghostwire-reply-id"]


async def _settle(tab: SseTab, names: list[str]) -> None:
    """Wait (bounded) until each command's task insert is on the wire: it may trail the final bubble."""
    deadline = time.monotonic() + SETTLE_S
    needles = [f'value="{n}"'.encode() for n in names]
    while time.monotonic() < deadline:
        seen = b"".join(b for _, b in tab.chunks)
        if all(n in seen for n in needles):
            return
        await asyncio.sleep(0.02)


async def through_ghostwire(ctx: Ctx, n_tokens: int, rate: float, n_commands: int = 0, tabs: int = 1,
                            label: str = "") -> dict:
    """One reply streamed to `tabs` SSE clients; per-tab results pooled, CPU of every process."""
    script = ctx.fake.add(build_script(ctx.key(), n_tokens, rate, n_commands))
    host, port = ctx.host_port
    conns = await asyncio.gather(*(open_tab(host, port, f"bench-{script.key}-{i}") for i in range(tabs)))
    ctx.meter.start()
    bench_before = ctx.bench_cpu()
    if ctx.spy and label:
        ctx.spy.start(label)
    tap_mark = ctx.tap.mark() if ctx.tap else 0
    t_post = time.monotonic_ns()
    try:
        reply_id = await chat(ctx, f"bench-run-{script.key}")
        await asyncio.gather(*(c.wait_final(reply_id, timeout_for(n_tokens, rate)) for c in conns))
        if script.closers:
            await _settle(conns[0], list(script.closers.values()))
    finally:
        for c in conns:
            c.close()
        if ctx.spy and label:
            ctx.spy.stop()
    wall_s = (time.monotonic_ns() - t_post) / 1e9
    cpu = ctx.meter.stop()
    bench_after = ctx.bench_cpu()
    cpu.update({f"bench_{k}": round(bench_after[k] - v, 3) for k, v in bench_before.items()})
    per_tab, lags, stages = [], [], None
    for c in conns:
        events = c.events()
        res = measure.analyse_tab(script, reply_id, events)
        lags.extend(res.pop("lags_ns"))
        received = res.pop("received_ns")
        if stages is None and ctx.tap:
            stages = ctx.tap.stages(script, reply_id, tap_mark, received, events)
        res["wire_bytes"] = c.wire_bytes(t_post, res.pop("final_ns") or time.monotonic_ns())
        per_tab.append(res)
    first = per_tab[0]
    text_chars = len(script.text)
    return {
        "rate": rate, "tokens": n_tokens, "reply_id": reply_id, "tabs": tabs, "wall_s": round(wall_s, 3),
        "text_chars": text_chars, "cpu_s": cpu, **{k: v for k, v in first.items() if k != "lag_ms"},
        "lag_ms": measure.summary_ms(lags),
        "bytes_per_char": round(first["wire_bytes"] / text_chars, 3),
        "tabs_complete": sum(1 for r in per_tab if r["lost"] == 0 and r["duplicates"] == 0 and r["final_seen"]),
        "min_received": min(r["received"] for r in per_tab), "lost_total": sum(r["lost"] for r in per_tab),
        "fake_hung_up": script.hung_up, "stages": stages,
    }


async def direct(ctx: Ctx, n_tokens: int, rate: float, n_commands: int = 0) -> dict:
    """The ceiling: the same script read by a plain httpx client in its own process."""
    script = ctx.fake.add(build_script(ctx.key(), n_tokens, rate, n_commands))
    timeout = timeout_for(n_tokens, rate)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.direct", ctx.fake.url, script.key,
                                                str(timeout), stdout=asyncio.subprocess.PIPE, cwd=ROOT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout + 30)
    if proc.returncode != 0:
        raise RuntimeError(f"the direct reader failed (exit {proc.returncode})")
    res = measure.ceiling(script, [(t, text) for t, text in json.loads(out)])
    res.pop("lags_ns")
    return res
