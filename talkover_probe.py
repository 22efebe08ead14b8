"""How long llama.cpp's one slot takes to serve a new request when the one it streams is closed at that moment."""
import json, time, threading
import httpx
from bench.engine import Engine
from models.catalogue import MODELS, model_path

SYS = {"role": "system", "content": "You are a helpful assistant."}
LONG = [SYS, {"role": "user", "content": "Write a long story about a lighthouse keeper."}]
SHORT = [SYS, {"role": "user", "content": "Write a long story about a lighthouse keeper."},
         {"role": "assistant", "content": "Once"}, {"role": "user", "content": "How many tasks are done?"}]

def first_token(client, messages):
    t0 = time.monotonic()
    with client.stream("POST", "/v1/chat/completions", json={"messages": messages, "max_tokens": 8, "stream": True}) as r:
        for line in r.iter_lines():
            if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                return (time.monotonic() - t0) * 1000

with Engine(model_path=model_path(MODELS["1.5b"])) as e, httpx.Client(base_url=e.url, timeout=120) as c:
    first_token(c, SHORT)  # warm: the cache holds the shared prefix
    for trial in range(4):
        idle = first_token(c, SHORT)
        with c.stream("POST", "/v1/chat/completions", json={"messages": LONG, "max_tokens": 400, "stream": True}) as r:
            n = 0
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    n += 1
                if n >= 20:
                    break
        busy = first_token(c, SHORT)  # sent the moment the streaming one is closed
        print(f"trial {trial}: idle {idle:.0f} ms, right after closing a stream {busy:.0f} ms ({busy / idle:.2f}x)", flush=True)
