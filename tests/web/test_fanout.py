"""SSE fan-out: ids, multi-line data, replay from Last-Event-ID, snapshot when it can't."""

from __future__ import annotations

import asyncio

from web.live.fanout import REPLAY, Fanout, sse


def test_every_line_of_a_payload_is_its_own_data_line():
    assert sse("e-1", "a\nb\r\nc\rd") == "id: e-1\ndata: a\ndata: b\ndata: c\ndata: d\n\n"


def test_a_tab_gets_exactly_what_it_missed():
    f = Fanout("ep")
    for n in range(10):
        f.emit(f"<p>{n}</p>")
    missed = f.missed("ep-6")
    assert [m.split("\n")[0] for m in missed] == ["id: ep-7", "id: ep-8", "id: ep-9", "id: ep-10"]
    assert f.missed("ep-10") == []


def test_an_unknown_epoch_or_a_too_old_id_gets_a_snapshot():
    f = Fanout("ep")
    for n in range(REPLAY + 10):
        f.emit(str(n))
    assert f.missed("other-3") is None
    assert f.missed("ep-2") is None
    assert f.missed("ep-999999") is None
    assert len(f.missed(f"ep-{REPLAY + 5}")) == 5
    q, initial = f.subscribe("other-1", snapshot=lambda: "<div id=chat-log hx-swap-oob=true></div>")
    assert len(initial) == 1 and "chat-log" in initial[0] and initial[0].startswith(f"id: {f.cursor}")


def test_every_tab_gets_every_event_live_and_on_replay():
    f = Fanout("ep")
    q_a, _ = f.subscribe("", snapshot=str)
    q_b, _ = f.subscribe("", snapshot=str)
    f.emit("<p>bubbles</p>")
    assert q_a.qsize() == 1 and q_b.qsize() == 1
    assert len(f.missed("ep-0")) == 1


def test_a_tab_too_slow_to_keep_up_is_cut_off_and_its_stream_ends():
    f = Fanout("ep")
    q, _ = f.subscribe("", snapshot=str)
    for n in range(q.maxsize + 1):
        f.emit(str(n))
    assert q not in f.tabs

    async def drain():
        return [chunk async for chunk in f.stream(q, [])]

    chunks = asyncio.run(drain())
    assert len(chunks) == 1 and chunks[0].startswith("retry:")


def test_a_conversations_events_reach_only_the_tabs_showing_it_live_and_on_replay():
    f = Fanout("ep")
    on_a, _ = f.subscribe("", snapshot=str, conversation="a")
    on_b, _ = f.subscribe("", snapshot=str, conversation="b")
    every, _ = f.subscribe("", snapshot=str)
    f.emit("<p>in a</p>", "a")
    f.emit("<p>the list</p>")
    assert [q.qsize() for q in (on_a, on_b, every)] == [2, 1, 2]
    assert "in a" not in on_b.get_nowait()
    assert [("in a" in m) for m in f.missed("ep-0", "b")] == [False]
    assert len(f.missed("ep-0", "a")) == 2 and len(f.missed("ep-0")) == 2


def test_the_replay_buffer_is_bounded_in_bytes_too():
    from web.live.fanout import REPLAY_BYTES
    f = Fanout("ep")
    big = "x" * (REPLAY_BYTES // 10)
    for _ in range(40):  # 4× the bound, in 40 events: far under the count bound
        f.emit(big)
    assert f.buffered <= REPLAY_BYTES + len(big) and sum(len(t) for _, _, t in f.buffer) == f.buffered
    assert len(f.buffer) < 12
    assert f.missed("ep-1") is None, "what the bound dropped is a snapshot, never a hole"
    assert len(f.missed("ep-38")) == 2
