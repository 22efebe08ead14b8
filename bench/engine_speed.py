"""`python -m bench.engine_speed [KEY ...]`: the local engine's speed on this machine, per model in the
cache: load time, memory, and for a first prompt of Ghostwire's size (~480 tokens) and a second turn
that reuses its prefix: time to the first token, prompt tokens/s and tokens/s (llama.cpp's own timings).
Prints a table row per model and the load average, since a shared machine's numbers mean less."""

from __future__ import annotations

import json
import os
import sys
import time

import httpx

from models.catalogue import MODELS, model_path
from tests.engine.server import EngineServer

N_CTX = 8192
# About 480 tokens of the kind of text Ghostwire's system prompt is: instructions and a list.
SYSTEM = ("You are a todo app with attitude. Answer briefly. To change the list write one JSON object per command, "
          'like {"action": "insert", "target": "task", "args": {"name": "Buy apples"}}. ') * 12
TURNS = ["add buy milk", "and also call mom"]


def rss_peak_mb(pid: int) -> float:
    status = open(f"/proc/{pid}/status").read()
    return int(status.split("VmHWM:", 1)[1].split()[0]) / 1024


def turn(url: str, messages: list[dict], headers: dict[str, str]) -> dict:
    body = {"messages": messages, "stream": True, "stream_options": {"include_usage": True}, "max_tokens": 64,
            "temperature": 0}
    started, first, text, timings = time.monotonic(), None, [], {}
    with httpx.stream("POST", f"{url}/chat/completions", json=body, headers=headers, timeout=300) as r:
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices") or []:
                if (piece := (choice.get("delta") or {}).get("content")):
                    first = first or time.monotonic()
                    text.append(piece)
            timings = chunk.get("timings") or timings
    return {"first_token_s": round((first or time.monotonic()) - started, 2), "text": "".join(text),
            "prompt_n": timings.get("prompt_n"), "prompt_per_s": round(timings.get("prompt_per_second", 0), 1),
            "per_s": round(timings.get("predicted_per_second", 0), 1)}


def measure(key: str) -> dict:
    path = model_path(MODELS[key])
    started = time.monotonic()
    engine = EngineServer(N_CTX, path).start()
    loaded = time.monotonic() - started
    try:
        messages = [{"role": "system", "content": SYSTEM}]
        results = []
        for text in TURNS:
            messages.append({"role": "user", "content": text})
            results.append(out := turn(engine.url, messages, engine.headers()))
            messages.append({"role": "assistant", "content": out["text"]})
        return {"model": key, "file_mb": round(path.stat().st_size / 1e6), "load_s": round(loaded, 1),
                "rss_mb": round(rss_peak_mb(engine.proc.pid)), "turns": results}
    finally:
        engine.stop()


def main() -> int:
    keys = sys.argv[1:] or [k for k in MODELS if model_path(MODELS[k]).is_file()]
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    print("| model | file | load | memory (peak RSS) | first turn: first token, prompt tok/s (n), tok/s "
          "| next turn: first token, prompt tok/s (n), tok/s |")
    for key in keys:
        m = measure(key)
        a, b = m["turns"]
        print(f"| {key} | {m['file_mb']} MB | {m['load_s']} s | {m['rss_mb']} MB | {a['first_token_s']} s, "
              f"{a['prompt_per_s']} ({a['prompt_n']}), {a['per_s']} | {b['first_token_s']} s, {b['prompt_per_s']} "
              f"({b['prompt_n']}), {b['per_s']} |", flush=True)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
