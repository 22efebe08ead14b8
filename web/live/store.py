"""Read-only views of the database (the crud_worker is its only writer)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import NamedTuple

import msgspec

from bus import tables
from bus.contract import DEFAULT_CONVERSATION, ReplyStats, TaskRow

CHAT_PAGE = 100  # the page shows at most the last CHAT_PAGE messages
CHAT_PAGE_BYTES = 500_000  # and at most this many bytes of their text (the newest is always shown)


class StoredMessage(msgspec.Struct):
    id: str
    role: str
    kind: str
    content: str
    status: str
    model: str | None
    error: str | None
    created_at: str
    stats: ReplyStats | None = None  # a reply's figures, where the crud_worker stored them


_stats = msgspec.json.Decoder(ReplyStats)


def _message(row: tuple) -> StoredMessage:
    """An event shows the person's text where it has one (crud_worker/events.py); the model's is `content`."""
    msg_id, role, kind, content, *rest, stats, shown = row[:10]
    return StoredMessage(msg_id, role, kind, shown or content, *rest, stats=_stats.decode(stats) if stats else None)


class ChipResult(NamedTuple):
    """A command's result as its chip shows it."""

    ok: bool
    summary: str
    state: str = "done"  # bus.contract.CommandState
    action: str = ""


class StoredChange(msgspec.Struct):
    """A row of the change log (crud_worker/changelog.py), as the changes page lists it."""

    seq: int
    at: str
    op: str
    kind: str
    actor: str
    route: str
    reply_id: str
    undone_by: int | None
    what: str
    agent: str = ""  # actor "agent": its name


class StoredConversation(msgspec.Struct):
    id: str
    title: str  # "" until its first message names it
    created_at: str
    updated_at: str  # last activity


class Attempt(msgspec.Struct, frozen=True):
    """One attempt of a retried reply or an edited message: its place in its group, and its group's size."""

    id: str
    n: int
    of: int
    chosen: bool
    ids: tuple[str, ...]  # the group's attempts, in order


class ChatPage(msgspec.Struct):
    messages: list[StoredMessage]  # oldest first
    older: bool  # the conversation has messages before these


