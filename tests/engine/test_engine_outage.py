"""A killed engine is a model outage the page shows, and supervisord brings it back: the reply it was
writing ends saying so, the status line says the local backend is down, and once the engine has reloaded
its model the next message is answered, with no restart of the app."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.engine.conftest import FIGURES, LOAD_TIMEOUT_S, serving, worker_if
from tests.engine.helpers import appends, final_bubble, stored
from tests.util import SseReader, wait_for

pytestmark = pytest.mark.timeout(600)  # real replies on a shared 2-core machine (see helpers.REPLY_TIMEOUT_S)


def test_a_killed_engine_is_shown_down_and_comes_back(stack):
    before = stack.pid("engine")
    with SseReader(stack.url, tab="outage") as sse:
        reply = stack.chat("Tell me a very long story about a dragon, with many chapters.")
        wait_for(lambda: appends(sse, reply) >= 3, 60, what="the reply to start streaming")
        os.kill(before, signal.SIGKILL)
        killed_at = time.monotonic()
        row = stored(stack, reply, timeout=30)
        final_bubble(sse, reply)
        # The reply's failure makes the llm_worker look again at once, while the new engine still loads.
        down = wait_for(lambda: worker_if(stack, lambda w: not w["reachable"]), 10, interval=0.05,
                        what="the status to show the local engine down")
        shown_down = wait_for(lambda: sse.matching(r'id="status".*class="backend[^"]* down'), 10,
                              what="the page's status line to show the backend down")
    assert row.status == "failed" and "local engine" in row.error.lower(), row
    assert down["backend"] == "local" and down["note"], down
    assert shown_down
    up = wait_for(lambda: serving(stack), LOAD_TIMEOUT_S, interval=0.2, what="the engine to serve again")
    back_after = time.monotonic() - killed_at
    assert stack.pid("engine") != before, "supervisord started a new engine"
    with SseReader(stack.url, tab="after") as sse:
        again = stack.chat("hi")
        final_bubble(sse, again)
    after = stored(stack, again)
    assert (after.status, after.error) == ("done", ""), after
    assert up["model"]
    FIGURES.append(f"killed engine: shown down ({down['note'][:60]}…), serving again {back_after:.1f} s "
                   "after the kill")
