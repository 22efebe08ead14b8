"""What real OpenAI-compatible servers do that OpenAI doesn't (llama.cpp as observed, reference:
llama-cpp-server.md), against the fake's faithful options: interruption by any other request, a
busy one-slot server, an empty 200 over the context, no usage chunk, keep-alive comments, a model
listed by its file path, and llama-server's /props."""

from __future__ import annotations

import asyncio

import pytest

from bus import settings
from llm_worker.backends import core
from llm_worker.backends.base import BackendError, Done, Usage
from llm_worker.backends.openai import OpenAIBackend
from llm_worker.selector import Selector
from llm_worker.settings import LlmSettings
from tests.fakes import FakeOllama, FakeOpenAI, Script
from tests.llm_worker.helpers import chat, collect, failure, request, run, text, until

PATH = "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
TOKENS = [f" word{i}" for i in range(20)]


@pytest.fixture
def llama():
    with FakeOpenAI.llama_cpp(PATH) as fake:
        yield fake


def selector_for(fake: FakeOpenAI) -> Selector:
    return Selector(settings.load(LlmSettings, environ={"LLM_BACKEND": "openai", "OPENAI_BASE_URL": fake.url}))


def test_the_fake_interrupts_a_stream_for_any_other_request(llama):
    """The fault itself, without our fixes: a models request mid-stream ends the reply early."""
    llama.enqueue(Script(tokens=TOKENS, delay=0.02))
    backend = OpenAIBackend(llama.url, model=PATH)

    async def go():
        reply = asyncio.ensure_future(collect(backend.stream(request())))
        await until(lambda: llama._playing)
        await backend.client.get(f"{llama.url}/models")
        try:
            return await reply
        finally:
            await backend.aclose()

    with pytest.raises(BackendError, match="without a finish reason: it was cut off"):
        run(go())
    assert llama.interrupted == 1


def test_no_probe_while_a_reply_streams(llama):
    llama.enqueue(Script(tokens=TOKENS, delay=0.02))
    selector = selector_for(llama)

    async def go():
        await selector.refresh()
        reply = asyncio.ensure_future(collect(selector.primary.stream(request(model=selector.model))))
        await until(lambda: llama._playing)
        asked = len(llama.paths)
        await selector.refresh()  # the periodic probe's tick, while the reply streams
        events = await reply
        await selector.primary.aclose()
        return events, llama.paths[asked:]

    events, during = run(go())
    assert text(events) == "".join(TOKENS) and isinstance(events[-1], Done)
    assert during == [], "no request reached the server while the reply streamed"
    assert llama.interrupted == 0


def test_a_second_chat_waits_for_a_one_slot_server_instead_of_cutting_the_first(llama):
    llama.enqueue(Script(tokens=TOKENS, delay=0.01), Script(tokens=["second"]))
    backend = OpenAIBackend(llama.url, model=PATH)

    async def go():
        first = asyncio.ensure_future(collect(backend.stream(request())))
        await until(lambda: llama._playing)
        second = await collect(backend.stream(request("again")))
        result = await first, second
        await backend.aclose()
        return result

    first, second = run(go())
    assert (text(first), text(second)) == ("".join(TOKENS), "second")
    assert llama.interrupted == 0


def test_a_busy_server_is_reachable_not_gone(llama, monkeypatch):
    monkeypatch.setattr(core, "PROBE_TIMEOUT", core.httpx.Timeout(0.3))
    selector = selector_for(llama)
    run(selector.refresh())
    assert selector.status().reachable
    llama.interrupts, llama.one_slot = False, True
    llama.enqueue(Script(tokens=TOKENS, delay=0.05))
    someone_else = OpenAIBackend(llama.url, model=PATH)  # another client, so our worker isn't streaming

    async def go():
        reply = asyncio.ensure_future(collect(someone_else.stream(request())))
        await until(lambda: llama._playing)
        await selector.refresh()
        status = selector.status()
        await reply
        await someone_else.aclose()
        await selector.primary.aclose()
        return status

    status = run(go())
    assert status.reachable and "busy" in status.note and status.model == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_a_model_listed_by_its_path_shows_its_file_name_and_is_asked_for_by_its_path(llama):
    backend = OpenAIBackend(llama.url)
    found = run(backend.probe())
    assert found.model == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert [m.name for m in found.models] == [found.model]
    chat(backend, request(model=found.model))
    assert llama.requests[-1]["model"] == PATH


