import asyncio

import pytest

from llm_worker.backends.base import BackendError, Done, TextDelta, ThinkingDelta, ToolCall, Usage
from llm_worker.backends.ollama import OllamaBackend
from tests.fakes import FakeOllama, Script, tag
from tests.llm_worker.helpers import (
    chat, closed_port, failure, first_then_close, request, run, text, thinking, until,
)

MODEL = "llama3.2:3b"


@pytest.fixture
def fake():
    with FakeOllama() as server:
        yield server


def backend(fake, **kwargs) -> OllamaBackend:
    return OllamaBackend(fake.url, MODEL, **kwargs)


def test_happy_path_text_usage_and_done(fake):
    fake.enqueue(Script(tokens=["Hel", "lo", ", ", "world"], prompt_tokens=31))
    events = chat(backend(fake))
    assert text(events) == "Hello, world"
    assert events[-2:] == [Usage(prompt_tokens=31, completion_tokens=4), Done("stop")]


def test_request_shape(fake):
    chat(backend(fake), request("hi there", system="You are sassy.", num_ctx=4096, temperature=0.3))
    [sent] = fake.requests
    assert sent["stream"] is True
    assert sent["options"] == {"num_ctx": 4096, "temperature": 0.3}
    assert sent["messages"] == [{"role": "system", "content": "You are sassy."},
                                {"role": "user", "content": "hi there"}]
    assert "think" not in sent


def test_num_ctx_always_sent_and_temperature_only_when_set(fake):
    chat(backend(fake))
    assert fake.requests[0]["options"] == {"num_ctx": 8192}


def test_done_line_content_is_appended(fake):
    fake.enqueue(Script(tokens=["The answer", " is"], done_content=" 42."))
    assert text(chat(backend(fake))) == "The answer is 42."


def test_html_escaped_json_round_trips(fake):
    fake.enqueue(Script(tokens=["<b>", "salt & pepper", "</b>"]))
    assert text(chat(backend(fake))) == "<b>salt & pepper</b>"


def test_thinking_model_gets_think_false_and_thinking_stays_out_of_text(fake):
    fake.models = [tag("qwen3:4b", family="qwen3", capabilities=["completion", "tools", "thinking"])]
    fake.enqueue(Script(thinking=["Hmm, ", "milk?"], tokens=["Added", " milk."]))
    events = chat(OllamaBackend(fake.url, "qwen3:4b"))
    assert fake.requests[0]["think"] is False
    assert text(events) == "Added milk."
    assert thinking(events) == "Hmm, milk?"
    assert events.index(ThinkingDelta("milk?")) < events.index(TextDelta("Added"))


def test_model_from_request_overrides_default(fake):
    fake.models.append(tag("qwen2.5:7b", family="qwen2"))
    chat(backend(fake), request(model="qwen2.5:7b"))
    assert fake.requests[0]["model"] == "qwen2.5:7b"


def test_tool_calls_become_events(fake):
    fake.enqueue(Script(tokens=[], tool_calls=[{"name": "add_task", "arguments": {"name": "milk", "priority": 2}}]))
    events = chat(backend(fake))
    [call] = [e for e in events if isinstance(e, ToolCall)]
    assert (call.name, call.arguments) == ("add_task", {"name": "milk", "priority": 2})
    assert call.id.startswith("call_")


@pytest.mark.parametrize("status, kind, needle", [
    (400, "bad_request", "invalid request"),
    (429, "rate_limited", "Retry after 7 s"),
    (500, "server", "500"),
    (503, "server", "maximum pending requests"),
])
def test_http_errors_map_by_status(fake, status, kind, needle):
    fake.enqueue(Script(error_status=status, retry_after=7 if status == 429 else None))
    err = failure(backend(fake))
    assert err.kind == kind
    assert needle in err.message
    assert ("Retry after" in err.message) == (status == 429)


def test_missing_model_says_how_to_pull(fake):
    err = failure(OllamaBackend(fake.url, "mistral"))
    assert err.kind == "model_not_found"
    assert "ollama pull mistral" in err.message


def test_status_matters_not_text(fake):
    fake.enqueue(Script(error_status=404, error_message="something completely different"))
    assert failure(backend(fake)).kind == "model_not_found"


