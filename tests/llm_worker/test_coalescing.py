"""How the llm_worker paces its deltas: a closing brace goes out at once, and no second of a reply
ever carries more than MAX_PER_S deltas, early ones included."""

from __future__ import annotations

import asyncio
import bisect
import time

from bus import contract as c
from llm_worker.backends.base import Done, TextDelta
from llm_worker.runner import MAX_PER_S, Run

COMMAND = '{"action": "toggle", "target": "task", "args": {"id": 1}}'


class Recorder:
    """The bus, as far as a Run sees it: every published message with its time."""

    def __init__(self):
        self.sent: list[tuple[float, object]] = []

    async def publish(self, msg) -> None:
        self.sent.append((time.monotonic(), msg))

    def deltas(self) -> list[tuple[float, c.LlmDelta]]:
        return [(t, m) for t, m in self.sent if isinstance(m, c.LlmDelta)]


class Paced:
    """A backend that yields `tokens` with a short pause between them (about 1,000 tokens/s)."""

    name = "paced"

    def __init__(self, tokens: list[str], pause: float = 0.001):
        self.tokens, self.pause = tokens, pause

    async def stream(self, request):
        for t in self.tokens:
            yield TextDelta(t)
            await asyncio.sleep(self.pause)
        yield Done("stop")


def play(tokens: list[str]) -> Recorder:
    bus = Recorder()
    job = c.LlmJob(msg_id="acoalesce0000001", messages=[c.JobMessage(role="user", content="go")])
    asyncio.run(Run(bus, job, Paced(tokens), "m").run("w"))
    return bus


def most_in_one_second(times: list[float]) -> int:
    return max(bisect.bisect_left(times, t + 1.0) - k for k, t in enumerate(times))


def test_a_closing_brace_goes_out_at_once():
    bus = play(["Sure: ", *[COMMAND[i:i + 5] for i in range(0, len(COMMAND), 5)], " done", " and", " more"])
    texts = [m.text for _, m in bus.deltas()]
    assert "".join(texts) == "Sure: " + COMMAND + " done and more"
    assert any(t.endswith("}}") for t in texts), f"the command's last token was held back: {texts}"


def test_no_second_carries_more_than_the_budget_even_with_many_commands():
    # A command closes every 12 tokens, for well over a second: early flushes alone would exceed it.
    tokens = [piece for _ in range(150) for piece in ["word ", *[COMMAND[i:i + 6] for i in range(0, len(COMMAND), 6)]]]
    bus = play(tokens)
    deltas = bus.deltas()
    times = [t for t, _ in deltas]
    assert "".join(m.text for _, m in deltas) == "".join(tokens), "nothing lost or reordered"
    assert times[-1] - times[0] > 1.0, "the reply spans more than a second, so the window is tested"
    assert most_in_one_second(times) <= MAX_PER_S
