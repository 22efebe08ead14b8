"""A list of 5,000 tasks with 1,000 restored at once (#25: with 800 tasks a restore of 100 blocked
/health for 39 s, each task re-rendering the whole list into a 0.5 MB event). The scenario is
bench/big_list.py's, which times /health and a chat message during the restore against the idle stack;
here everything but the times is checked: every request answered, one bounded event for the restore,
a stale tab's snapshot bounded with the rest on demand, and the web's memory back within 10 %."""

from __future__ import annotations

import pytest

from bench.big_list import FULL, RESTORED, scenario
from tests.report import STATS
from tests.stack import Stack
from web.tasks.rows import LIST_PAGE


@pytest.fixture(scope="module")
def big():
    s = Stack(LLM_BACKEND="demo", GHOSTWIRE_DEMO_RATE="0")
    try:
        yield s.start(60)
    finally:
        s.stop()


def test_a_thousand_restored_into_five_thousand_cost_one_bounded_event(big):
    run = scenario(big)
    assert run.restored == RESTORED and run.tasks_after == FULL
    assert run.health_busy_ms and len(run.chat_busy_ms) >= 1, "other requests were answered during the restore"
    assert run.list_events <= 1, f"{run.list_events} whole-list events for one restore"
    assert run.restore_event_bytes < 512 * 1024, run.restore_event_bytes
    assert run.snapshot_rows == LIST_PAGE and run.snapshot_bytes < 512 * 1024, (run.snapshot_rows, run.snapshot_bytes)
    assert run.loads_more, "the rest of the list loads on demand"
    assert run.rss_after_kb <= run.rss_before_kb * 1.10, (run.rss_before_kb, run.rss_after_kb)
    STATS["hostile"]["tasks restored at once into a full list"] += RESTORED
