"""Migrations move stored data into the shape the code reads: a reply's figures stored before ReplyStats
held Timing and Usage read the same after m006."""

from __future__ import annotations

import json
import sqlite3

import msgspec
from sqlite_utils import Database

from bus.contract import ReplyStats, Timing, Usage
from crud_worker import db as store

FLAT = {"msg_id": "a1", "model": "m", "first_token_ms": 212.4, "tokens_per_s": 38.2, "prompt_tokens": 41,
        "completion_tokens": 12, "commands": 1, "commands_ms": 3.4}


def test_flat_stats_stored_before_m006_read_as_timing_and_usage():
    db = Database(sqlite3.connect(":memory:", isolation_level=None))
    store.migrations.apply(db, stop_before="m006_stats_nested")
    for msg_id, stats in (("a1", FLAT), ("a2", {"msg_id": "a2", "model": "m"}), ("a3", None)):
        db.execute("INSERT INTO messages (id, conversation_id, role, kind, content, status, created_at, stats)"
                   " VALUES (?, 'default', 'assistant', 'chat', 'hi', 'done', '', ?)",
                   [msg_id, json.dumps(stats) if stats else None])
    store.migrations.apply(db)
    rows = dict(db.execute("SELECT id, stats FROM messages").fetchall())
    assert msgspec.json.decode(rows["a1"], type=ReplyStats) == ReplyStats(
        msg_id="a1", model="m", timing=Timing(first_token_ms=212.4, tokens_per_s=38.2),
        usage=Usage(prompt_tokens=41, completion_tokens=12), commands=1, commands_ms=3.4)
    assert msgspec.json.decode(rows["a2"], type=ReplyStats) == ReplyStats(msg_id="a2", model="m"), \
        "no figures: none made up"
    assert rows["a3"] is None
