import pytest

from llm_worker.backends.anthropic import AnthropicBackend
from llm_worker.backends.base import ChatRequest, Done, Message, TextDelta, ToolCall, Usage
from tests.fakes import FakeAnthropic, Script
from tests.llm_worker.helpers import chat, closed_port, failure, first_then_close, request, run, text, thinking

KEY = "sk-ant-api03-SECRETSECRETSECRET"
MODEL = "claude-sonnet-4-5"

# The SDK's recorded fixture (reference §3), served verbatim.
FIXTURE = b"""event: message_start
data: {"type":"message_start","message":{"id":"msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK","type":"message","role":"assistant","content":[],"model":"claude-3-opus-latest","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":6}}

event: message_stop
data: {"type":"message_stop"}

"""


@pytest.fixture
def fake():
    with FakeAnthropic(api_key=KEY) as server:
        yield server


def backend(fake, key: str = KEY, **kwargs) -> AnthropicBackend:
    return AnthropicBackend(key, MODEL, fake.url, **kwargs)


def test_recorded_fixture(fake):
    fake.enqueue(Script(raw=[FIXTURE[i:i + 37] for i in range(0, len(FIXTURE), 37)]))
    assert chat(backend(fake)) == [TextDelta("Hello"), TextDelta(" there"), Usage(11, 6), Done("stop")]


def test_request_shape(fake):
    req = ChatRequest(model="", messages=[Message("system", "Also brief."), Message("user", "hi")],
                      system="Be sassy.", temperature=0.2)
    chat(backend(fake, max_tokens=512), req)
    [sent] = fake.requests
    assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"] == "2023-06-01"
    assert sent["max_tokens"] == 512 and sent["stream"] is True and sent["temperature"] == 0.2
    assert sent["system"] == "Be sassy.\n\nAlso brief."
    assert sent["messages"] == [{"role": "user", "content": "hi"}]


def test_generated_stream_text_and_cumulative_usage(fake):
    fake.enqueue(Script(tokens=["Sure", ",", " done"], prompt_tokens=40))
    events = chat(backend(fake))
    assert text(events) == "Sure, done"
    assert events[-2:] == [Usage(40, 3), Done("stop")]


def test_thinking_deltas_stay_out_of_text(fake):
    fake.enqueue(Script(thinking=["Let me ", "see."], tokens=["Yes."]))
    events = chat(backend(fake))
    assert (thinking(events), text(events)) == ("Let me see.", "Yes.")


def test_tool_use_assembled_from_input_json_delta(fake):
    args = {"name": "oat milk", "id": 3}
    fake.enqueue(Script(tokens=["On it."], tool_calls=[{"name": "update_task", "arguments": args}]))
    events = chat(backend(fake))
    [call] = [e for e in events if isinstance(e, ToolCall)]
    assert (call.name, call.arguments) == ("update_task", args) and call.id.startswith("toolu_")
    assert text(events) == "On it." and events[-1] == Done("tool_calls")


def test_openai_style_tools_are_translated(fake):
    tool = {"type": "function", "function": {"name": "list_tasks", "description": "List.",
                                             "parameters": {"type": "object", "properties": {}}}}
    chat(backend(fake), request(tools=[tool]))
    assert fake.requests[0]["tools"] == [{"name": "list_tasks", "description": "List.",
                                          "input_schema": {"type": "object", "properties": {}}}]


def test_bad_key_is_auth_naming_the_variable_not_the_key(fake):
    err = failure(backend(fake, key="sk-ant-wrong-wrong-wrong"))
    assert err.kind == "auth" and "ANTHROPIC_API_KEY" in err.message
    assert "wrong" not in err.message and KEY not in err.message


def test_overloaded_529(fake):
    fake.enqueue(Script(error_status=529))
    err = failure(backend(fake))
    assert err.kind == "server" and "overloaded" in err.message


def test_rate_limit_retry_after(fake):
    fake.enqueue(Script(error_status=429, retry_after="12", error_message="Number of requests has exceeded your limit"))
    err = failure(backend(fake))
    assert err.kind == "rate_limited" and "Retry after 12 s" in err.message and "exceeded" in err.message


def test_unknown_model(fake):
    assert failure(AnthropicBackend(KEY, "claude-9", fake.url)).kind == "model_not_found"


def test_500_is_server(fake):
    fake.enqueue(Script(error_status=500, error_message="Internal server error"))
    assert failure(backend(fake)).kind == "server"


def test_mid_stream_overloaded_error_event(fake):
    fake.enqueue(Script(tokens=["a", "b", "c"], error_after=2))
    err = failure(backend(fake))
    assert err.kind == "server" and "overloaded" in err.message


def test_mid_stream_other_error_event(fake):
    fake.enqueue(Script(tokens=["a", "b"], error_after=1, error_type="api_error", error_message="Internal"))
    err = failure(backend(fake))
    assert err.kind == "stream" and "Internal" in err.message


def test_eof_before_message_stop(fake):
    fake.enqueue(Script(raw=[FIXTURE[:FIXTURE.index(b"event: message_delta")]]))
    err = failure(backend(fake))
    assert err.kind == "stream" and "message_stop" in err.message


def test_stall_and_cancel_close_upstream(fake):
    fake.enqueue(Script(tokens=["a", "b"], stall_after=1))
    assert failure(backend(fake, inter_token_timeout=0.2), settle=lambda: fake.disconnects == 1).kind == "timeout"
    fake.enqueue(Script(tokens=["y"] * 100, delay=0.02))
    got = run(first_then_close(backend(fake), request(), n=1, settle=lambda: fake.disconnects == 2))
    assert got == [TextDelta("y")]


def test_unreachable():
    assert failure(AnthropicBackend(KEY, MODEL, f"http://127.0.0.1:{closed_port()}")).kind == "unreachable"


def test_probe_prefers_haiku(fake):
    found = run(AnthropicBackend(KEY, base_url=fake.url).probe())
    assert found.reachable and found.model == "claude-3-5-haiku-latest"
    assert {m.name for m in found.models} == {"claude-sonnet-4-5", "claude-3-5-haiku-latest"}


def test_probe_with_bad_key(fake):
    found = run(AnthropicBackend("nope-nope", base_url=fake.url).probe())
    assert not found.reachable and "ANTHROPIC_API_KEY" in found.detail


def test_repr_hides_the_key(fake):
    assert KEY not in repr(backend(fake))
