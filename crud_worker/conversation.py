"""The conversation as stored (the prompt a job carries is laid out in crud_worker/context.py)."""

from __future__ import annotations

import json

from sqlite_utils import Database

import msgspec

from bus.contract import DEFAULT_CONVERSATION, ReplyStats, Usage
from crud_worker.db import now

DEFAULT = DEFAULT_CONVERSATION
TITLE_CHARS = 60  # a conversation's title: its first chat message, cut at a word to at most this
# A message belongs to an attempt not chosen: it is kept (the switcher shows it) but hidden and never sent.
HIDDEN_SQL = ("EXISTS (SELECT 1 FROM attempts a WHERE a.id IN (messages.ask, messages.answer)"
              " AND a.chosen = 0)")


def title_of(text: str) -> str:
    """A conversation's title from its first message: whitespace collapsed, cut at a word, no model call."""
    text = " ".join(text.split())
    if len(text) <= TITLE_CHARS:
        return text
    cut = text[:TITLE_CHARS - 1].rsplit(" ", 1)[0] or text[:TITLE_CHARS - 1]
    return cut + "…"


def store(db: Database, *, msg_id: str, role: str, kind: str, content: str, status: str = "done",
          conversation_id: str = DEFAULT, model: str = "", usage: Usage | None = None, error: str = "",
          created_at: str | None = None, ask: str = "", answer: str = "", stats: ReplyStats | None = None,
          shown: str = "") -> bool:
    """Insert a message once; a replay of the same id changes nothing. Returns whether it was new.
    The conversation's last activity moves on, and its first chat message names it. `shown`: an event's
    text for the person (crud_worker/events.py), where `content` is the model's."""
    at = created_at or now()
    cur = db.execute(
        "INSERT OR IGNORE INTO messages (id, conversation_id, role, kind, content, status, model, usage, error,"
        " created_at, ask, answer, stats, shown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [msg_id, conversation_id, role, kind, content, status, model or None,
         json.dumps({"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens})
         if usage else None, error or None, at, ask, answer, msgspec.json.encode(stats).decode() if stats else None,
         shown],
    )
    if cur.rowcount != 1:
        return False
    if ask or answer:
        db.execute(f"UPDATE messages SET hidden = {HIDDEN_SQL} WHERE id = ?", [msg_id])
    stamp = now()
    db.execute("INSERT INTO conversations (id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT(id)"
               " DO UPDATE SET updated_at = excluded.updated_at", [conversation_id, stamp, stamp])
    if role == "user" and kind == "chat" and not content.startswith("!"):
        db.execute("UPDATE conversations SET title = ? WHERE id = ? AND title = ''", [title_of(content), conversation_id])
    return True


def title(db: Database, conversation_id: str) -> str:
    row = db.execute("SELECT title FROM conversations WHERE id = ?", [conversation_id]).fetchone()
    return row[0] if row else ""


def rehide(db: Database, conversation_id: str) -> None:
    """After a change of chosen attempts: which of the conversation's messages are shown and sent."""
    db.execute(f"UPDATE messages SET hidden = {HIDDEN_SQL} WHERE conversation_id = ? AND (ask != '' OR answer != '')",
               [conversation_id])


def current(db: Database) -> str:
    """The most recently active conversation (DEFAULT when there is none): where an event goes that
    names none."""
    row = db.execute("SELECT id FROM conversations ORDER BY updated_at DESC LIMIT 1").fetchone()
    return row[0] if row else DEFAULT


def exists(db: Database, conversation_id: str) -> bool:
    return conversation_id == DEFAULT or db.execute(
        "SELECT 1 FROM conversations WHERE id = ?", [conversation_id]).fetchone() is not None
