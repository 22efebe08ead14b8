"""The crud_worker stalls (SIGSTOP) while a message is sent: the person gets a clear error at
once, the message's bubbles leave every tab, it is never stored afterwards (the person was told it
wasn't sent), and everything works when it wakes up."""

from __future__ import annotations

import os
import re
import signal

from tests.faults.helpers import all_up
from tests.report import STATS
from tests.fakes import Script
from tests.util import SseReader, wait_for


def test_a_stalled_crud_worker_ends_the_reply_bubble_with_a_clear_error(stack, fake_ollama):
    pid = stack.pid("crud_worker")
    frozen = "sent while the database worker is frozen"
    with SseReader(stack.url, tab="watcher") as sse:
        os.kill(pid, signal.SIGSTOP)
        try:
            r = stack.http.post("/chat", data={"msg": frozen})
        finally:
            os.kill(pid, signal.SIGCONT)
        assert r.status_code == 422 and "did not answer in time" in r.text and "not sent" in r.text
        reply_id = wait_for(lambda: re.search(r'<article[^>]*id="msg-(a\w+)"', sse.text()),
                            what="the reply's bubble in a watching tab").group(1)
        wait_for(lambda: f'<div id="msg-{reply_id}" hx-swap-oob="delete">' in sse.text(),
                 what="and then withdrawn from it")
        STATS["crud stall"]["stalls survived"] += 1
    # Woken up, it drops what came past its deadline (the person was told it wasn't sent); the next one works.
    wait_for(lambda: all_up(stack), 15, what="all four processes up")
    assert stack.pid("crud_worker") == pid, "a stall is not a crash"
    fake_ollama.enqueue(Script(tokens=["back ", "again"]))
    reply = stack.chat("and now?")
    wait_for(lambda: (stack.message(reply) or (None, None))[1] == "done", 20, what="the next reply stored")
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM messages WHERE content = ?", [frozen]).fetchone()[0] == 0
