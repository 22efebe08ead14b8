"""A fake Ollama server, byte-faithful to its native API (see the wire-protocol reference, section 1)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

from tests.fakes._http import Conn, FakeServer, Request, go_json, rfc3339_now, serve_main
from tests.fakes.script import Script

NDJSON = "application/x-ndjson"
MIDSTREAM_ERROR = "an error was encountered while running the model"


def tag(name: str, *, size: int = 2019393189, family: str = "llama", parameter_size: str = "3.2B",
        quantization: str = "Q4_K_M", capabilities: list[str] | None = ("completion", "tools")) -> dict:
    """One /api/tags entry; capabilities=None gives the shape of servers older than 0.9.1."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    entry = {"name": name, "model": name, "modified_at": "2025-05-04T17:37:44.706015396-07:00", "size": size,
             "digest": digest, "details": {"parent_model": "", "format": "gguf", "family": family,
                                           "families": [family], "parameter_size": parameter_size,
                                           "quantization_level": quantization}}
    if capabilities is not None:
        entry["capabilities"] = list(capabilities)
    return entry


def default_models() -> list[dict]:
    return [tag("llama3.2:3b"),
            tag("nomic-embed-text:latest", size=274302450, family="nomic-bert", parameter_size="137M",
                quantization="F16", capabilities=["embedding"])]


