"""A fake Anthropic Messages API, streaming the SDK's recorded fixture shape (reference §3)."""

from __future__ import annotations

import hashlib
import json

from tests.fakes._http import Conn, FakeServer, Request, group_frames, serve_main
from tests.fakes.script import Script

SSE = "text/event-stream; charset=utf-8"
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 529: "overloaded_error"}
STOP = {"stop": "end_turn", "length": "max_tokens"}


def _event(name: str, obj) -> bytes:
    return f"event: {name}\ndata: {json.dumps(obj, separators=(',', ':'), ensure_ascii=False)}\n\n".encode()


PING = b'event: ping\ndata: {"type": "ping"}\n\n'  # the real server puts a space in this one


class FakeAnthropic(FakeServer):
    service = "anthropic"

    def __init__(self, port: int = 0, host: str = "127.0.0.1", *, api_key: str | None = None,
                 models: list[str] | None = None):
        super().__init__(port, host)
        self.api_key = api_key  # None accepts any non-empty key
        self.models = list(models) if models is not None else ["claude-sonnet-4-5", "claude-3-5-haiku-latest"]

    async def handle(self, request: Request, conn: Conn) -> None:
        route = (request.method, request.path)
        if route == ("GET", "/v1/models"):
            if await self._authorized(request, conn):
                data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-02-19T00:00:00Z"}
                        for m in self.models]
                await conn.send_json(200, {"data": data, "has_more": False,
                                           "first_id": self.models[0] if data else None,
                                           "last_id": self.models[-1] if data else None})
        elif route == ("POST", "/v1/messages"):
            await self._messages(request, conn)
        else:
            await self._error(conn, 404, f"Not found: {request.path}")

    async def _error(self, conn: Conn, status: int, message: str, type_: str = "", headers=()) -> None:
        body = {"type": "error", "error": {"type": type_ or ERROR_TYPES.get(status, "api_error"), "message": message},
                "request_id": "req_011CfakeFAKEfake"}
        await conn.send_json(status, body, headers)

    async def _authorized(self, request: Request, conn: Conn) -> bool:
        key = request.headers.get("x-api-key", "")
        if key and (self.api_key is None or key == self.api_key):
            return True
        await self._error(conn, 401, "invalid x-api-key")
        return False

    async def _messages(self, request: Request, conn: Conn) -> None:
        try:
            body = self.record(request)
        except json.JSONDecodeError:
            await self._error(conn, 400, "The request body is not valid JSON.")
            return
        if not await self._authorized(request, conn):
            return
        if not request.headers.get("anthropic-version"):
            await self._error(conn, 400, "anthropic-version: header is required")
            return
        if "max_tokens" not in body:
            await self._error(conn, 400, "max_tokens: Field required")
            return
        if any(m.get("role") == "system" for m in body.get("messages", [])):
            await self._error(conn, 400, 'messages: Unexpected role "system". Use the top-level `system` parameter.')
            return
        model = body.get("model", "")
        if model not in self.models:
            await self._error(conn, 404, f"model: {model}")
            return
        script = self.next_script()
        if script.error_status is not None:
            headers = [("retry-after", str(script.retry_after))] if script.retry_after is not None else []
            message = script.error_message or ("Overloaded" if script.error_status == 529 else "Error")
            await self._error(conn, script.error_status, message, script.error_type, headers)
            return
        head, pieces, tail = group_frames(self._frames(model, script))
        error_type, message = script.error_type or "overloaded_error", script.error_message or "Overloaded"
        error = (b'event: error\ndata: {"type": "error", "error": {"type": "%s", "message": "%s"}}\n\n'
                 % (error_type.encode(), message.encode()))
        if script.raw is not None:
            head, pieces, tail = (), script.raw, ()
        await self.play(conn, script, content_type=SSE, head=head, pieces=pieces, tail=tail, error_piece=error)

    def _frames(self, model: str, script: Script) -> list[tuple[bytes, bool]]:
        msg_id = "msg_" + hashlib.sha1(model.encode()).hexdigest()[:24]
        frames = [(_event("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "content": [], "model": model, "stop_reason": None,
            "stop_sequence": None, "usage": {"input_tokens": script.prompt_tokens, "output_tokens": 1}}}), False)]
        index = 0
        pinged = False

        def block(start: dict, deltas: list[dict], stop_extra: tuple[dict, ...] | list[dict] = ()) -> None:
            nonlocal index, pinged
            frames.append((_event("content_block_start", {"type": "content_block_start", "index": index,
                                                          "content_block": start}), False))
            if not pinged:
                frames.append((PING, False))
                pinged = True
            for delta in deltas:
                frames.append((_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                              "delta": delta}), True))
            for delta in stop_extra:
                frames.append((_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                              "delta": delta}), False))
            frames.append((_event("content_block_stop", {"type": "content_block_stop", "index": index}), False))
            index += 1

        if script.thinking:
            block({"type": "thinking", "thinking": ""},
                  [{"type": "thinking_delta", "thinking": t} for t in script.thinking],
                  [{"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}])
        if script.tokens or not script.tool_calls:
            block({"type": "text", "text": ""}, [{"type": "text_delta", "text": t} for t in script.tokens])
        for i, call in enumerate(script.tool_calls):
            args = json.dumps(call.get("arguments", {}))
            step = max(1, len(args) // 3)
            parts = [""] + [args[s:s + step] for s in range(0, len(args), step)]
            block({"type": "tool_use", "id": f"toolu_01{hashlib.sha1(call['name'].encode()).hexdigest()[:22]}",
                   "name": call["name"], "input": {}},
                  [{"type": "input_json_delta", "partial_json": p} for p in parts])
        stop = "tool_use" if script.tool_calls else STOP.get(script.done_reason, script.done_reason)
        frames.append((_event("message_delta", {"type": "message_delta",
                                                "delta": {"stop_reason": stop, "stop_sequence": None},
                                                "usage": {"output_tokens": script.completion_tokens}}), False))
        frames.append((_event("message_stop", {"type": "message_stop"}), False))
        return frames


if __name__ == "__main__":
    serve_main(FakeAnthropic, 8081)
