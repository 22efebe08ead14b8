"""SQLite, owned by this process alone: connection, migrations as code, one write transaction helper.

The web process opens the same file read-only; WAL lets it read while we write.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database, Migrations

from bus import tables
from bus.runtime import private_dir, private_file, warn_if_open

BUSY_TIMEOUT_S = 10
migrations = Migrations("ghostwire")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@migrations()
def m001_initial(db: Database) -> None:
    db["tasks"].create(
        {"id": int, "name": str, "done": int, "priority": int, "created_at": str, "updated_at": str},
        pk="id", not_null={"name", "done", "priority", "created_at", "updated_at"}, defaults={"done": 0},
    )
    db["tasks"].create_index(["priority"])
    db["messages"].create(
        {"id": str, "conversation_id": str, "role": str, "kind": str, "content": str, "status": str,
         "model": str, "usage": str, "error": str, "created_at": str},
        pk="id", not_null={"conversation_id", "role", "kind", "content", "status", "created_at"},
    )
    db["messages"].create_index(["conversation_id", "created_at"])
    db["commands"].create(
        {"id": str, "msg_id": str, "raw": str, "action": str, "args": str, "ok": int, "result": str,
         "created_at": str},
        pk="id", not_null={"msg_id", "raw", "ok", "result", "created_at"},
    )
    db["commands"].create_index(["msg_id"])
    db["settings"].create({"key": str, "value": str}, pk="key", not_null={"value"})


@migrations()
def m002_change_log(db: Database) -> None:
    """The change log (crud_worker/changelog.py), command states for undo and ask-first, and
    pending approvals (crud_worker/approvals.py)."""
    db.execute("""CREATE TABLE changes (
        seq INTEGER PRIMARY KEY,   -- the list's change_seq, as `task.changed` carries it
        at TEXT NOT NULL,
        op TEXT NOT NULL,          -- insert | update | delete | reorder
        kind TEXT NOT NULL,        -- change | undo | redo
        task_id INTEGER,           -- NULL for a reorder
        before TEXT, after TEXT,   -- JSON: the task (NULL when absent), or [[id, priority], ...] for a reorder
        actor TEXT NOT NULL,       -- person | model | client (| agent, m003)
        route TEXT NOT NULL DEFAULT '', reply_id TEXT NOT NULL DEFAULT '', command_id TEXT NOT NULL DEFAULT '',
        target INTEGER,            -- undo/redo: the seq of the change it reverts or re-applies
        undone_by INTEGER,         -- a change: the seq of the undo that currently cancels it
        applied_seq INTEGER NOT NULL, -- a change: when it last took effect (its own seq, or its redo's)
        what TEXT NOT NULL         -- the change in words, as the changes page shows it
    )""")
    db.execute("CREATE INDEX changes_task ON changes (task_id, seq)")
    db.execute("CREATE INDEX changes_reply ON changes (reply_id) WHERE reply_id != ''")
    db.execute("CREATE INDEX changes_command ON changes (command_id) WHERE command_id != ''")
    db.execute("CREATE INDEX changes_live ON changes (kind, undone_by, applied_seq)")
    db.execute("ALTER TABLE commands ADD COLUMN state TEXT NOT NULL DEFAULT 'done'")
    db.execute("""CREATE TABLE approvals (
        command_id TEXT PRIMARY KEY, msg_id TEXT NOT NULL, action TEXT NOT NULL, args TEXT NOT NULL,
        what TEXT NOT NULL,        -- the command in words: "delete 'buy milk'"
        created_at TEXT NOT NULL, expires_at REAL NOT NULL,  -- unix time
        decision TEXT,             -- NULL while pending | allow | deny | expired
        decided_at TEXT,
        outcome TEXT,              -- what the model is told of the decision
        told INTEGER NOT NULL DEFAULT 0  -- 1 once it was
    )""")
    db.execute("CREATE INDEX approvals_pending ON approvals (expires_at) WHERE decision IS NULL")


@migrations()
def m003_agent_changes(db: Database) -> None:
    """Changes made by an outside agent (MCP): actor 'agent', and its name here."""
    db.execute("ALTER TABLE changes ADD COLUMN agent TEXT NOT NULL DEFAULT ''")


@migrations()
def m004_conversations(db: Database) -> None:
    """Conversations (crud_worker/conversations.py) and attempts: a retried reply or an edited message
    is kept beside the new one, and only the chosen attempt is shown and sent to the model."""
    db.execute("""CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',  -- '' until the first message names it (or the person does)
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL         -- last activity: the newest message stored in it
    )""")
    db.execute("CREATE INDEX conversations_recent ON conversations (updated_at)")
    db.execute("INSERT INTO conversations (id, created_at, updated_at) SELECT conversation_id, MIN(created_at),"
               " MAX(created_at) FROM messages GROUP BY conversation_id")
    # A message of a person's chat turn names the user message that began it (`ask`) and, for a reply,
    # its follow-ups and their result notes, the chat reply whose attempt it is (`answer`); '' elsewhere.
    db.execute("ALTER TABLE messages ADD COLUMN ask TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE messages ADD COLUMN answer TEXT NOT NULL DEFAULT ''")
    # 1: part of an attempt not chosen (kept by the crud_worker from `attempts`, so readers just filter)
    db.execute("ALTER TABLE messages ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0")
    db.execute("""CREATE TABLE attempts (
        id TEXT PRIMARY KEY,             -- an attempt's head: a chat reply (retry) or a user message (edit)
        conversation_id TEXT NOT NULL,
        grp TEXT NOT NULL,               -- the first attempt's id: the attempts of one group share it
        n INTEGER NOT NULL,              -- 1, 2, ... in the order they were made
        chosen INTEGER NOT NULL          -- 1 for the one shown and sent to the model, 0 for the others
    )""")
    db.execute("CREATE INDEX attempts_group ON attempts (grp, n)")
    db.execute("CREATE INDEX messages_ask ON messages (ask) WHERE ask != ''")


@migrations()
def m005_reply_stats(db: Database) -> None:
    """A reply's figures (bus.contract.ReplyStats as JSON: model, first token, tokens/s, tokens in and
    out, its commands' time), stored with it so a page loaded later shows what the live one did."""
    db.execute("ALTER TABLE messages ADD COLUMN stats TEXT")