def test_no_usage_chunk_means_unknown_usage_and_pings_are_ignored(llama):
    llama.enqueue(Script(tokens=TOKENS))
    events = chat(OpenAIBackend(llama.url, model=PATH))
    assert text(events) == "".join(TOKENS) and not any(isinstance(e, Usage) for e in events)


def test_length_finish_is_reported():
    with FakeOpenAI() as fake:
        fake.enqueue(Script(tokens=["cut"], done_reason="length"))
        events = chat(OpenAIBackend(fake.url, model="gpt-4o-mini"))
    assert events[-1] == Done(reason="length")


def test_an_empty_200_is_a_context_overflow_with_the_learned_size():
    with FakeOpenAI.llama_cpp(PATH, n_ctx=256, props=True) as fake:
        backend = OpenAIBackend(fake.url)
        found = run(backend.probe())
        err = failure(backend, request("long " * 2000, model=found.model))
    assert found.context == 256 and backend.slots == 1
    assert err.kind == "context" and "too long for this model's context (256 tokens)" in err.message


def test_without_props_the_overflow_still_reads_as_too_long(llama):
    err = failure(OpenAIBackend(llama.url, model=PATH), request("long " * 20000))
    assert err.kind == "context" and "too long for this model's context" in err.message


def test_a_400_naming_the_context_reads_as_too_long():
    message = ("This model's maximum context length is 4096 tokens. However, you requested 4475 tokens (4475 in "
               "the messages, None in the completion). Please reduce the length of the messages or completion.")
    with FakeOpenAI() as fake:
        fake.enqueue(Script(error_status=400, error_type="invalid_request_error", error_message=message))
        err = failure(OpenAIBackend(fake.url, model="gpt-4o-mini"))
    assert err.kind == "context" and "(4,096 tokens)" in err.message


def test_ollama_says_the_models_context():
    with FakeOllama(context_length=2048) as fake:
        selector = Selector(settings.load(LlmSettings, environ={"LLM_BACKEND": "ollama", "OLLAMA_HOST": fake.url}))
        run(selector.refresh())
    assert selector.status().context == 2048


def test_a_page_that_is_not_an_event_stream_is_named():
    with FakeOpenAI() as fake:
        fake.enqueue(Script(raw=[b"<html>proxy login</html>"], content_type="text/html"))
        err = failure(OpenAIBackend(fake.url, model="gpt-4o-mini"))
    assert err.kind == "stream" and "text/html" in err.message and "not an event stream" in err.message


class _Breaks(core.httpx.AsyncByteStream):
    async def __aiter__(self):
        yield b'data: {"choices": [{"index": 0, "delta": {"content": "so far"}}]}\n\n'
        raise core.httpx.DecodingError("invalid gzip data")  # an httpx error that is not a TransportError


def test_any_httpx_error_mid_stream_is_a_backend_error():
    """runner.py catches only BackendError, as base.py promises: the core translates the rest."""
    def answer(request):
        return core.httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Breaks())

    client = core.httpx.AsyncClient(transport=core.httpx.MockTransport(answer))
    err = failure(OpenAIBackend("http://model.test/v1", model="m", client=client))
    assert err.kind == "stream" and "DecodingError" in err.message


# The reply's room: max_tokens = context − an overestimate of the prompt, so a server stops with "length"
# inside its context (llama-cpp-python 0.3.36 streaming past the end dies with a ValueError instead).

def _room(url: str, context: int = 0, num_ctx: int = 1024, system: str = "x" * 300, user: str = "hi") -> int | None:
    from llm_worker.backends.base import ChatRequest, Message
    backend = OpenAIBackend(url)
    backend.context = context
    req = ChatRequest(model="m", system=system, num_ctx=num_ctx, messages=[Message("user", user)])
    return backend.body(req, "m").get("max_tokens")


def test_a_local_server_gets_max_tokens_from_the_fitted_context():
    # 300 ASCII characters: at most 100 tokens, plus 8 per message for the template, and the margin.
    assert _room("http://127.0.0.1:8080/v1") == 1024 - (100 + 8) - (1 + 8) - 16


def test_the_context_the_server_said_wins_and_non_ascii_counts_a_token_a_character():
    assert _room("https://api.example.org/v1", context=2048, user="日本語") == 2048 - 108 - (3 + 8) - 16


def test_a_remote_api_without_a_known_context_and_a_prompt_over_it_get_no_max_tokens():
    assert _room("https://api.example.org/v1") is None, "a remote API keeps its own limit"
    assert _room("http://127.0.0.1:8080/v1", num_ctx=100) is None, "no room by the estimate: the overflow path says so"
