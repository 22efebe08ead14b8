"""The bench's model server: the tests' fake Ollama (tests/fakes/ollama.py, byte-faithful and proved
with the official client), playing scripted replies at a set token rate. The fake stamps, per token,
the monotonic time it wrote it to the socket; it runs its own event loop in a thread of the benchmark
process, so its clock is the clients' clock.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from tests import fakes

MODEL = "bench:latest"
KEY = re.compile(r"\bbench-run-([0-9a-z]+)\b")
# The command language's insert, cut where a tokenizer might cut it; the last piece closes it.
COMMAND_PIECES = ('{"action": ', '"insert", ', '"target": ', '"task", ', '"args": ', '{"name": ', '"{name}"', "}}")


@dataclass
class Script:
    """One reply: its tokens, which of them are markers or close a command, and what the fake did with it."""

    key: str
    tokens: list[str]
    rate: float  # tokens per second; 0 = as fast as the socket takes them
    markers: dict[int, str]  # token index -> marker text (prose)
    closers: dict[int, str]  # token index -> task name its command inserts
    played: fakes.Script = field(init=False)  # what the fake plays, and where it stamps its writes
    requested_ns: int = 0  # when its request came; a script plays once

    def __post_init__(self) -> None:
        self.played = fakes.Script(tokens=self.tokens, rate=self.rate, prompt_tokens=26)

    @property
    def written_ns(self) -> list[int]:
        return self.played.written_ns

    @property
    def hung_up(self) -> bool:
        """The worker left before the fake wrote every token."""
        return bool(self.requested_ns) and len(self.written_ns) < len(self.tokens)

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def marker(key: str, i: int) -> str:
    """Unique inside a reply, no characters HTML escapes, no braces or newlines the command splitter holds."""
    return f"{key}w{i:x} "


def build_script(key: str, n_tokens: int, rate: float, n_commands: int = 0) -> Script:
    """`n_tokens` marker tokens, with `n_commands` inserts spread evenly between them."""
    at = {round((k + 1) * n_tokens / (n_commands + 1)) for k in range(n_commands)}
    tokens: list[str] = []
    markers: dict[int, str] = {}
    closers: dict[int, str] = {}
    for i in range(n_tokens):
        if i in at:
            name = f"gwb-{key}-c{len(closers)}"
            tokens.extend(p.replace("{name}", name) for p in COMMAND_PIECES)
            closers[len(tokens) - 1] = name
            tokens.append(" ")
        markers[len(tokens)] = marker(key, i)
        tokens.append(markers[len(tokens)])
    return Script(key=key, tokens=tokens, rate=rate, markers=markers, closers=closers)


class FakeModel:
    """The fake Ollama with bench scripts picked by the `bench-run-<key>` in the last user message."""

    def __init__(self, host: str = "127.0.0.1"):
        self.server = fakes.FakeOllama(host=host, models=[fakes.tag(MODEL, capabilities=["completion"])])
        self.server.pick = self._pick
        self.scripts: dict[str, Script] = {}
        self.unscripted = 0  # requests that matched no script (follow-ups, comments): answered "ok"

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def native_id(self) -> int:
        return self.server.native_id

    def start(self) -> FakeModel:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def add(self, script: Script) -> Script:
        self.scripts[script.key] = script
        return script

    def _pick(self, body: dict) -> fakes.Script:
        users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
        found = KEY.search(users[-1]) if users else None
        script = self.scripts.get(found.group(1)) if found else None
        if script is None or script.requested_ns:
            self.unscripted += 1
            return fakes.Script(tokens=["ok"])
        script.requested_ns = time.monotonic_ns()
        return script.played
