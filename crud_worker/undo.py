"""Undo and redo from the change log. Callers hold the write transaction: a group (a reply's
changes, newest first) is reverted all or none, since a refusal raises and rolls it back.

An undo never overwrites a later change: it checks that the task is still as the change left it
(the fields it changed), and otherwise refuses, naming what happened since. A redo checks the
task is still as the undo left it. Undo and redo are changes in the log themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlite_utils import Database

from bus.contract import MUTATING, CommandResult, TaskChanged, TaskRow
from crud_worker import changelog, tasks
from crud_worker.changelog import Actor, Change, Reverting
from crud_worker.refusal import Refusal

Scope = Literal["reply", "command", "change", "last"]
TOO_OLD = "too old to undo whole: the change log no longer holds these changes"


class Refused(Refusal):
    """Why nothing was undone; `code` "unknown" (no such id) or "conflict"."""

    def __init__(self, code: Literal["unknown", "conflict"], message: str):
        super().__init__(message, code)


@dataclass
class Done:
    changes: list[TaskChanged] = field(default_factory=list)  # to announce, in order
    results: list[CommandResult] = field(default_factory=list)  # chips that flip (undone / done again)
    reverted: list[Change] = field(default_factory=list)  # the changes undone or re-applied

    def words(self) -> list[str]:
        return [c.describe() for c in self.reverted]


def run(db: Database, scope: Scope, target: str, *, by: Actor, redo: bool = False, person_only: bool = False,
        agent: str = "") -> Done:
    """Undo (or redo) what `scope`/`target` names (`last`: only the person's with `person_only`, only the
    agent's of that name with `agent`). Raises Refused."""
    picked = _pick(db, scope, target, redo, person_only, agent)
    done = Done()
    for ch in picked:
        done.changes.append(_reapply(db, ch, by) if redo else _revert(db, ch, by))
        done.reverted.append(ch)
    done.results = _flip(db, picked, "done" if redo else "undone")
    return done


def run_replies(db: Database, reply_ids: list[str], *, by: Actor) -> Done:
    """Undo every change of these replies still in effect, newest first (a retry or an edit takes back
    the earlier attempt's). Nothing to undo is no refusal; a conflict raises Refused, all or none."""
    done = Done()
    if not reply_ids:
        return done
    marks = ",".join("?" * len(reply_ids))
    picked = changelog.where(db, f"reply_id IN ({marks}) AND kind = 'change' AND undone_by IS NULL"
                             " ORDER BY applied_seq DESC", reply_ids)
    for ch in picked:
        done.changes.append(_revert(db, ch, by))
        done.reverted.append(ch)
    done.results = _flip(db, picked, "undone")
    return done


def model_last_reply(db: Database, current_reply: str) -> str:
    """The model's newest reply, other than this one, with a change still in effect ("" if none)."""
    row = db.execute("SELECT reply_id FROM changes WHERE kind = 'change' AND actor = 'model' AND reply_id != ?"
                     " AND undone_by IS NULL ORDER BY applied_seq DESC LIMIT 1", [current_reply]).fetchone()
    return row[0] if row else ""


def _pick(db: Database, scope: Scope, target: str, redo: bool, person_only: bool, agent: str = "") -> list[Change]:
    state = "undone_by IS NOT NULL" if redo else "undone_by IS NULL"
    order = "applied_seq ASC" if redo else "applied_seq DESC"  # undo newest first; redo in the original order
    what = "redo" if redo else "undo"
    if scope == "last":
        # whose: everyone's, the person's own, or one agent's own ({t}: the table's alias)
        who, args = (("{t}actor = 'person'", []) if person_only else
                     ("{t}actor = 'agent' AND {t}agent = ?", [agent]) if agent else ("1", []))
        if redo:  # the change undone most recently (by that actor) that is still undone
            rows = db.execute("SELECT t.seq FROM changes u JOIN changes t ON t.seq = u.target AND t.undone_by = u.seq"
                              f" WHERE u.kind = 'undo' AND {who.format(t='u.')} ORDER BY u.seq DESC LIMIT 1",
                              args).fetchall()
            picked = [changelog.get(db, rows[0][0])] if rows else []
        else:
            picked = changelog.where(db, f"kind = 'change' AND {state} AND {who.format(t='')} ORDER BY {order} LIMIT 1",
                                     args)
        if not picked:
            raise Refused("conflict", f"there is nothing to {what}")
        return _whole_group(db, [c for c in picked if c is not None], redo, order)
    if scope == "change":
        ch = changelog.get(db, int(target)) if target.isdigit() and len(target) < 19 else None
        if ch is None:
            raise Refused("unknown", f"there is no change #{target} in the log")
        if ch.kind != "change":
            raise Refused("conflict", f"change #{target} is itself an {ch.kind}; {what} the change it reverts")
        if (ch.undone_by is not None) != redo:
            raise Refused("conflict", "that change is undone already" if not redo else "that change is in effect")
        return [ch]
    column = "reply_id" if scope == "reply" else "command_id"
    rows = changelog.where(db, f"{column} = ? AND kind = 'change' ORDER BY {order}", [target])
    if not rows:
        raise _nothing_logged(db, scope, target)
    picked = [c for c in rows if (c.undone_by is not None) == redo]
    if not picked:
        noun = "everything this reply changed is" if scope == "reply" else "this command is"
        raise Refused("conflict", f"{noun} undone already" if not redo else f"{noun} in effect, nothing to redo")
    return picked


def _whole_group(db: Database, picked: list[Change], redo: bool, order: str) -> list[Change]:
    """The person's newest change, when it was one of a group (an import): the whole group, so Ctrl+Z
    takes back the import, not one of its tasks."""
    if len(picked) != 1 or picked[0].actor.kind != "person" or not picked[0].actor.reply_id:
        return picked
    rows = changelog.where(db, f"reply_id = ? AND kind = 'change' ORDER BY {order}", [picked[0].actor.reply_id])
    return [c for c in rows if (c.undone_by is not None) == redo]


def _nothing_logged(db: Database, scope: Scope, target: str) -> Refused:
    """No change in the log for this reply or command: say why."""
    if scope == "reply":
        known = db.execute("SELECT 1 FROM messages WHERE id = ? UNION SELECT 1 FROM commands WHERE msg_id = ?",
                           [target, target]).fetchone()
        if not known:
            return Refused("unknown", f"there is no reply {target!r}")
        ran = db.execute("SELECT 1 FROM commands WHERE msg_id = ? AND ok = 1 AND state IN ('done', 'undone')"
                         f" AND action IN ({','.join('?' * len(MUTATING))})", [target, *MUTATING]).fetchone()
        imported = db.execute("SELECT 1 FROM messages WHERE id = ? AND kind = 'event'", [target]).fetchone()
        if ran or imported:
            return Refused("conflict", TOO_OLD)
        return Refused("conflict", "this reply changed nothing on the list")
    row = db.execute("SELECT ok, action, state FROM commands WHERE id = ?", [target]).fetchone()
    if row is None:
        return Refused("unknown", f"there is no command {target!r}")
    ok, action, state = row
    if state == "asking":
        return Refused("conflict", "this command hasn't run: it is waiting for an answer (Allow or Deny)")
    if not ok or action not in MUTATING or state == "kept":
        return Refused("conflict", "this command changed nothing on the list")
    return Refused("conflict", TOO_OLD)


def _where(ch: Change) -> str:
    return "reply" if ch.actor.kind == "model" else "change"


def _fields(before: TaskRow | None, after: TaskRow | None) -> tuple[str, ...]:
    if before is None or after is None:
        return ("name", "done")
    return tuple(f for f in ("name", "done") if getattr(before, f) != getattr(after, f))


def _expect(db: Database, ch: Change, want: TaskRow | None, since: int) -> None:
    """The task must be as `want` (None: absent) in the fields `ch` changed; else a conflict."""
    assert ch.task_id is not None
    current = tasks.find(db, ch.task_id)
    if want is None:
        if current is not None:
            raise Refused("conflict", f"'{current.name}' is on the list again; undo that first")
        return
    if current is not None and all(getattr(current, f) == getattr(want, f) for f in _fields(ch.before, ch.after)):
        return
    since_row = changelog.newest_about(db, ch.task_id, since)
    verb = "deleted" if current is None else since_row.verb() if since_row else "changed"
    raise Refused("conflict", f"'{want.name}' was {verb} after this {_where(ch)}; undo that first")


def _expect_order(db: Database, ch: Change, want: list[tuple[int, int]]) -> None:
    now = dict(tasks.priorities(db))
    if any(now.get(i, p) != p for i, p in want):
        raise Refused("conflict", f"the list's order changed after this {_where(ch)}; undo that first")


def _revert(db: Database, ch: Change, by: Actor) -> TaskChanged:
    mark = Reverting("undo", ch.seq)
    if ch.op == "reorder":
        _expect_order(db, ch, ch.order_after or [])
        change = tasks.set_order(db, ch.order_before or [], by=by, reverting=mark)
    else:
        _expect(db, ch, ch.after, ch.applied_seq)
        change = _put(db, ch.task_id, ch.before, ch.after, by, mark)
    db.execute("UPDATE changes SET undone_by = ? WHERE seq = ?", [change.change_seq, ch.seq])
    return change


def _reapply(db: Database, ch: Change, by: Actor) -> TaskChanged:
    undo_seq = ch.undone_by
    assert undo_seq is not None
    mark = Reverting("redo", ch.seq)
    if ch.op == "reorder":
        _expect_order(db, ch, ch.order_before or [])
        change = tasks.set_order(db, ch.order_after or [], by=by, reverting=mark)
    else:
        _expect(db, ch, ch.before, undo_seq)
        change = _put(db, ch.task_id, ch.after, ch.before, by, mark)
    db.execute("UPDATE changes SET undone_by = NULL, applied_seq = ? WHERE seq = ?", [change.change_seq, ch.seq])
    db.execute("UPDATE changes SET undone_by = ? WHERE seq = ?", [change.change_seq, undo_seq])
    return change


def _put(db: Database, task_id: int | None, want: TaskRow | None, now: TaskRow | None, by: Actor,
         mark: Reverting) -> TaskChanged:
    """Make the task `want` again (None: gone), from its state `now`."""
    assert task_id is not None
    if want is None:
        return tasks.delete(db, task_id, by=by, reverting=mark)
    if now is None:
        return tasks.restore(db, want, by=by, reverting=mark)
    fields = _fields(want, now)
    return tasks.update(db, task_id, by=by, reverting=mark, name=want.name if "name" in fields else None,
                        done=want.done if "done" in fields else None)


def _flip(db: Database, changes: list[Change], state: Literal["done", "undone"]) -> list[CommandResult]:
    out = []
    for command_id in dict.fromkeys(c.actor.command_id for c in changes if c.actor.command_id):
        db.execute("UPDATE commands SET state = ? WHERE id = ?", [state, command_id])
        row = db.execute("SELECT msg_id, ok, result, action FROM commands WHERE id = ?", [command_id]).fetchone()
        if row:
            out.append(CommandResult(msg_id=row[0], command_id=command_id, ok=bool(row[1]), summary=row[2],
                                     action=row[3] or "", state=state))
    return out
