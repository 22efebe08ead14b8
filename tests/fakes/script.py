"""What a fake model server should do for one chat request."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_TOKENS = ["Hello", " from", " the", " fake", " model", ".", " Nothing", " to", " see", " here", "."]
DEFAULT_DELAY = 0.01


@dataclass
class Script:
    """One scripted reply.

    Fault positions count the token pieces sent so far (thinking pieces, then text pieces,
    then tool-call pieces): `error_after=2` sends two pieces, then the server's mid-stream
    error and a clean end; `eof_after` drops the connection without finishing the chunked
    body; `stall_after` stops sending and holds the connection open until the client leaves.
    """

    tokens: list[str] = field(default_factory=lambda: list(DEFAULT_TOKENS))
    delay: float = 0.0               # seconds before each piece after the first
    rate: float = 0.0                # or: pieces per second on a fixed schedule (the bench's pace)
    ttft: float = 0.0                # seconds before the response headers (a model load)
    thinking: list[str] = field(default_factory=list)
    tool_calls: list[dict] = field(default_factory=list)  # [{"name": str, "arguments": dict}]
    done_content: str = ""           # Ollama: text carried by the done line itself
    done_reason: str = "stop"
    error_status: int | None = None  # answer with this HTTP status and the server's error body
    error_message: str = ""          # text for error_status / error_after (a realistic default otherwise)
    error_type: str = ""             # OpenAI/Anthropic error type or code override
    error_after: int | None = None
    eof_after: int | None = None
    stall_after: int | None = None
    retry_after: str | float | None = None  # Retry-After header on an error response
    prompt_tokens: int = 26
    cached_tokens: int = 0           # of prompt_tokens, taken from the server's prompt cache (llama-server's cache_n)
    extra: dict = field(default_factory=dict)  # OpenAI: extra keys merged into every chunk
    raw: list[bytes] | None = None   # send these body pieces verbatim (delay between) instead of a rendered reply
    content_type: str = ""           # override the streaming Content-Type (with raw)
    written_ns: list[int] = field(default_factory=list)  # out: when each piece was written (monotonic)

    @property
    def completion_tokens(self) -> int:
        return len(self.thinking) + len(self.tokens)
