"""A tab that loses `/events` and comes back: with a Last-Event-ID the buffer covers it gets exactly
what it missed (ids compared: no duplicates, no holes); with one the buffer can't cover (too old,
another web process, nonsense) it gets one snapshot of #chat-log, #task-list and #status. Coming
back never makes a finished reply run again."""

from __future__ import annotations

import json
import re
import time

import pytest

from bus import contract as c
from tests.buspeer import publish
from tests.faults.helpers import ready_count, sigkill, wait_restarted
from tests.report import STATS
from tests.fakes import Script
from tests.util import SseReader, wait_for

REPLAY = 5_000  # web/live/fanout.py's replay buffer


def ids(events) -> list[tuple[str, int]]:
    out = []
    for e in events:
        epoch, _, n = e.id.rpartition("-")
        out.append((epoch, int(n)))
    return out


def after(events, last_id: str):
    """The events that came after `last_id` in a reader that saw it."""
    seen = [e.id for e in events]
    return events[seen.index(last_id) + 1:]


def is_snapshot(data: str) -> bool:
    def swapped(elt_id: str) -> bool:
        tag = re.search(rf'<[a-z]+ [^>]*id="{elt_id}"[^>]*>', data)
        return bool(tag) and 'hx-swap-oob="true"' in tag.group(0)

    return swapped("chat-log") and swapped("task-list") and swapped("status")