def test_connection_refused_is_unreachable():
    host = f"http://127.0.0.1:{closed_port()}"
    err = failure(OllamaBackend(host, MODEL))
    assert err.kind == "unreachable"
    assert host in err.message and "ollama serve" in err.message and "OLLAMA_HOST" in err.message


def test_mid_stream_error_line(fake):
    fake.enqueue(Script(tokens=["a", "b", "c"], error_after=2, error_message="model runner crashed"))
    err = failure(backend(fake))
    assert err.kind == "stream"
    assert "model runner crashed" in err.message


def test_mid_stream_error_comes_after_the_earlier_tokens(fake):
    fake.enqueue(Script(tokens=["a", "b", "c"], error_after=2))

    async def go():
        seen = []
        with pytest.raises(BackendError) as info:
            async for event in backend(fake).stream(request()):
                seen.append(event)
        return seen, info.value

    seen, err = run(go())
    assert text(seen) == "ab"
    assert err.kind == "stream"


def test_abrupt_eof_without_done(fake):
    fake.enqueue(Script(tokens=["a", "b", "c"], eof_after=2))
    err = failure(backend(fake))
    assert err.kind == "stream"
    assert "closed the stream before finishing" in err.message


def test_clean_end_without_done_line_is_still_a_failure(fake):
    line = b'{"model":"m","created_at":"t","message":{"role":"assistant","content":"hi"},"done":false}\n'
    fake.enqueue(Script(raw=[line]))
    err = failure(backend(fake))
    assert err.kind == "stream"
    assert "before finishing" in err.message


def test_stall_mid_reply_hits_inter_token_timeout_and_closes_upstream(fake):
    fake.enqueue(Script(tokens=["a", "b", "c"], stall_after=2))
    err = failure(backend(fake, inter_token_timeout=0.2), settle=lambda: fake.disconnects == 1)
    assert err.kind == "timeout"
    assert "LLM_INTER_TOKEN_TIMEOUT" in err.message and "0.2 s" in err.message


def test_slow_load_hits_first_token_timeout(fake):
    fake.enqueue(Script(ttft=3.0))
    err = failure(backend(fake, first_token_timeout=0.2), settle=lambda: fake.disconnects == 1)
    assert err.kind == "timeout"
    assert "LLM_FIRST_TOKEN_TIMEOUT" in err.message


def test_headers_but_no_first_line_is_a_first_token_timeout(fake):
    fake.enqueue(Script(stall_after=0))
    err = failure(backend(fake, first_token_timeout=0.2, inter_token_timeout=5))
    assert "LLM_FIRST_TOKEN_TIMEOUT" in err.message


def test_slow_but_steady_stream_is_not_a_timeout(fake):
    fake.enqueue(Script(tokens=["a", "b", "c", "d"], delay=0.1))
    assert text(chat(backend(fake, first_token_timeout=0.3, inter_token_timeout=0.3))) == "abcd"


def test_closing_the_stream_closes_upstream(fake):
    fake.enqueue(Script(tokens=["tok"] * 200, delay=0.02))
    got = run(first_then_close(backend(fake), request(), n=2, settle=lambda: fake.disconnects == 1))
    assert got == [TextDelta("tok"), TextDelta("tok")]
    fake.wait_for(lambda: fake.disconnects == 1)


def test_cancelling_the_task_closes_upstream(fake):
    fake.enqueue(Script(tokens=["tok"] * 200, delay=0.02))

    async def go():
        seen = asyncio.Event()

        async def consume():
            async for _ in backend(fake).stream(request()):
                seen.set()

        task = asyncio.create_task(consume())
        await seen.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(lambda: fake.disconnects == 1)  # while the client is still open, so the stream did it

    run(go())


def test_tool_call_arguments_as_a_json_string_are_decoded(fake):
    line = (b'{"model":"m","created_at":"t","message":{"role":"assistant","content":"","tool_calls":[{"function":'
            b'{"name":"add_task","arguments":"{\\"name\\": \\"milk\\"}"}}]},"done":true,"done_reason":"stop"}\n')
    fake.enqueue(Script(raw=[line]))
    [call] = [e for e in chat(backend(fake)) if isinstance(e, ToolCall)]
    assert (call.name, call.arguments, call.id) == ("add_task", {"name": "milk"}, "")
