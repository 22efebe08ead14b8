"""The broker restarts in the middle of a reply: receivers see the gap in `seq`, the reply heals at
`llm.done` (its full text), and the crud_worker reconciles the commands without running one twice.

Whether a restart loses deltas depends on timing (ZeroMQ queues what it can while reconnecting and
drops what is published before the subscriptions are back), so this kills the broker early in a
fast reply until a gap is actually seen, and checks the healing every time."""

from __future__ import annotations

import json
import re

from tests.faults.helpers import ReplyTap, ready_count, sigkill, wait_restarted
from tests.report import STATS
from tests.fakes import Script
from tests.util import SseReader, wait_for

ATTEMPTS = 25  # a gap is seen in 2 to 7 attempts on 2 busy cores; 10 once ran out under the full suite
CHIP = re.compile(r'id="chip-(a[0-9a-f]+)-(\d+)" class="chip (\w+)"')


def chip_states(sse: SseReader, reply: str) -> list[str]:
    """What a tab shows for each of the reply's chips now: the last state any event gave it."""
    state: dict[int, str] = {}
    for e in sse.snapshot():
        for msg_id, n, cls in CHIP.findall(e.data):
            if msg_id == reply:
                state[int(n)] = cls
    return [state.get(i, "missing") for i in range(3)]


def test_a_broker_restart_mid_reply_leaves_a_gap_that_heals_at_done(stack, fake_ollama):
    gaps = 0
    with ReplyTap(stack) as tap, SseReader(stack.url, tab="gap-watch") as sse:
        for attempt in range(ATTEMPTS):
            names = [f"gap {attempt} task {i}" for i in range(3)]
            text = "Here goes. " + " then ".join(
                json.dumps({"action": "insert", "target": "task", "args": {"name": n}}) for n in names) + " Done."
            fake_ollama.enqueue(Script(tokens=[text[i:i + 3] for i in range(0, len(text), 3)], delay=0.01))
            pid, ready = stack.pid("broker"), ready_count(stack, "broker")
            warnings = stack.log().count("will reconcile at the end")
            reply = stack.chat(f"gap attempt {attempt}")
            wait_for(lambda: tap.deltas[reply] >= 2, interval=0.001, what="the reply streaming")
            sigkill(stack, "broker", pid)
            wait_restarted(stack, "broker", pid, ready)
            _, status, content, _ = stack.wait_message(reply, timeout=20)
            assert (status, content) == ("done", text), "the stored reply healed to the full text"
            with stack.db() as db:
                rows = db.execute("SELECT id, ok FROM commands WHERE msg_id = ? ORDER BY id", [reply]).fetchall()
                per_name = [db.execute("SELECT count(*) FROM tasks WHERE name = ?", [n]).fetchone()[0]
                            for n in names]
            assert rows == [(f"{reply}:{i}", 1) for i in range(3)] and per_name == [1, 1, 1]
            final = wait_for(lambda: sse.matching(f'id="msg-{reply}" class="msg assistant chat done'), 20,
                             what="the healed final bubble in the watching tab")[-1].data
            assert "Here goes." in final and "Done." in final and '"action"' not in final
            wait_for(lambda: chip_states(sse, reply) == ["ok"] * 3, 10,
                     what=f"every chip resolved in the watching tab: {chip_states(sse, reply)}")
            seen_gap = stack.log().count("will reconcile at the end") > warnings
            STATS["broker gap"]["attempts"] += 1
            if seen_gap:
                gaps += 1
                STATS["broker gap"]["gaps seen and healed"] += 1
                break
    assert gaps, f"no broker restart in {ATTEMPTS} attempts lost a delta: the gap path went untested"