def hold(predicate, seconds: float = 0.3, what: str = "condition") -> None:
    """Assert that `predicate()` stays true for a little while (something that must NOT happen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert predicate(), what
        time.sleep(0.02)


def sentinel(stack, sse: SseReader, text: str) -> None:
    """A task added through the whole pipeline; once a tab shows it, earlier effects have landed."""
    assert stack.http.post("/tasks", data={"name": text}).status_code == 200
    wait_for(lambda: sse.matching(re.escape(text)), what=f"sentinel {text!r}")


def upto(events, pattern: str):
    """The events up to and including the first one matching `pattern`."""
    rx = re.compile(pattern)
    for i, e in enumerate(events):
        if rx.search(e.data):
            return events[:i + 1]
    raise AssertionError(f"no event matches {pattern!r}")


@pytest.mark.parametrize("how", ["header", "query"])
def test_a_tab_that_reconnects_gets_exactly_what_it_missed(stack, fake_ollama, how):
    command = json.dumps({"action": "insert", "target": "task", "args": {"name": f"missed while away {how}"}})
    leaving, back_mark = f"before leaving {how}", f"after the reply {how}"
    with SseReader(stack.url, tab="witness") as witness:
        with SseReader(stack.url, tab="away") as away:
            sentinel(stack, away, leaving)
        last = upto(away.snapshot(), leaving)[-1].id
        # What happens while the tab is gone: a streamed reply with a command, clicks, a self-test.
        fake_ollama.enqueue(Script(tokens=["Adding ", "it. ", *[command[i:i + 6] for i in range(0, len(command), 6)],
                                           " Done."], delay=0.01))
        reply = stack.chat(f"add it ({how})")
        stack.wait_message(reply)
        wait_for(lambda: witness.matching(f'id="msg-{reply}" class="msg assistant chat done'), what="final bubble")
        assert stack.http.post("/chat", data={"msg": "!test"}).status_code == 200
        wait_for(lambda: witness.matching("Self-test"), what="self-test toast")
        sentinel(stack, witness, back_mark)
        missed = upto(after(witness.snapshot(), last), re.escape(back_mark))
        assert len(missed) >= 8, "the tab missed a reply's worth of events"
        if how == "header":
            back = SseReader(stack.url, tab="away", last_event_id=last)
        else:
            back = SseReader(stack.url, tab=f"away&after={last}")
        with back:
            wait_for(lambda: back.matching(re.escape(back_mark)), what="the replay up to now")
    got = upto(back.snapshot(), re.escape(back_mark))
    STATS["reconnects"]["replayed events compared"] += len(missed)
    assert [e.id for e in got] == [e.id for e in missed], "same ids, same order: no duplicates, no holes"
    assert [e.data for e in got] == [e.data for e in missed], "the very same events"
    numbers = [n for _, n in ids(got)]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "consecutive ids"
    assert numbers[0] == ids([e for e in away.snapshot() if e.id == last])[0][1] + 1
    assert not any(is_snapshot(e.data) for e in back.snapshot())


@pytest.mark.parametrize("last_id", ["nonsense", "deadbeef-3", "{epoch}-999999999", ""])
def test_an_id_the_buffer_cannot_cover_gets_one_snapshot(stack, last_id):
    with SseReader(stack.url, tab="probe") as probe:
        sentinel(stack, probe, f"snapshot check {last_id or 'none'}")
    epoch = probe.snapshot()[-1].id.rpartition("-")[0]
    last_id = last_id.format(epoch=epoch)
    with SseReader(stack.url, tab="late", last_event_id=last_id) as late:
        if last_id:
            first = wait_for(lambda: late.snapshot(), what="the snapshot")[0]
            assert is_snapshot(first.data), first.data[:300]
            assert "snapshot check" in first.data, "the snapshot has the current list"
            STATS["reconnects"]["snapshots checked"] += 1
        sentinel(stack, late, f"live after {last_id or 'none'}")
    assert sum(is_snapshot(e.data) for e in late.snapshot()) == (1 if last_id else 0)


def test_an_id_older_than_the_replay_buffer_gets_a_snapshot(stack):
    with SseReader(stack.url, tab="old") as old:
        sentinel(stack, old, "before the flood")
    stale = upto(old.snapshot(), "before the flood")[-1].id
    with SseReader(stack.url, tab="flood-witness") as witness:
        publish(stack, [c.UiAlert(text=f"flood-alert {i}") for i in range(REPLAY + 10)])
        wait_for(lambda: len(witness.snapshot()) >= REPLAY + 10, 60, interval=0.1, what="the whole flood")
        wait_for(lambda: any(f"flood-alert {REPLAY + 9}<" in e.data for e in witness.snapshot()[-50:]), 10,
                 interval=0.1, what="the last alert of the flood")
    with SseReader(stack.url, tab="old", last_event_id=stale) as back:
        sentinel(stack, back, "after the flood")
    events = back.snapshot()
    assert is_snapshot(events[0].data)
    assert not any("flood-alert" in e.data for e in events), "no partial replay next to the snapshot"


def test_after_a_web_restart_an_old_id_gets_a_snapshot(stack, fake_ollama):
    fake_ollama.enqueue(Script(tokens=["Remember ", "me."]))
    with SseReader(stack.url, tab="restart") as before:
        reply = stack.chat("something to remember")
        stack.wait_message(reply)
        wait_for(lambda: before.matching(f'id="msg-{reply}" class="msg assistant chat done'), what="final bubble")
    last = before.snapshot()[-1].id
    pid, ready = stack.pid("web"), ready_count(stack, "web")
    sigkill(stack, "web", pid)
    wait_restarted(stack, "web", pid, ready)
    sent = len(fake_ollama.requests)
    with SseReader(stack.url, tab="restart", last_event_id=last) as back:
        first = wait_for(lambda: back.snapshot(), what="the snapshot")[0]
        sentinel(stack, back, "after the web restart")
    assert is_snapshot(first.data)
    assert first.id.rpartition("-")[0] != last.rpartition("-")[0], "a new web process has a new epoch"
    assert first.data.count(f'id="msg-{reply}"') == 1 and "Remember me." in first.data
    assert len(fake_ollama.requests) == sent, "coming back asked the model for nothing"
    STATS["reconnects"]["snapshots checked"] += 1


def test_reconnecting_after_a_reply_ended_never_runs_it_again(stack, fake_ollama):
    command = json.dumps({"action": "insert", "target": "task", "args": {"name": "only once please"}})
    with SseReader(stack.url, tab="once") as tab:
        sentinel(stack, tab, "before the reply")
        start = upto(tab.snapshot(), "before the reply")[-1].id
        fake_ollama.enqueue(Script(tokens=["Sure. ", command, " Bye."], delay=0.01))
        reply = stack.chat("add it once")
        stack.wait_message(reply)
        wait_for(lambda: tab.matching(f'id="msg-{reply}" class="msg assistant chat done'), what="final bubble")
    sent = len(fake_ollama.requests)
    # Come back from before the reply (a full replay of its stream), then with no id, then via the page.
    for last_id in (start, ""):
        with SseReader(stack.url, tab="once", last_event_id=last_id) as back:
            sentinel(stack, back, f"back from {last_id or 'nothing'}")
            if last_id:
                assert back.matching(f"beforeend:#body-{reply}"), "the replay has the reply's stream"
    assert stack.http.get("/").status_code == 200
    hold(lambda: len(fake_ollama.requests) == sent, what="no new model request")
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM tasks WHERE name = 'only once please'").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM messages WHERE role = 'assistant' AND id LIKE ?",
                          [reply + "%"]).fetchone() == (1,)
