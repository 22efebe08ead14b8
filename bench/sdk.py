"""`python -m bench.sdk`: our backends against the official SDKs, reading the same fake the same way.

The question (issue 10): would the official `ollama` / `openai` clients cost anything at 2,500 tok/s
or at full speed? Each reader runs in a process of its own (as the llm_worker does) and stamps every
piece of text it gets; the fake stamps every piece it writes, on the same monotonic clock. Printed:
added lag p50 / p99 at 2,500 tok/s, tok/s at full speed, and the reader's CPU ms per 1,000 tokens.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time

from tests.fakes import FakeOllama, FakeOpenAI, Script, tag

MODEL = "bench:latest"
READERS = ("ours-ollama", "sdk-ollama", "ours-openai", "sdk-openai")


async def read(kind: str, url: str) -> list[tuple[int, str]]:
    got: list[tuple[int, str]] = []
    messages = [{"role": "user", "content": "go"}]
    if kind.startswith("ours"):
        from llm_worker.backends.base import ChatRequest, Message, TextDelta
        from llm_worker.backends.ollama import OllamaBackend
        from llm_worker.backends.openai import OpenAIBackend
        backend = OllamaBackend(url, MODEL) if kind == "ours-ollama" else OpenAIBackend(url, "k", MODEL)
        async for ev in backend.stream(ChatRequest(model=MODEL, messages=[Message("user", "go")])):
            if isinstance(ev, TextDelta):
                got.append((time.monotonic_ns(), ev.text))
        await backend.aclose()
    elif kind == "sdk-ollama":
        import ollama
        async for part in await ollama.AsyncClient(host=url).chat(model=MODEL, messages=messages, stream=True):
            if part.message.content:
                got.append((time.monotonic_ns(), part.message.content))
    else:
        import openai
        client = openai.AsyncOpenAI(base_url=url, api_key="k", max_retries=0)
        async for chunk in await client.chat.completions.create(model=MODEL, messages=messages, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                got.append((time.monotonic_ns(), chunk.choices[0].delta.content))
        await client.close()
    return got


def measure(kind: str, fake, tokens: list[str], rate: float) -> dict:
    script = Script(tokens=tokens, rate=rate)
    fake.enqueue(script)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-m", "bench.sdk", "--read", kind, fake.url], capture_output=True,
                         check=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    got = json.loads(out)
    assert [t for _, t in got] == tokens, f"{kind}: tokens lost or merged"
    lags = sorted((t - w) / 1e6 for (t, _), w in zip(got, script.written_ns))
    cpu_ms = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    span_s = (got[-1][0] - got[0][0]) / 1e9
    return {"p50": statistics.median(lags), "p99": lags[int(len(lags) * 0.99) - 1],
            "tps": (len(got) - 1) / span_s, "cpu_ms_per_1k": cpu_ms / len(tokens) * 1000}


def main(runs: int = 3) -> None:
    paced = [f"t{i} " for i in range(2500)]   # one second at 2,500 tok/s
    flat_out = [f"t{i} " for i in range(20000)]
    with FakeOllama(models=[tag(MODEL)]) as ollama_fake, FakeOpenAI(models=[MODEL]) as openai_fake:
        rows = {k: [] for k in READERS}
        for _ in range(runs):  # interleaved, so the machine's noise falls on every reader alike
            for kind in READERS:
                fake = ollama_fake if kind.endswith("ollama") else openai_fake
                at_rate, at_max = measure(kind, fake, paced, 2500), measure(kind, fake, flat_out, 0)
                rows[kind].append((at_rate["p50"], at_rate["p99"], at_max["tps"], at_max["cpu_ms_per_1k"]))
    print(f"{'reader':<13}{'lag p50 ms':>11}{'p99 ms':>9}{'max tok/s':>11}{'CPU ms/1k tok':>15}   (median of {runs})")
    for kind, values in rows.items():
        p50, p99, tps, cpu = (statistics.median(col) for col in zip(*values))
        print(f"{kind:<13}{p50:>11.2f}{p99:>9.2f}{tps:>11,.0f}{cpu:>15.0f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--read"]:
        json.dump(asyncio.run(read(sys.argv[2], sys.argv[3])), sys.stdout)
    else:
        main()
