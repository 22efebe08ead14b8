"""The change log: one row per change to a task, written by `tasks` in the same transaction as the
change itself, so the log and the list can never disagree (a crash loses both or neither).

A row says what the task was before and after (JSON of the task, NULL when it didn't exist; for a
reorder, `[[id, priority], ...]` of every task), when, and who: the person (and the route), the
model (reply and command id), an outside agent (`agent`, its MCP client's name), or another bus client. Undo and redo are rows too (`kind`), pointing
at the change they revert or re-apply (`target`); a change knows the undo that currently cancels it
(`undone_by`). The log keeps at least the newest `GHOSTWIRE_CHANGES_KEEP` rows, and a group whole or not at all.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from sqlite_utils import Database

from bus import tables
from bus.contract import TaskRow
from crud_worker import db as store

PRUNE_EVERY = 100  # changes between two prunes: each prune is one indexed DELETE
KEEP_SETTING = tables.CHANGES_KEEP  # the crud_worker writes GHOSTWIRE_CHANGES_KEEP here at start
Kind = Literal["change", "undo", "redo"]


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who changed the list."""

    kind: Literal["person", "model", "client", "agent"]
    route: str = ""  # the person: which route ("POST /tasks/3/toggle")
    reply_id: str = ""  # the model: which reply and command (an agent: its note and command); the person: which import
    command_id: str = ""
    agent: str = ""  # an outside agent: its name (the MCP client's clientInfo.name)

    def origin(self) -> Literal["user", "model", "agent"]:
        return "user" if self.kind in ("person", "client") else self.kind


def person(route: str) -> Actor:
    """The person, through the web (which names its route); a request without one came from another client."""
    return Actor(kind="person", route=route) if route else Actor(kind="client")


class Reverting(msgspec.Struct, frozen=True):
    """A row that undoes (or redoes) the change with seq `target`."""

    kind: Literal["undo", "redo"]
    target: int


class Change(msgspec.Struct, kw_only=True):
    seq: int
    at: str
    op: Literal["insert", "update", "delete", "reorder"]
    kind: Kind
    task_id: int | None
    before: TaskRow | None
    after: TaskRow | None
    order_before: list[tuple[int, int]] | None
    order_after: list[tuple[int, int]] | None
    actor: Actor
    target: int | None
    undone_by: int | None
    applied_seq: int

    def describe(self) -> str:
        """The change in words, as a chip says it: "Renamed 'a' to 'b'"."""
        b, a = self.before, self.after
        if self.op == "reorder":
            return "Reordered the list"
        if b is None and a is not None:
            return f"Added '{a.name}'" if self.kind == "change" else f"Brought back '{a.name}'"
        if a is None and b is not None:
            return f"Removed '{b.name}'"
        assert a is not None and b is not None
        parts = []
        if a.name != b.name:
            parts.append(f"Renamed '{b.name}' to '{a.name}'")
        if a.done != b.done:
            parts.append(f"Marked '{a.name}' {'done' if a.done else 'not done'}")
        return "; ".join(parts) or f"Kept '{a.name}'"

    def verb(self) -> str:
        """What happened to the task, for a conflict message: "'buy milk' was renamed"."""
        b, a = self.before, self.after
        if self.op == "reorder":
            return "moved"
        if b is None:
            return "added" if self.kind == "change" else "brought back"
        if a is None:
            return "deleted"
        if a.name != b.name:
            return "renamed"
        return "ticked off" if a.done else "unticked"


_task = msgspec.json.Decoder(TaskRow)
_order = msgspec.json.Decoder(list[tuple[int, int]])
_enc = msgspec.json.Encoder()
COLS = ("seq, at, op, kind, task_id, before, after, actor, route, reply_id, command_id, target, undone_by,"
        " applied_seq, agent")


def _row(r) -> Change:
    seq, at, op, kind, task_id, before, after, actor, route, reply_id, command_id, target, undone_by, applied, agent = r
    reorder = op == "reorder"
    return Change(
        seq=seq, at=at, op=op, kind=kind, task_id=task_id,
        before=None if reorder or before is None else _task.decode(before),
        after=None if reorder or after is None else _task.decode(after),
        order_before=_order.decode(before) if reorder else None,
        order_after=_order.decode(after) if reorder else None,
        actor=Actor(kind=actor, route=route, reply_id=reply_id, command_id=command_id, agent=agent),
        target=target, undone_by=undone_by, applied_seq=applied)


def record(db: Database, *, op: str, by: Actor, task_id: int | None = None, before: TaskRow | None = None,
           after: TaskRow | None = None, order_before: list[tuple[int, int]] | None = None,
           order_after: list[tuple[int, int]] | None = None, reverting: Reverting | None = None) -> int:
    """Append one change (the caller holds the write transaction that made it); returns its seq."""
    seq = store.next_change_seq(db)
    change = Change(seq=seq, at=store.now(), op=op, kind=reverting.kind if reverting else "change", task_id=task_id,
                    before=before, after=after, order_before=order_before, order_after=order_after, actor=by,
                    target=reverting.target if reverting else None, undone_by=None, applied_seq=seq)
    if op == "reorder":
        b, a = _enc.encode(order_before).decode(), _enc.encode(order_after).decode()
    else:
        b = None if before is None else _enc.encode(before).decode()
        a = None if after is None else _enc.encode(after).decode()
    db.execute(f"INSERT INTO changes ({COLS}, what) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
               [seq, change.at, op, change.kind, task_id, b, a, by.kind, by.route, by.reply_id, by.command_id,
                change.target, seq, by.agent, change.describe()])
    if seq % PRUNE_EVERY == 0 and (keep := int(store.get_setting(db, KEEP_SETTING, "0"))):
        prune(db, seq - keep)
    return seq


def prune(db: Database, cut: int) -> None:
    """Forget the rows up to `cut`, but never part of a group (a reply's, an import's): one with a row past
    the cut is kept whole, so undoing it is all or none — whole, or refused as too old."""
    db.execute("DELETE FROM changes WHERE seq <= ? AND (reply_id = '' OR reply_id NOT IN"
               " (SELECT reply_id FROM changes WHERE seq > ? AND reply_id != ''))", [cut, cut])


def get(db: Database, seq: int) -> Change | None:
    r = db.execute(f"SELECT {COLS} FROM changes WHERE seq = ?", [seq]).fetchone()
    return _row(r) if r else None


def where(db: Database, sql: str, args: list) -> list[Change]:
    return [_row(r) for r in db.execute(f"SELECT {COLS} FROM changes WHERE {sql}", args)]


def newest_about(db: Database, task_id: int, after_seq: int) -> Change | None:
    """The newest row that touched this task after `after_seq`: what a conflict message names."""
    rows = where(db, "task_id = ? AND seq > ? ORDER BY seq DESC LIMIT 1", [task_id, after_seq])
    return rows[0] if rows else None


def newest_reorder(db: Database, after_seq: int) -> Change | None:
    rows = where(db, "op = 'reorder' AND seq > ? ORDER BY seq DESC LIMIT 1", [after_seq])
    return rows[0] if rows else None


def oldest_seq(db: Database) -> int:
    return db.execute("SELECT coalesce(min(seq), 0) FROM changes").fetchone()[0]
