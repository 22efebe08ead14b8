"""The crud_worker stalls (SIGSTOP) while a message is sent: the person gets a clear error at
once, no bubble is left spinning in any tab, and everything works when it wakes up."""

from __future__ import annotations

import os
import signal

from tests.faults.helpers import STATS, all_up
from tests.fakes import Script
from tests.util import SseReader, wait_for


def test_a_stalled_crud_worker_ends_the_reply_bubble_with_a_clear_error(stack, fake_ollama):
    pid = stack.pid("crud_worker")
    with SseReader(stack.url, tab="watcher") as sse:
        os.kill(pid, signal.SIGSTOP)
        try:
            r = stack.http.post("/chat", data={"msg": "sent while the database worker is frozen"})
        finally:
            os.kill(pid, signal.SIGCONT)
        assert r.status_code == 422 and "did not answer in time" in r.text
        wait_for(lambda: sse.matching(r'class="msg assistant chat failed"[^>]*>.*did not answer in time'),
                 what="the reply bubble ended as failed in a watching tab")
        STATS["crud stall"]["stalls survived"] += 1
    # Woken up, it still handles what it was sent (the message is kept), and the next one works.
    wait_for(lambda: all_up(stack), 15, what="all four processes up")
    assert stack.pid("crud_worker") == pid, "a stall is not a crash"
    fake_ollama.enqueue(Script(tokens=["back ", "again"]))
    reply = stack.chat("and now?")
    wait_for(lambda: (stack.message(reply) or (None, None))[1] == "done", 20, what="the next reply stored")
