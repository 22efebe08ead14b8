"""The built-in demo model: no LLM needed, deterministic, streamed at a believable pace."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from llm_worker.backends.base import ChatRequest, Done, Event, ModelInfo, Probe, TextDelta, Usage
from llm_worker.backends.demo_replies import LIST_NOTE, reply_to, without_list

MODEL = "ghostwire-demo"

# A word with its leading whitespace, or a run of punctuation with its leading whitespace, or
# trailing whitespace. Joined back together the pieces give the exact text, and a JSON command
# comes out in several pieces ('{"', 'action', '":', ' "', 'insert', ...) like a real tokenizer's.
_TOKEN = re.compile(r"\s*(?:\w+(?:['\u2019]\w+)*|[^\w\s]+)|\s+")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


class DemoBackend:
    name = "demo"
    streaming = 0
    probe_while_streaming = True  # nothing to interrupt

    def __init__(self, rate: float = 40.0):
        self.rate = rate  # tokens per second; 0 = as fast as possible

    def __repr__(self) -> str:
        return f"DemoBackend(rate={self.rate!r})"

    async def probe(self) -> Probe:
        return Probe(reachable=True, models=(ModelInfo(name=MODEL, capabilities=("completion",)),), model=MODEL,
                     detail="You are chatting with the built-in demo model (LLM_BACKEND=demo): it knows a few "
                            "phrases, not the world.")

    async def aclose(self) -> None:
        return None

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        last_user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        # The list goes to the model only when it changed: the newest one sent is the one the model knows.
        listing = next((without_list(m.content)[1] for m in reversed(request.messages)
                        if m.role == "user" and LIST_NOTE in m.content), "")
        tokens = tokenize(reply_to(last_user, listing))
        pause = 1.0 / self.rate if self.rate > 0 else 0.0
        for i, token in enumerate(tokens):
            # Sleep even at rate 0 (for zero seconds) so a cancel can land between tokens.
            await asyncio.sleep(pause if i else 0.0)
            yield TextDelta(token)
        prompt = sum(len(m.content.split()) for m in request.messages) + len(request.system.split())
        yield Usage(prompt_tokens=prompt, completion_tokens=len(tokens))
        yield Done(reason="stop")
