"""The fakes themselves: byte-level faithfulness to the reference, and their test-facing API."""

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fakes import FakeAnthropic, FakeOllama, FakeOpenAI, Script

ROOT = Path(__file__).resolve().parents[2]


def raw_exchange(url: str, method: str, path: str, body: dict | None = None) -> tuple[str, dict, list[bytes]]:
    """Send one request over a plain socket; return status line, headers, and the body's chunks as sent."""
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    payload = json.dumps(body).encode() if body is not None else b""
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status, *header_lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    if headers.get("transfer-encoding") != "chunked":
        return status, headers, [rest]
    chunks = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return status, headers, chunks
        chunks.append(rest[:size])
        rest = rest[size + 2:]


CHAT = {"model": "llama3.2:3b", "messages": [{"role": "user", "content": "hi"}]}


def test_ollama_stream_is_one_go_style_json_line_per_chunk():
    with FakeOllama() as fake:
        fake.enqueue(Script(tokens=["<b>", "&"], thinking=[], done_content=""))
        status, headers, chunks = raw_exchange(fake.url, "POST", "/api/chat", CHAT)
    assert status == "HTTP/1.1 200 OK" and headers["content-type"] == "application/x-ndjson"
    assert all(c.endswith(b"\n") and c.count(b"\n") == 1 for c in chunks)
    assert chunks[0].startswith(b'{"model":"llama3.2:3b","created_at":"')
    assert chunks[0].endswith(b'","message":{"role":"assistant","content":"\\u003cb\\u003e"},"done":false}\n')
    assert b'"content":"\\u0026"' in chunks[1]
    created = json.loads(chunks[0])["created_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z", created)
    done = json.loads(chunks[-1])
    assert list(done) == ["model", "created_at", "message", "done", "done_reason", "total_duration", "load_duration",
                          "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"]
    assert done["done"] is True and done["eval_count"] == 2 and done["total_duration"] > 10**6


def test_ollama_errors_and_metadata_endpoints():
    with FakeOllama() as fake:
        _, headers, [body] = raw_exchange(fake.url, "POST", "/api/chat", {**CHAT, "model": "x"})
        assert body == b'{"error":"model \'x\' not found"}'
        assert headers["content-type"] == "application/json; charset=utf-8"
        think = raw_exchange(fake.url, "POST", "/api/chat", {**CHAT, "think": False})
        assert think[0].startswith("HTTP/1.1 400") and b"does not support thinking" in think[2][0]
        assert raw_exchange(fake.url, "GET", "/")[2] == [b"Ollama is running"]
        assert json.loads(raw_exchange(fake.url, "GET", "/api/version")[2][0]) == {"version": fake.version}
        raw_exchange(fake.url, "POST", "/api/chat", CHAT)
        [running] = json.loads(raw_exchange(fake.url, "GET", "/api/ps")[2][0])["models"]
        assert running["name"] == "llama3.2:3b" and "expires_at" in running
        loaded = json.loads(raw_exchange(fake.url, "POST", "/api/chat", {"model": "llama3.2:3b", "messages": []})[2][0])
        assert loaded["done_reason"] == "load"


def test_ollama_mid_stream_error_line_then_clean_end():
    with FakeOllama() as fake:
        fake.enqueue(Script(tokens=["a", "b"], error_after=1, error_message="boom"))
        _, _, chunks = raw_exchange(fake.url, "POST", "/api/chat", CHAT)
    assert len(chunks) == 2 and chunks[-1] == b'{"error":"boom"}\n'


def test_openai_frames_follow_the_recorded_stream():
    with FakeOpenAI() as fake:
        fake.enqueue(Script(tokens=["I'm", " ok"]))
        body = {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "hi"}]}
        status, headers, chunks = raw_exchange(fake.url, "POST", "/v1/chat/completions", body)
    assert headers["content-type"].startswith("text/event-stream")
    assert all(c.startswith(b"data: ") and c.endswith(b"\n\n") and c.count(b"\n\n") == 1 for c in chunks)
    assert chunks[-1] == b"data: [DONE]\n\n"
    frames = [json.loads(c[6:]) for c in chunks[:-1]]
    assert frames[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert [f["choices"][0]["delta"].get("content") for f in frames[1:3]] == ["I'm", " ok"]
    assert frames[3]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert frames[4]["choices"] == [] and frames[4]["usage"]["completion_tokens"] == 2
    assert len({f["id"] for f in frames}) == 1 and list(frames[0])[:5] == ["id", "object", "created", "model",
                                                                           "system_fingerprint"]


def test_openai_without_include_usage_sends_no_usage_chunk():
    with FakeOpenAI() as fake:
        body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        _, _, chunks = raw_exchange(fake.url, "POST", "/v1/chat/completions", body)
    assert not any(b'"usage"' in c for c in chunks)


def test_anthropic_frames_follow_the_fixture():
    with FakeAnthropic() as fake:
        fake.enqueue(Script(tokens=["Hello", " there"]))
        body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": True,
                "messages": [{"role": "user", "content": "hi"}]}
        response = httpx.post(f"{fake.url}/v1/messages", json=body,
                              headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
    names = re.findall(r"^event: (\w+)$", response.text, re.M)
    assert names == ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
                     "content_block_stop", "message_delta", "message_stop"]
    assert 'event: ping\ndata: {"type": "ping"}\n\n' in response.text


def test_anthropic_requires_version_header_and_max_tokens():
    with FakeAnthropic() as fake:
        body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}
        no_version = httpx.post(f"{fake.url}/v1/messages", json={**body, "max_tokens": 5}, headers={"x-api-key": "k"})
        no_max = httpx.post(f"{fake.url}/v1/messages", json=body,
                            headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert no_version.status_code == no_max.status_code == 400
    assert no_max.json()["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}


@pytest.mark.parametrize("fake_cls, path, body", [
    (FakeOllama, "/api/chat", CHAT),
    (FakeOpenAI, "/chat/completions", {"model": "gpt-4o-mini", "stream": True,
                                       "messages": [{"role": "user", "content": "x"}]}),
    (FakeAnthropic, "/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 5, "stream": True,
                                     "messages": [{"role": "user", "content": "x"}]}),
])
def test_default_reply_and_no_disconnect_after_a_full_read(fake_cls, path, body):
    with fake_cls() as fake:
        response = httpx.post(fake.url + path, json=body, headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
        assert response.status_code == 200 and "fake" in response.text
        assert fake.requests[0]["model"] == body["model"]
        with pytest.raises(AssertionError):
            fake.wait_for(lambda: fake.disconnects > 0, timeout=0.2)


@pytest.mark.parametrize("module, marker", [("ollama", "Ollama is running"), ("openai", "gpt-4o-mini"),
                                             ("anthropic", "claude")])
def test_fakes_run_standalone(module, marker):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", f"tests.fakes.{module}", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert f"127.0.0.1:{port}" in proc.stdout.readline()
        path = {"ollama": "/", "openai": "/v1/models", "anthropic": "/v1/models"}[module]
        assert marker in httpx.get(f"http://127.0.0.1:{port}{path}", headers={"x-api-key": "k"}).text
    finally:
        proc.terminate()
        proc.wait(5)


def test_a_taken_port_fails_loudly():
    with FakeOllama() as first:
        with pytest.raises(RuntimeError, match="did not start") as info:
            FakeOllama(port=first.port).start()
    assert isinstance(info.value.__cause__, OSError)