def full_name(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


class FakeOllama(FakeServer):
    service = "ollama"

    def __init__(self, port: int = 0, host: str = "127.0.0.1", *, models: list[dict] | None = None,
                 version: str = "0.12.6", context_length: int = 131072):
        super().__init__(port, host)
        self.context_length = context_length  # the model's trained context, as /api/show says it
        self.models = default_models() if models is None else models
        self.version = version
        self.pull_error = ""  # when set, /api/pull fails after "pulling manifest" with this text
        self.pulls: list[str] = []
        self.pull_delay = 0.0  # seconds between pull progress lines (lets a test cancel mid-pull)
        self._loaded: dict[str, float] = {}

    def _model(self, name: str) -> dict | None:
        return next((m for m in self.models if full_name(m["name"]) == full_name(name)), None)

    async def handle(self, request: Request, conn: Conn) -> None:
        route = (request.method, request.path)
        head_only = request.method == "HEAD"
        if route in (("GET", "/"), ("HEAD", "/")):
            await conn.send(200, b"Ollama is running", "text/plain; charset=utf-8", head_only=head_only)
        elif route in (("GET", "/api/tags"), ("HEAD", "/api/tags")):
            await conn.send(200, go_json({"models": self.models}), "application/json; charset=utf-8",
                            head_only=head_only)
        elif route in (("GET", "/api/version"), ("HEAD", "/api/version")):
            await conn.send(200, go_json({"version": self.version}), "application/json; charset=utf-8",
                            head_only=head_only)
        elif route == ("GET", "/api/ps"):
            await self._ps(conn)
        elif route == ("POST", "/api/show"):
            await self._show(request, conn)
        elif route == ("POST", "/api/pull"):
            await self._pull(request, conn)
        elif route == ("POST", "/api/chat"):
            await self._chat(request, conn)
        else:
            await self.not_found(conn)

    async def _error(self, conn: Conn, status: int, message: str, headers=()) -> None:
        await conn.send(status, go_json({"error": message}), "application/json; charset=utf-8", headers)

    async def _ps(self, conn: Conn) -> None:
        running = []
        for name, expires in sorted(self._loaded.items(), key=lambda kv: -kv[1]):
            if (m := self._model(name)) is not None:
                until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
                running.append({"name": m["name"], "model": m["model"], "size": m["size"], "digest": m["digest"],
                                "details": m["details"], "expires_at": until, "size_vram": m["size"],
                                "context_length": 8192})
        await conn.send(200, go_json({"models": running}), "application/json; charset=utf-8")

    async def _show(self, request: Request, conn: Conn) -> None:
        body = request.json() or {}
        m = self._model(body.get("model") or body.get("name") or "")
        if m is None:
            await self._error(conn, 404, f"model '{body.get('model', '')}' not found")
            return
        await conn.send(200, go_json({"modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
                                      "details": m["details"],
                                      "model_info": {"general.architecture": m["details"]["family"],
                                                     f"{m['details']['family']}.context_length": self.context_length},
                                      "capabilities": m.get("capabilities", ["completion"])}),
                        "application/json; charset=utf-8")

    async def _pull(self, request: Request, conn: Conn) -> None:
        body = request.json() or {}
        name = body.get("model") or body.get("name") or ""
        self.pulls.append(name)
        lines = [{"status": "pulling manifest"}]
        if self.pull_error:
            lines.append({"error": f"pull model manifest: {self.pull_error}"})
        else:
            digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
            total = 2019377376
            for done in (0, total // 3, total):
                lines.append({"status": f"pulling {digest[7:19]}", "digest": digest, "total": total,
                              **({"completed": done} if done else {})})
            lines += [{"status": s} for s in ("verifying sha256 digest", "writing manifest", "removing unused layers",
                                              "success")]
            if self._model(name) is None:
                self.models.append(tag(full_name(name)))
        await conn.start(NDJSON)
        for n, line in enumerate(lines):
            if n and self.pull_delay:
                await asyncio.sleep(self.pull_delay)
            if not await conn.chunk(go_json(line) + b"\n"):
                return
        conn.end()

    async def _chat(self, request: Request, conn: Conn) -> None:
        if not request.body:
            await self._error(conn, 400, "missing request body")
            return
        try:
            body = self.record(request)
        except json.JSONDecodeError as exc:
            await self._error(conn, 400, f"invalid character in request body: {exc.msg}")
            return
        name = body.get("model") or ""
        if not name:
            await self._error(conn, 400, "model is required")
            return
        model = self._model(name)
        if model is None:
            await self._error(conn, 404, f"model '{name}' not found")
            return
        # Stricter than the real server (which only refuses think:true): any `think` sent to a model
        # without the capability is refused, so a client that sends it blindly is caught in tests.
        if "think" in body and "thinking" not in model.get("capabilities", []):
            await self._error(conn, 400, f'"{name}" does not support thinking')
            return
        script = self.next_script(body)
        if script.error_status is not None:
            headers = [("Retry-After", str(script.retry_after))] if script.retry_after is not None else []
            await self._error(conn, script.error_status, script.error_message or _default_error(script.error_status,
                                                                                               name), headers)
            return
        self._loaded[full_name(name)] = time.time() + 300
        if not body.get("messages"):
            await conn.send(200, self._line(name, "", done=True, done_reason="load"), "application/json; charset=utf-8")
            return
        pieces = [self._line(name, "", thinking=t) for t in script.thinking]
        pieces += [self._line(name, t) for t in script.tokens]
        if script.tool_calls:
            pieces.append(self._line(name, "", tool_calls=script.tool_calls))
        done = self._line(name, script.done_content, done=True, done_reason=script.done_reason, script=script)
        if body.get("stream") is False:
            await self._whole(conn, name, script)
            return
        error = go_json({"error": script.error_message or MIDSTREAM_ERROR}) + b"\n"
        await self.play(conn, script, content_type=NDJSON, pieces=script.raw or pieces,
                        tail=() if script.raw else (done,), error_piece=error)

    async def _whole(self, conn: Conn, name: str, script: Script) -> None:
        content = "".join(script.tokens) + script.done_content
        line = self._line(name, content, thinking="".join(script.thinking), tool_calls=script.tool_calls, done=True,
                          done_reason=script.done_reason, script=script)
        await conn.send(200, line.rstrip(b"\n"), "application/json; charset=utf-8")

    def _line(self, model: str, content: str, *, thinking: str = "", tool_calls: list[dict] | None = None,
              done: bool = False, done_reason: str = "", script: Script | None = None) -> bytes:
        message: dict = {"role": "assistant", "content": content}
        if thinking:
            message["thinking"] = thinking
        if tool_calls:
            message["tool_calls"] = [
                {"id": "call_" + hashlib.sha1(f"{i}{c['name']}".encode()).hexdigest()[:8],
                 "function": {"index": i, "name": c["name"], "arguments": c.get("arguments", {})}}
                for i, c in enumerate(tool_calls)]
        obj: dict = {"model": model, "created_at": rfc3339_now(), "message": message, "done": done}
        if done_reason:
            obj["done_reason"] = done_reason
        if script is not None:
            eval_ns = max(1, script.completion_tokens) * max(int(script.delay * 1e9), 12_000_000)
            obj.update(total_duration=eval_ns + 395_000_000, load_duration=52_875_000,
                       prompt_eval_count=script.prompt_tokens, prompt_eval_duration=342_546_000,
                       eval_count=script.completion_tokens, eval_duration=eval_ns)
        return go_json(obj) + b"\n"


def _default_error(status: int, model: str) -> str:
    return {404: f"model '{model}' not found", 429: "too many requests", 400: "invalid request",
            401: "unauthorized", 503: "server busy, please try again.  maximum pending requests exceeded"}.get(
        status, "the model failed to generate a response")


if __name__ == "__main__":
    serve_main(FakeOllama, 11434)
