import json

import pytest

from llm_worker.backends.base import Done, TextDelta, ToolCall, Usage
from llm_worker.backends.openai import OpenAIBackend
from tests.fakes import FakeOpenAI, Script
from tests.llm_worker.helpers import chat, closed_port, failure, first_then_close, request, run, text, thinking

KEY = "sk-test-0123456789abcdefSECRET"
MODEL = "gpt-4o-mini"


@pytest.fixture
def fake():
    with FakeOpenAI(api_key=KEY) as server:
        yield server


def backend(fake, key: str = KEY, **kwargs) -> OpenAIBackend:
    return OpenAIBackend(fake.url, key, MODEL, **kwargs)


def frame(obj) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def chunk(delta=None, finish=None, **extra) -> bytes:
    return frame({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
                  "choices": [{"index": 0, "delta": delta if delta is not None else {}, "finish_reason": finish}],
                  **extra})


def test_happy_path_and_request_shape(fake):
    fake.enqueue(Script(tokens=["I'm", " fine", "."], prompt_tokens=79))
    events = chat(backend(fake), request("hi", system="Be brief.", temperature=0.5))
    assert text(events) == "I'm fine."
    assert events[-2:] == [Usage(prompt_tokens=79, completion_tokens=3), Done("stop")]
    [sent] = fake.requests
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["temperature"] == 0.5
    assert sent.headers["authorization"] == f"Bearer {KEY}"


def test_extra_fields_and_null_usage_are_tolerated(fake):
    fake.enqueue(Script(tokens=["a", "b"], extra={"usage": None, "service_tier": "default", "obfuscation": "x9",
                                                  "x_groq": {"id": "req_1"}}))
    assert text(chat(backend(fake))) == "ab"


def test_reasoning_is_thinking_never_text(fake):
    fake.enqueue(Script(thinking=["let me ", "think"], tokens=["42"]))
    events = chat(backend(fake))
    assert (thinking(events), text(events)) == ("let me think", "42")


def test_reasoning_content_and_null_content(fake):
    fake.enqueue(Script(raw=[chunk({"role": "assistant", "content": None, "reasoning_content": "hmm"}),
                             chunk({"content": None}), chunk(None), chunk({"content": "ok"}),
                             chunk({}, "stop"), b"data: [DONE]\n\n"]))
    events = chat(backend(fake))
    assert (thinking(events), text(events)) == ("hmm", "ok")


def test_streamed_tool_call_fragments_are_assembled(fake):
    args = {"name": "buy apples", "tags": ["fruit", "groceries"]}
    fake.enqueue(Script(tokens=[], tool_calls=[{"name": "add_task", "arguments": args},
                                               {"name": "list_tasks", "arguments": {}}]))
    events = chat(backend(fake))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments) for c in calls] == [("add_task", args), ("list_tasks", {})]
    assert all(c.id.startswith("call_") for c in calls)
    assert events[-1] == Done("tool_calls")


def test_groq_usage_in_x_groq(fake):
    groq = {"id": "req_1", "usage": {"prompt_tokens": 5, "completion_tokens": 1, "queue_time": 0.01}}
    fake.enqueue(Script(raw=[chunk({"content": "hi"}), chunk({}, "stop", x_groq=groq), b"data: [DONE]\n\n"]))
    assert chat(backend(fake))[-2] == Usage(prompt_tokens=5, completion_tokens=1)


def test_comments_and_crlf_framing(fake):
    fake.enqueue(Script(raw=[b": OPENROUTER PROCESSING\r\n\r\n", chunk({"content": "a"}).replace(b"\n", b"\r\n"),
                             b'data: {"choices":[{"index":0,"delta":{"content":"b"}}]}\r', b"\n\r\n",
                             chunk({}, "stop"), b"data: [DONE]\n\n"]))
    assert text(chat(backend(fake))) == "ab"


def test_finish_reason_without_done_marker_is_a_clean_end(fake):
    fake.enqueue(Script(raw=[chunk({"content": "fine"}), chunk({}, "length")]))
    events = chat(backend(fake))
    assert text(events) == "fine" and events[-1] == Done("length")


def test_eof_before_done_or_finish_reason(fake):
    fake.enqueue(Script(raw=[chunk({"content": "half"})]))
    err = failure(backend(fake))
    assert err.kind == "stream" and "before finishing" in err.message


def test_abrupt_eof(fake):
    fake.enqueue(Script(tokens=["a", "b", "c"], eof_after=1))
    assert failure(backend(fake)).kind == "stream"


def test_mid_stream_error_event(fake):
    fake.enqueue(Script(tokens=["a", "b"], error_after=1, error_message="context overflow"))
    err = failure(backend(fake))
    assert err.kind == "stream" and "context overflow" in err.message


@pytest.mark.parametrize("payload", [
    {"error": {"message": "boom", "type": "server_error", "code": 500}},  # llama.cpp, vLLM (int code)
    {"object": "chat.completion.chunk", "choices": [], "error": {"code": 502, "message": "boom"}},  # OpenRouter
    {"object": "error", "message": "boom", "type": "InternalServerError"},  # old vLLM
])
def test_data_with_error_is_a_failure_even_if_done_follows(fake, payload):
    fake.enqueue(Script(raw=[chunk({"content": "a"}), frame(payload), b"data: [DONE]\n\n"]))
    err = failure(backend(fake))
    assert err.kind == "stream" and "boom" in err.message


