"""A fake OpenAI-compatible server: Chat Completions streaming as recorded from the real API (reference §2)."""

from __future__ import annotations

import hashlib
import json
import time

from tests.fakes._http import Conn, FakeServer, Request, group_frames, serve_main
from tests.fakes.script import Script

SSE = "text/event-stream; charset=utf-8"
CHARS_PER_TOKEN = 4  # how the fake counts a prompt's tokens against n_ctx
ERRORS = {  # status -> (type, code, message) in OpenAI's error body
    400: ("invalid_request_error", None, "Invalid request."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found",
          "The model `{model}` does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for {model}. Please try again in 20s."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def _dump(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _frame(obj) -> bytes:
    return b"data: " + _dump(obj) + b"\n\n"


def _masked(key: str) -> str:
    """How OpenAI echoes a wrong key: a few characters from each end (so clients must never repeat it)."""
    return f"{key[:8]}***{key[-4:]}" if len(key) > 12 else "***"


class FakeOpenAI(FakeServer):
    service = "openai"
    url_suffix = "/v1"

    def __init__(self, port: int = 0, host: str = "127.0.0.1", *, api_key: str | None = None,
                 models: list[str] | None = ("gpt-4o-mini", "text-embedding-3-small")):
        super().__init__(port, host)
        self.api_key = api_key  # None accepts any bearer token
        self.models = None if models is None else list(models)  # None is served as "data": null
        # Options for servers other than OpenAI's own (see `llama_cpp`):
        self.usage = True          # False: no usage chunk, even when include_usage asks for one
        self.any_model = False     # True: any model name is accepted and echoed
        self.n_ctx: int | None = None  # a prompt over this many tokens gets an empty 200 when streaming
        self.props: dict | None = None  # served at GET /props (llama-server), else 404
        self.pings = False         # a keep-alive comment before every piece after the first
        self.response_formats: tuple[str, ...] | None = None  # the response_format types taken (None: any)
        self.llama_server = False  # chunks as llama.cpp's own server writes them, with its `timings`

    @classmethod
    def llama_cpp(cls, model_path: str = "/models/SmolLM2-135M-Instruct.Q4_1.gguf", n_ctx: int = 4096,
                  props: bool = False, **kwargs) -> FakeOpenAI:
        """llama-cpp-python 0.3.36's server as observed (reference: llama-cpp-server.md); with `props`,
        also llama-server's GET /props saying its context and one slot."""
        fake = cls(models=[model_path], **kwargs)
        fake.usage, fake.any_model, fake.n_ctx, fake.pings, fake.interrupts = False, True, n_ctx, True, True
        fake.response_formats = ("text", "json_object")  # json_object may carry a "schema"; json_schema: a 500
        if props:
            fake.props = {"default_generation_settings": {"n_ctx": n_ctx}, "total_slots": 1, "model_path": model_path}
        return fake

    @classmethod
    def llama_server(cls, model_path: str = "/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", n_ctx: int = 8192,
                     **kwargs) -> FakeOpenAI:
        """llama.cpp's own server (xllamacpp, reference: xllamacpp.md) with one slot: compact chunks keyed
        as it keys them, usage with `prompt_tokens_details.cached_tokens` and `timings` (cache_n, prompt_n,
        …) in the last chunk; a second request waits for the first (it is never cut)."""
        fake = cls(models=[model_path], **kwargs)
        fake.any_model, fake.llama_server, fake.one_slot = True, True, True
        fake.props = {"default_generation_settings": {"n_ctx": n_ctx}, "total_slots": 1, "model_path": model_path}
        return fake

    async def handle(self, request: Request, conn: Conn) -> None:
        route = (request.method, request.path)
        if route == ("GET", "/props") and self.props is not None:
            await conn.send_json(200, self.props)
        elif route == ("GET", "/v1/models"):
            if await self._authorized(request, conn):
                data = None if self.models is None else [
                    {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"} for m in self.models]
                await conn.send_json(200, {"object": "list", "data": data})
        elif route == ("POST", "/v1/chat/completions"):
            await self._chat(request, conn)
        else:
            await self._error(conn, 404, "invalid_request_error", None,
                              f"Invalid URL ({request.method} {request.path})")

    async def _error(self, conn: Conn, status: int, type_: str, code: str | None, message: str, headers=()) -> None:
        body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
        await conn.send(status, json.dumps(body, indent=2).encode() + b"\n", "application/json; charset=utf-8", headers)

    async def _authorized(self, request: Request, conn: Conn) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if self.api_key is None or given == self.api_key:
            return True
        message = (f"Incorrect API key provided: {_masked(given)}. You can find your API key at "
                   "https://platform.openai.com/account/api-keys.") if given else \
            "You didn't provide an API key. You need to provide your API key in an Authorization header."
        await self._error(conn, 401, "invalid_request_error", "invalid_api_key" if given else None, message)
        return False

    async def _chat(self, request: Request, conn: Conn) -> None:
        try:
            body = self.record(request)
        except json.JSONDecodeError:
            await self._error(conn, 400, "invalid_request_error", None,
                              "We could not parse the JSON body of your request.")
            return
        if not await self._authorized(request, conn):
            return
        model = body.get("model") or ""
        if not model or not body.get("messages"):
            await self._error(conn, 400, "invalid_request_error", None, "you must provide a model and messages")
            return
        if self.models is not None and model not in self.models and not self.any_model:
            type_, code, text = ERRORS[404]
            await self._error(conn, 404, type_, code, text.format(model=model))
            return
        kind = (body.get("response_format") or {}).get("type")
        if self.response_formats is not None and kind is not None and kind not in self.response_formats:
            # llama-cpp-python 0.3.36's answer to a type its pydantic model lacks, as observed (trace shortened)
            expected = " or ".join(f"'{t}'" for t in self.response_formats)
            await self._error(conn, 500, "internal_server_error", None, (
                f"1 validation error:\n  {{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                f"'msg': \"Input should be {expected}\", 'input': '{kind}', 'ctx': {{'expected': \"{expected}\"}}}}"
                "\n\n  File \"llama_cpp/server/app.py\", line 376, in create_chat_completion"
                "\n    POST /v1/chat/completions"))
            return
        script = self.next_script(body)
        if script.error_status is not None:
            type_, code, text = ERRORS.get(script.error_status, ERRORS[500 if script.error_status >= 500 else 400])
            headers = [("retry-after", str(script.retry_after))] if script.retry_after is not None else []
            await self._error(conn, script.error_status, script.error_type or type_, code,
                              script.error_message or text.format(model=model), headers)
            return
        if not body.get("stream"):
            await conn.send_json(200, self._whole(model, script))
            return
        if self.n_ctx is not None and len(json.dumps(body["messages"])) // CHARS_PER_TOKEN > self.n_ctx:
            await conn.start(SSE)  # llama.cpp's overflow when streaming: event-stream headers, an empty body
            conn.end()
            return
        include_usage = self.usage and bool((body.get("stream_options") or {}).get("include_usage"))
        frames = (_llama_frames if self.llama_server else self._frames)(model, script, include_usage)
        head, pieces, tail = group_frames(frames)
        error = b"event: error\ndata: " + _dump({"error": {
            "message": script.error_message or "The server had an error while processing your request.",
            "type": script.error_type or "server_error", "param": None, "code": None}}) + b"\n\n"
        if script.raw is not None:
            head, pieces, tail = (), script.raw, ()
        ping = f": ping - {time.strftime('%Y-%m-%d %H:%M:%S')}.000000+00:00\r\n\r\n".encode() if self.pings else b""
        sse = "text/event-stream" if self.llama_server else SSE
        await self.play(conn, script, content_type=sse, head=head, pieces=pieces, tail=tail, error_piece=error,
                        interrupt_piece=b"data: [DONE]\n\n", ping=ping)

    def _frames(self, model: str, script: Script, include_usage: bool) -> list[tuple[bytes, bool]]:
        base = {"id": "chatcmpl-" + hashlib.sha1(str(time.time_ns()).encode()).hexdigest()[:29],
                "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                "system_fingerprint": "fp_fake"}

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return _frame({**base, "choices": [choice], **script.extra})

        frames = [(chunk({"role": "assistant", "content": "", "refusal": None}), False)]
        frames += [(chunk({"reasoning": t}), True) for t in script.thinking]
        frames += [(chunk({"content": t}), True) for t in script.tokens]
        for i, call in enumerate(script.tool_calls):
            call_id = "call_" + hashlib.sha1(f"{i}{call['name']}".encode()).hexdigest()[:24]
            frames.append((chunk({"role": "assistant", "content": None, "tool_calls": [
                {"index": i, "id": call_id, "type": "function", "function": {"name": call["name"], "arguments": ""}}]}),
                True))
            args = json.dumps(call.get("arguments", {}))
            step = max(1, len(args) // 3)
            for start in range(0, len(args), step):
                fragment = {"index": i, "function": {"arguments": args[start:start + step]}}
                frames.append((chunk({"tool_calls": [fragment]}), True))
        finish = "tool_calls" if script.tool_calls else script.done_reason
        frames.append((chunk({}, finish), False))
        if include_usage:
            usage = {"prompt_tokens": script.prompt_tokens, "completion_tokens": script.completion_tokens,
                     "total_tokens": script.prompt_tokens + script.completion_tokens,
                     "completion_tokens_details": {"reasoning_tokens": len(script.thinking)}}
            frames.append((_frame({**base, "choices": [], "usage": usage}), False))
        frames.append((b"data: [DONE]\n\n", False))
        return frames

    def _whole(self, model: str, script: Script) -> dict:
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(script.tokens)},
                             "logprobs": None, "finish_reason": script.done_reason}],
                "usage": {"prompt_tokens": script.prompt_tokens, "completion_tokens": script.completion_tokens,
                          "total_tokens": script.prompt_tokens + script.completion_tokens}}


def _llama_frames(model: str, script: Script, include_usage: bool) -> list[tuple[bytes, bool]]:
    """A stream as llama.cpp's server (b0-unknown, in xllamacpp) writes it, key order and all."""
    stamp, cid = int(time.time()), "chatcmpl-" + hashlib.sha1(str(time.time_ns()).encode()).hexdigest()[:32]
    tail = {"created": stamp, "id": cid, "model": model, "system_fingerprint": "b0-unknown",
            "object": "chat.completion.chunk"}

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        return _frame({"choices": [{"finish_reason": finish, "index": 0, "delta": delta}], **tail})

    frames = [(chunk({"role": "assistant", "content": None}), False)]
    frames += [(chunk({"reasoning_content": t}), True) for t in script.thinking]
    frames += [(chunk({"content": t}), True) for t in script.tokens]
    frames.append((chunk({}, script.done_reason), False))
    if include_usage:
        evaluated, made = script.prompt_tokens - script.cached_tokens, script.completion_tokens
        prompt_ms, predicted_ms = evaluated * 16.5, made * 50.0  # ~60 and 20 tokens/s, as measured here
        timings = {"cache_n": script.cached_tokens, "prompt_n": evaluated, "prompt_ms": prompt_ms,
                   "prompt_per_token_ms": prompt_ms / max(evaluated, 1),
                   "prompt_per_second": evaluated / prompt_ms * 1000 if evaluated else 0.0,
                   "predicted_n": made, "predicted_ms": predicted_ms,
                   "predicted_per_token_ms": predicted_ms / max(made, 1),
                   "predicted_per_second": made / predicted_ms * 1000 if made else 0.0}
        usage = {"completion_tokens": made, "prompt_tokens": script.prompt_tokens,
                 "total_tokens": script.prompt_tokens + made,
                 "prompt_tokens_details": {"cached_tokens": script.cached_tokens}}
        frames.append((_frame({"choices": [], **tail, "usage": usage, "timings": timings}), False))
    frames.append((b"data: [DONE]\n\n", False))
    return frames


if __name__ == "__main__":
    serve_main(FakeOpenAI, 8080)
