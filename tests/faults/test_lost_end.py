"""A reply's end (llm.done / llm.error) that the crud_worker never hears.

ZeroMQ PUB/SUB drops what is published while a subscriber is down or re-subscribing. The deltas
heal from `llm.done`'s full text; a lost `llm.done` itself must heal too (the worker keeps recent
ends and publishes them again on `llm.resend`), or the reply is never stored (crud_worker
restarted) or stays "in flight" forever (broker restarted while the worker kept beating), with a
spinning bubble and no comments on clicks ever again.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from bus import contract as c
from bus.client import Bus
from tests.buspeer import settings_for
from tests.faults.helpers import ReplyTap, ready_count, sigkill, wait_restarted
from tests.report import STATS
from tests.fakes import Script
from tests.util import SseReader, wait_for

@pytest.fixture(scope="module")
def tap(stack):
    with ReplyTap(stack) as t:
        yield t


def test_a_reply_that_ends_while_crud_worker_is_down_is_still_stored(stack, fake_ollama, tap):
    command = json.dumps({"action": "insert", "target": "task", "args": {"name": "ended while crud was down"}})
    tokens = ["Adding ", "it: ", *[command[i:i + 8] for i in range(0, len(command), 8)], " done."]
    fake_ollama.enqueue(Script(tokens=tokens, delay=0.005))
    pid, ready = stack.pid("crud_worker"), ready_count(stack, "crud_worker")
    reply = stack.chat("add it while the database worker restarts")
    wait_for(lambda: tap.deltas[reply] >= 1, interval=0.001, what="the first delta")
    sigkill(stack, "crud_worker", pid)
    wait_for(lambda: reply in tap.ended, what="the reply's end on the bus")
    ended = tap.ended_at[reply]
    wait_restarted(stack, "crud_worker", pid, ready)
    back = time.monotonic()
    assert ended < back, "precondition: the reply ended before crud_worker was back"
    STATS["lost end"]["crud_worker down at the end"] += 1
    _, status, content, _ = stack.wait_message(reply, timeout=6)
    assert (status, content) == ("done", "".join(tokens))
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM tasks WHERE name = 'ended while crud was down'").fetchone() == (1,)


class FakeWorker(threading.Thread):
    """An llm_worker on the bus that streams part of a reply, loses its `llm.done` (never published),
    and keeps beating with `active=[]`, exactly what a real worker does after a broker restart ate its end."""

    def __init__(self, stack, msg_id: str, text: str):
        super().__init__(daemon=True)
        self.stack, self.msg_id, self.text = stack, msg_id, text
        self.halt = threading.Event()
        self.streamed = threading.Event()

    def run(self) -> None:
        asyncio.run(self._go())

    async def _go(self) -> None:
        bus = Bus(settings_for(self.stack), "llm_worker")
        try:
            await bus.wait_ready()
            beat = lambda active: bus.health(backend="ollama", model="fake", active=active)  # noqa: E731
            await bus.publish(beat([self.msg_id]))
            await bus.publish(c.LlmStart(msg_id=self.msg_id, worker=bus.instance, backend="ollama", model="fake"))
            for seq, i in enumerate(range(0, len(self.text), 9), start=1):
                await bus.publish(c.LlmDelta(msg_id=self.msg_id, seq=seq, text=self.text[i:i + 9]))
            self.streamed.set()
            while not self.halt.is_set():  # the end is lost; the worker lives on, running nothing
                await bus.publish(beat([]))
                await asyncio.sleep(0.25)
        finally:
            bus.close()


def test_a_reply_whose_end_was_lost_does_not_stay_in_flight_forever(stack, fake_ollama):
    msg_id = "alostend000000001"
    text = 'Sure. {"action": "insert", "target": "task", "args": {"name": "lost end task"}} And then'
    worker = FakeWorker(stack, msg_id, text)
    with SseReader(stack.url, tab="lost") as sse:
        worker.start()
        try:
            assert worker.streamed.wait(10)
            wait_for(lambda: "lost end task" in [t[1] for t in stack.tasks()], what="the command ran")
            STATS["lost end"]["simulated lost llm.done"] += 1
            # However it is healed (the end re-sent, or the reply failed as lost), it must end, and soon.
            stored = wait_for(lambda: stack.message(msg_id), 6, what="the reply stored")
            assert stored[1] in ("done", "failed") and stored[2].startswith("Sure.")
            wait_for(lambda: sse.matching(f'id="msg-{msg_id}" class="msg assistant chat (done|failed)'),
                     what="the bubble no longer streaming")
            # And the model is back to commenting on clicks (a reply in flight holds comments back).
            sent = len(fake_ollama.requests)
            task_id = next(t[0] for t in stack.tasks() if t[1] == "lost end task")
            assert stack.http.post(f"/tasks/{task_id}/toggle").status_code == 200
            fake_ollama.wait_for(lambda: len(fake_ollama.requests) > sent, timeout=10)
        finally:
            worker.halt.set()
            worker.join(5)