def test_wrong_key_is_auth_and_never_echoed(fake):
    wrong = "sk-wrong-key-abcdefghijklmnop"
    err = failure(backend(fake, key=wrong))
    assert err.kind == "auth" and "OPENAI_API_KEY" in err.message
    for fragment in (wrong, wrong[:8], wrong[-4:], KEY):
        assert fragment not in err.message and fragment not in repr(err) and fragment not in str(err.args)


def test_403_is_auth(fake):
    fake.enqueue(Script(error_status=403))
    assert failure(backend(fake)).kind == "auth"


def test_unknown_model_is_model_not_found(fake):
    err = failure(OpenAIBackend(fake.url, KEY, "gpt-9"))
    assert err.kind == "model_not_found" and "gpt-9" in err.message


def test_rate_limit_carries_retry_after(fake):
    fake.enqueue(Script(error_status=429, retry_after=20))
    err = failure(backend(fake))
    assert err.kind == "rate_limited" and "Retry after 20 s" in err.message
    assert "20 s" in err.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(fake, status):
    fake.enqueue(Script(error_status=status))
    assert failure(backend(fake)).kind == "server"


def test_unreachable():
    err = failure(OpenAIBackend(f"http://127.0.0.1:{closed_port()}/v1", KEY, MODEL))
    assert err.kind == "unreachable" and "OPENAI_BASE_URL" in err.message


def test_stall_is_inter_token_timeout(fake):
    fake.enqueue(Script(tokens=["a", "b"], stall_after=1))
    err = failure(backend(fake, inter_token_timeout=0.2), settle=lambda: fake.disconnects == 1)
    assert err.kind == "timeout" and "LLM_INTER_TOKEN_TIMEOUT" in err.message


def test_keepalive_comments_do_not_hold_off_the_first_token_timeout(fake):
    fake.enqueue(Script(raw=[b": waiting\n\n"] * 50, delay=0.02))
    err = failure(backend(fake, first_token_timeout=0.2))
    assert err.kind == "timeout" and "LLM_FIRST_TOKEN_TIMEOUT" in err.message


def test_closing_early_closes_upstream(fake):
    fake.enqueue(Script(tokens=["x"] * 200, delay=0.02))
    got = run(first_then_close(backend(fake), request(), n=3, settle=lambda: fake.disconnects == 1))
    assert got == [TextDelta("x")] * 3


def test_probe_lists_models_and_picks_a_chat_one(fake):
    fake.models = ["text-embedding-3-small", "whisper-1", "gpt-4.1-mini"]
    found = run(OpenAIBackend(fake.url, KEY).probe())
    assert found.reachable and found.model == "gpt-4.1-mini"


def test_probe_with_null_data(fake):
    fake.models = None
    found = run(OpenAIBackend(fake.url, KEY, "llama3.2").probe())
    assert found.reachable and found.models == () and found.model == "llama3.2"


def test_probe_with_bad_key_is_not_usable(fake):
    found = run(OpenAIBackend(fake.url, "sk-nope-nope-nope-nope").probe())
    assert not found.reachable and "OPENAI_API_KEY" in found.detail and "nope" not in found.detail


def test_repr_hides_the_key(fake):
    assert KEY not in repr(backend(fake))


def test_error_event_without_error_key_is_a_failure(fake):
    fake.enqueue(Script(raw=[chunk({"content": "a"}), b'event: error\ndata: {"message": "quota gone"}\n\n']))
    err = failure(backend(fake))
    assert err.kind == "stream" and "quota gone" in err.message


def test_llama_server_says_how_much_of_the_prompt_it_had_cached():
    """llama.cpp's own server: `timings.cache_n` (and usage's cached_tokens) is the cached part of the prompt."""
    with FakeOpenAI.llama_server() as server:
        server.enqueue(Script(tokens=["Hi", "."], prompt_tokens=520, cached_tokens=497))
        events = chat(OpenAIBackend(server.url, "", "/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"), request("hi"))
    assert text(events) == "Hi."
    assert events[-2:] == [Usage(prompt_tokens=520, completion_tokens=2, cached_tokens=497), Done("stop")]


def test_openai_cached_tokens_and_none_where_unsaid(fake):
    usage = {"prompt_tokens": 90, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 64}}
    fake.enqueue(Script(raw=[chunk({"content": "a"}, "stop"), frame({"choices": [], "usage": usage}), b"data: [DONE]\n\n"]))
    fake.enqueue(Script(tokens=["b"], prompt_tokens=12))
    said, unsaid = chat(backend(fake)), chat(backend(fake))
    assert said[-2] == Usage(prompt_tokens=90, completion_tokens=1, cached_tokens=64)
    assert unsaid[-2] == Usage(prompt_tokens=12, completion_tokens=1), "not said: unknown (None), never 0"
