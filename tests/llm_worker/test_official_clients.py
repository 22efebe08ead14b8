"""The official Python clients must be able to read our fakes: evidence that the fakes speak the real protocol."""

import ollama
import openai
import pytest

from llm_worker.backends.ollama import OllamaBackend
from llm_worker.backends.openai import OpenAIBackend
from tests.fakes import FakeOllama, FakeOpenAI, Script
from tests.llm_worker.helpers import chat, request, run, text

TOKENS = ["Tickets", " <for>", " two", " & ", "caf\u00e9", "!"]


def test_ollama_client_streams_the_same_text_as_our_backend():
    with FakeOllama() as fake:
        fake.enqueue(Script(tokens=TOKENS, done_content=" Bye."), Script(tokens=TOKENS, done_content=" Bye."))

        async def official():
            client = ollama.AsyncClient(host=fake.url)
            parts = []
            async for part in await client.chat(model="llama3.2:3b", messages=[{"role": "user", "content": "hi"}],
                                                stream=True):
                parts.append(part)
            return parts

        parts = run(official())
        ours = text(chat(OllamaBackend(fake.url, "llama3.2:3b")))
        listed = ollama.Client(host=fake.url).list()
    assert "".join(p.message.content for p in parts) == ours == "".join(TOKENS) + " Bye."
    assert parts[-1].done and parts[-1].eval_count == len(TOKENS)
    assert [m.model for m in listed.models] == ["llama3.2:3b", "nomic-embed-text:latest"]


def test_ollama_client_sees_404_and_midstream_error():
    with FakeOllama() as fake:
        client = ollama.Client(host=fake.url)
        with pytest.raises(ollama.ResponseError) as not_found:
            client.chat(model="nope", messages=[{"role": "user", "content": "hi"}])
        fake.enqueue(Script(tokens=["a", "b"], error_after=1, error_message="runner died"))
        with pytest.raises(ollama.ResponseError) as midstream:
            for _ in client.chat(model="llama3.2:3b", messages=[{"role": "user", "content": "hi"}], stream=True):
                pass
    assert not_found.value.status_code == 404 and "nope" in not_found.value.error
    assert "runner died" in midstream.value.error


def test_openai_client_streams_the_same_text_as_our_backend():
    with FakeOpenAI(api_key="sk-fake-key-for-tests") as fake:
        fake.enqueue(Script(tokens=TOKENS), Script(tokens=TOKENS))
        client = openai.OpenAI(base_url=fake.url, api_key="sk-fake-key-for-tests", max_retries=0)
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                                stream=True, stream_options={"include_usage": True})
        chunks = list(stream)
        ours = text(chat(OpenAIBackend(fake.url, "sk-fake-key-for-tests", "gpt-4o-mini"), request()))
        models = [m.id for m in client.models.list()]
    official = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert official == ours == "".join(TOKENS)
    assert chunks[-1].usage.completion_tokens == len(TOKENS)
    assert models == ["gpt-4o-mini", "text-embedding-3-small"]


def test_openai_client_sees_auth_error_and_midstream_error():
    with FakeOpenAI(api_key="sk-right-key-123456789") as fake:
        bad = openai.OpenAI(base_url=fake.url, api_key="sk-wrong-key-123456789", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as auth:
            bad.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        fake.enqueue(Script(tokens=["a", "b"], error_after=1, error_message="upstream fell over"))
        good = openai.OpenAI(base_url=fake.url, api_key="sk-right-key-123456789", max_retries=0)
        with pytest.raises(openai.APIError) as midstream:
            for _ in good.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                  messages=[{"role": "user", "content": "hi"}]):
                pass
    assert auth.value.code == "invalid_api_key"
    assert "upstream fell over" in midstream.value.message
