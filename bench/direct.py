"""The ceiling: a plain httpx client reading the fake, with no Ghostwire in between.

It runs in a process of its own, as the llm_worker does, so it doesn't share a GIL with the fake;
CLOCK_MONOTONIC is system-wide, so its stamps compare with the fake's. Prints JSON
`[[monotonic_ns, content], ...]` on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

from bench.model import MODEL


async def read(fake_url: str, key: str, timeout: float) -> list[tuple[int, str]]:
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": f"bench-run-{key}"}]}
    pieces: list[tuple[int, str]] = []
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=timeout)) as client:
        async with client.stream("POST", f"{fake_url}/api/chat", json=body) as r:
            async for line in r.aiter_lines():
                t = time.monotonic_ns()
                if not line:
                    continue
                part = json.loads(line)
                pieces.append((t, part["message"]["content"]))
                if part["done"]:
                    break
    return pieces


if __name__ == "__main__":
    url, key, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    json.dump(asyncio.run(read(url, key, timeout)), sys.stdout)