_TIMING, _USAGE = ("first_token_ms", "tokens_per_s"), ("prompt_tokens", "completion_tokens")


@migrations()
def m006_stats_nested(db: Database) -> None:
    """ReplyStats holds the worker's Timing and Usage as they came, instead of copies of four of their
    fields: stored figures move into that shape, so there is one shape to read."""
    rows = db.execute("SELECT rowid, stats FROM messages WHERE stats IS NOT NULL").fetchall()
    for rowid, raw in rows:
        old = json.loads(raw)
        timing = {k: old.pop(k) for k in _TIMING if k in old}
        usage = {k: old.pop(k) for k in _USAGE if k in old}
        new = {**old, **({"timing": timing} if timing else {}), **({"usage": usage} if usage else {})}
        db.execute("UPDATE messages SET stats = ? WHERE rowid = ?", [json.dumps(new), rowid])


@migrations()
def m007_event_shown(db: Database) -> None:
    """An event's two texts (crud_worker/events.py): `content` is the model's, `shown` the person's ('' = the
    same as content: older events, and every other kind of message)."""
    db.execute("ALTER TABLE messages ADD COLUMN shown TEXT NOT NULL DEFAULT ''")


@migrations()
def m008_sent_as(db: Database) -> None:
    """What a message was sent to the model as, when it was a job's newest (its text with the list as
    it was then; crud_worker/context.py), so later turns send it again unchanged and the model server's
    prompt cache holds; and the list note in it ('' none), to know which list the model saw last."""
    db.execute("ALTER TABLE messages ADD COLUMN sent TEXT")
    db.execute("ALTER TABLE messages ADD COLUMN seen TEXT")


class Unwritable(Exception):
    """The database can't be written: said at start, in words that name the cause."""


def connect(path: Path) -> Database:
    """Open (creating if needed), migrate, and prove a write works, so a read-only or full disk
    stops us at start with a clear message instead of at the person's first click."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    try:
        private_dir(path.parent)
        created = not path.exists()
        if not created:
            warn_if_open(*files)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        migrations.apply(db)
        with write(db):
            set_setting(db, tables.LAST_START, now())
        if created:  # SQLite gives -wal and -shm the database's mode; 0600 whatever the umask was
            for f in files:
                if f.exists():
                    private_file(f)
    except (sqlite3.Error, OSError) as err:
        raise Unwritable(f"cannot write the database {path}: {_cause(path, err)}") from err
    return db


def _cause(path: Path, err: Exception) -> str:
    for candidate in (path, path.parent):
        if candidate.exists():
            if candidate.is_dir() and candidate == path:
                return "that path is a directory"
            if not os.access(candidate, os.W_OK):
                return f"{candidate} is read-only (check its permissions or the mount)"
            if os.statvfs(candidate).f_flag & os.ST_RDONLY:
                return f"{candidate} is on a read-only file system"
            break
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower()
    return str(err)


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """BEGIN IMMEDIATE: take the write lock up front so a change is all or nothing."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")


def get_setting(db: Database, key: str, default: str = "") -> str:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_setting(db: Database, key: str, value: str) -> None:
    db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               [key, value])


def next_seq(db: Database, name: str) -> int:
    """The next number of a counter kept in the settings table (never reused, even after a delete)."""
    seq = int(get_setting(db, name, "0")) + 1
    set_setting(db, name, str(seq))
    return seq


def next_change_seq(db: Database) -> int:
    return next_seq(db, tables.CHANGE_SEQ)
