"""The OpenAI-compatible wire as we read it: a streamed chunk (with what OpenAI, vLLM, Groq and llama.cpp's
server each add), the model list and llama-server's /props. Unknown fields are ignored; every field is
optional, because servers differ in what they send."""

from __future__ import annotations

from typing import Any

import msgspec


class Function(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class ToolCallPart(msgspec.Struct):
    index: int = 0
    id: str | None = None
    function: Function | None = None


class Delta(msgspec.Struct):
    content: str | None = None
    reasoning: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallPart] | None = None


class Choice(msgspec.Struct):
    index: int = 0
    delta: Delta | None = None
    finish_reason: str | None = None


class Details(msgspec.Struct):
    cached_tokens: int | None = None


class Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: Details | None = None  # OpenAI, and llama.cpp's server: the prompt's cached part


class Timings(msgspec.Struct):
    """llama.cpp's server: of the prompt, `cache_n` tokens came from its cache and `prompt_n` were evaluated."""

    cache_n: int | None = None
    prompt_n: int | None = None


class Groq(msgspec.Struct):
    usage: Usage | None = None


class Chunk(msgspec.Struct):
    choices: list[Choice] | None = None
    usage: Usage | None = None
    x_groq: Groq | None = None
    timings: Timings | None = None
    error: Any = None
    object: str = ""
    message: Any = None  # old vLLM error shape: {"object": "error", "message": ...}


class Card(msgspec.Struct):
    id: str = ""
    max_model_len: int | None = None  # vLLM


class Models(msgspec.Struct):
    data: list[Card] | None = None  # null on Ollama's /v1 with no models


class Settings(msgspec.Struct):
    n_ctx: int | None = None


class Props(msgspec.Struct):
    """llama.cpp's llama-server GET /props (llama-cpp-python has no such route)."""

    default_generation_settings: Settings | None = None
    total_slots: int | None = None