class Store:
    def __init__(self, path: Path):
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection | None:
        """Open lazily: on a first start the crud_worker may not have created the file yet."""
        if self._conn is None:
            if not self.path.exists():
                return None
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, timeout=5)
        return self._conn

    def _rows(self, sql: str, args=()) -> list[tuple]:
        db = self._db()
        if db is None:
            return []
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError as err:
            if "no such table" in str(err) or "no such column" in str(err):  # not migrated yet: a first start
                return []
            raise

    def tasks(self) -> list[TaskRow]:
        rows = self._rows(f"SELECT {tables.TASK_COLUMNS} FROM {tables.TASKS} ORDER BY priority, id")
        return [TaskRow.from_row(r) for r in rows]

    def messages(self, conversation_id: str = DEFAULT_CONVERSATION, limit: int = CHAT_PAGE,
                 max_bytes: int = CHAT_PAGE_BYTES) -> ChatPage:
        """The newest messages shown (the chosen attempts'), bounded by count and by the UTF-8 bytes of their text."""
        rows = self._rows(
            f"SELECT {tables.MESSAGE_COLUMNS},"
            f" SUM(length(CAST(content AS BLOB))) OVER (ORDER BY created_at DESC, rowid DESC) FROM {tables.MESSAGES}"
            " WHERE conversation_id = ? AND hidden = 0 ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (conversation_id, limit + 1))
        kept = [r for i, r in enumerate(rows[:limit]) if i == 0 or r[10] <= max_bytes]
        return ChatPage([_message(r) for r in reversed(kept)], older=len(rows) > len(kept))

    def all_messages(self, conversation_id: str) -> list[StoredMessage]:
        """Every message shown in the conversation, oldest first (for an export: no page limit)."""
        return [_message(r) for r in self._rows(
            f"SELECT {tables.MESSAGE_COLUMNS} FROM {tables.MESSAGES}"
            " WHERE conversation_id = ? AND hidden = 0 ORDER BY created_at, rowid", (conversation_id,))]

    def conversations(self) -> list[StoredConversation]:
        """Every conversation, the most recently active first."""
        return [StoredConversation(*r) for r in self._rows(
            f"SELECT {tables.CONVERSATION_COLUMNS} FROM {tables.CONVERSATIONS} ORDER BY updated_at DESC, rowid DESC")]

    def conversation(self, conversation_id: str) -> StoredConversation | None:
        """The conversation, or None; the default one exists before its first message."""
        rows = self._rows(f"SELECT {tables.CONVERSATION_COLUMNS} FROM {tables.CONVERSATIONS} WHERE id = ?",
                          (conversation_id,))
        if rows:
            return StoredConversation(*rows[0])
        return StoredConversation(DEFAULT_CONVERSATION, "", "", "") if conversation_id == DEFAULT_CONVERSATION else None

    def newest_conversation(self) -> str:
        rows = self._rows(f"SELECT id FROM {tables.CONVERSATIONS} ORDER BY updated_at DESC, rowid DESC LIMIT 1")
        return rows[0][0] if rows else DEFAULT_CONVERSATION

    def conversation_of(self, msg_id: str) -> str | None:
        rows = self._rows(f"SELECT conversation_id FROM {tables.MESSAGES} WHERE id = ?", (msg_id,))
        return rows[0][0] if rows else None

    def attempts(self, conversation_id: str) -> dict[str, Attempt]:
        """The conversation's attempts (retried replies, edited messages) by id."""
        groups: dict[str, list[tuple[str, int, int]]] = {}
        rows = self._rows(f"SELECT {tables.ATTEMPT_COLUMNS} FROM {tables.ATTEMPTS} WHERE conversation_id = ?"
                          " ORDER BY grp, n", (conversation_id,))
        for id_, grp, n, chosen in rows:
            groups.setdefault(grp, []).append((id_, n, chosen))
        out = {}
        for members in groups.values():
            ids = tuple(m[0] for m in members)
            for k, (id_, _, chosen) in enumerate(members):
                out[id_] = Attempt(id=id_, n=k + 1, of=len(members), chosen=bool(chosen), ids=ids)
        return out

    def last_turn(self, conversation_id: str) -> tuple[str, str]:
        """The conversation's newest shown chat message of the person, and its newest chat reply ("" if none)."""
        user = self._rows(f"SELECT id FROM {tables.MESSAGES} WHERE conversation_id = ? AND role = 'user'"
                          " AND kind = 'chat' AND hidden = 0 ORDER BY created_at DESC, rowid DESC LIMIT 1",
                          (conversation_id,))
        if not user:
            return "", ""
        reply = self._rows(f"SELECT id FROM {tables.MESSAGES} WHERE ask = ? AND role = 'assistant' AND answer = id"
                           " AND hidden = 0 ORDER BY created_at DESC LIMIT 1", (user[0][0],))
        return user[0][0], reply[0][0] if reply else ""

    def message(self, msg_id: str) -> StoredMessage | None:
        rows = self._rows(f"SELECT {tables.MESSAGE_COLUMNS} FROM {tables.MESSAGES} WHERE id = ?", (msg_id,))
        return _message(rows[0]) if rows else None

    def existing(self, msg_ids) -> set[str]:
        """Which of these messages the database holds."""
        ids = list(msg_ids)
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        return {r[0] for r in self._rows(f"SELECT id FROM {tables.MESSAGES} WHERE id IN ({marks})", ids)}

    def setting(self, key: str) -> str:
        rows = self._rows(f"SELECT value FROM {tables.SETTINGS} WHERE key = ?", (key,))
        return rows[0][0] if rows else ""

    def command_results(self, msg_ids: list[str]) -> dict[str, ChipResult]:
        if not msg_ids:
            return {}
        marks = ",".join("?" * len(msg_ids))
        return {r[0]: ChipResult(bool(r[1]), r[2], r[3], r[4] or "") for r in self._rows(
            f"SELECT {tables.RESULT_COLUMNS} FROM {tables.COMMANDS} WHERE msg_id IN ({marks})", msg_ids)}

    def changes(self, limit: int = 200) -> list[StoredChange]:
        return [StoredChange(*r) for r in self._rows(
            f"SELECT {tables.CHANGE_COLUMNS} FROM {tables.CHANGES} ORDER BY seq DESC"
            " LIMIT ?",
            (limit,))]

    def policies(self) -> dict[str, str]:
        """The ask-first policies in force (the crud_worker writes them at start and on each change)."""
        return json.loads(self.setting(tables.ASK) or "{}")
