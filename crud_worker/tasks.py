"""The todo list's operations, the only code that writes tasks. Callers hold the write transaction
(`db.write`); every change is logged in it (`changelog.record`) and returned as the `task.changed`
message that announces it."""

from __future__ import annotations

import msgspec
from sqlite_utils import Database

from bus import contract, tables
from bus.contract import MAX_ID, ExportedTask, TaskChanged, TaskRow, TaskStep
from crud_worker import changelog, db as store
from crud_worker.changelog import Actor, Reverting
from crud_worker.db import now
from crud_worker.refusal import Refusal

MAX_TASKS = 5_000
TASK_ID_SETTING = tables.TASK_ID_SEQ


class TaskError(Refusal):
    """A refusal a person (or the model) can read: no such task ("unknown"), an empty name…"""


def clean_name(name: str | None) -> str:
    try:
        return contract.clean_name(name)
    except contract.InvalidName as err:
        raise TaskError(str(err)) from None


_row = TaskRow.from_row
_COLS = TaskRow.COLUMNS


def all_tasks(db: Database, done: bool | None = None) -> list[TaskRow]:
    where, args = ("", []) if done is None else ("WHERE done = ?", [int(done)])
    return [_row(r) for r in db.execute(f"SELECT {_COLS} FROM tasks {where} ORDER BY priority, id", args)]


def get(db: Database, task_id: int) -> TaskRow:
    if not 1 <= task_id <= MAX_ID:
        raise TaskError(f"there is no task #{task_id}", "unknown")
    r = db.execute(f"SELECT {_COLS} FROM tasks WHERE id = ?", [task_id]).fetchone()
    if r is None:
        raise TaskError(f"there is no task #{task_id}", "unknown")
    return _row(r)


_QUOTES = str.maketrans({q: '"' for q in "'\u2018\u2019\u201c\u201d`"})


def _unquoted(name: str) -> str:
    return name.lower().translate(_QUOTES)


def _named(db: Database, name: str) -> list:
    """Rows named so, exactly (case-insensitive); failing that, with any quote standing for any quote (a
    small model writes 'Dune' for "Dune"; one character each, so the length is the same)."""
    rows = db.execute(f"SELECT {_COLS} FROM tasks WHERE lower(name) = lower(?) ORDER BY id", [name.strip()]).fetchall()
    if not rows:
        rows = [r for r in db.execute(f"SELECT {_COLS} FROM tasks WHERE length(name) = ? ORDER BY id",
                                      [len(name.strip())]) if _unquoted(r[1]) == _unquoted(name.strip())]
    return rows


def named(db: Database, name: str) -> list[TaskRow]:
    return [_row(r) for r in _named(db, name)]


def resolve(db: Database, ref: int | str) -> TaskRow:
    """A task by id, or by exact case-insensitive name; an ambiguous name is refused, never guessed."""
    if isinstance(ref, int):
        return get(db, ref)
    rows = _named(db, ref)
    if not rows:
        raise TaskError(f"there is no task named '{ref}'", "unknown")
    if len(rows) > 1:
        raise TaskError(f"'{ref}' matches tasks {', '.join('#' + str(r[0]) for r in rows)}; use the id")
    return _row(rows[0])


def find(db: Database, task_id: int) -> TaskRow | None:
    r = db.execute(f"SELECT {_COLS} FROM tasks WHERE id = ?", [task_id]).fetchone()
    return _row(r) if r else None


def _changed(op, by: Actor, task: TaskRow | None, seq: int, ids: list[int] | None = None) -> TaskChanged:
    return TaskChanged(op=op, origin=by.origin(), agent=by.agent, task=task, ids=ids, change_seq=seq)


def _next_id(db: Database, task: TaskRow) -> int:
    """The task that follows this one in the list's order (0: it is the last)."""
    r = db.execute("SELECT id FROM tasks WHERE (priority, id) > (?, ?) ORDER BY priority, id LIMIT 1",
                   [task.priority, task.id]).fetchone()
    return r[0] if r else 0


def group(changes: list[TaskChanged]) -> list[TaskChanged]:
    """Several changes made together (an import, an undo or redo of a reply's) as the one message that
    announces them: their steps in order, so a tab applies each in place. One with a reorder in it stays
    a reorder (the order changed: the tabs re-read the list)."""
    changes = [ch for ch in changes if ch.change_seq]
    if len(changes) < 2:
        return changes
    last = changes[-1]
    if any(ch.op in ("reorder", "group") or ch.task is None for ch in changes):
        return [TaskChanged(op="reorder", origin=last.origin, agent=last.agent, change_seq=last.change_seq,
                            first_seq=changes[0].change_seq)]
    if len(changes) > contract.MAX_GROUP_STEPS:  # an import of thousands: "re-read the list", not 400 KB
        return [TaskChanged(op="group", origin=last.origin, agent=last.agent, change_seq=last.change_seq,
                            first_seq=changes[0].change_seq)]
    steps = [TaskStep(op=ch.op, task=ch.task, before_id=ch.before_id) for ch in changes if ch.task is not None]
    return [TaskChanged(op="group", origin=last.origin, agent=last.agent, change_seq=last.change_seq,
                        first_seq=changes[0].change_seq, steps=steps)]


def add(db: Database, name: str, *, by: Actor, done: bool = False) -> TaskChanged:
    name = clean_name(name)
    (count, top, high), = db.execute("SELECT count(*), coalesce(max(priority), 0), coalesce(max(id), 0)"
                                     " FROM tasks").fetchall()
    if count >= MAX_TASKS:
        raise TaskError(f"the list is full ({MAX_TASKS} tasks)", "conflict")
    # Ids are never reused (SQLite would hand out a deleted top id again): an undone delete brings
    # its task back under the same id, and a command naming #7 can't reach a newer task.
    task_id = max(store.next_seq(db, TASK_ID_SETTING), high + 1)
    store.set_setting(db, TASK_ID_SETTING, str(task_id))
    stamp = now()
    db.execute("INSERT INTO tasks (id, name, done, priority, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
               [task_id, name, int(done), top + 1, stamp, stamp])
    task = get(db, task_id)
    return _changed("insert", by, task, changelog.record(db, op="insert", by=by, task_id=task_id, after=task))


def update(db: Database, task_id: int, *, by: Actor, name: str | None = None, done: bool | None = None,
           reverting: Reverting | None = None) -> TaskChanged:
    """Rename and/or mark a task. Nothing changed → `change_seq` 0 and nothing logged or to announce."""
    before = get(db, task_id)
    new_name = clean_name(name) if name is not None else before.name
    new_done = before.done if done is None else done
    if (new_name, new_done) == (before.name, before.done):
        return _changed("update", by, before, 0)
    db.execute("UPDATE tasks SET name = ?, done = ?, updated_at = ? WHERE id = ?",
               [new_name, int(new_done), now(), task_id])
    task = get(db, task_id)
    return _changed("update", by, task, changelog.record(db, op="update", by=by, task_id=task_id, before=before,
                                                         after=task, reverting=reverting))


def toggle(db: Database, task_id: int, *, by: Actor) -> TaskChanged:
    return update(db, task_id, by=by, done=not get(db, task_id).done)


def delete(db: Database, task_id: int, *, by: Actor, reverting: Reverting | None = None) -> TaskChanged:
    task = get(db, task_id)
    db.execute("DELETE FROM tasks WHERE id = ?", [task_id])
    return _changed("delete", by, task, changelog.record(db, op="delete", by=by, task_id=task_id, before=task,
                                                         reverting=reverting))


def restore(db: Database, task: TaskRow, *, by: Actor, reverting: Reverting) -> TaskChanged:
    """Bring a deleted task back: same id, name, state, and place in the list (the tasks from its old
    priority on move down one, if another task holds it now). Announced as an insert in front of the task
    that now follows it, so a tab puts it back in place."""
    if find(db, task.id) is not None:
        raise TaskError(f"task #{task.id} exists already", "conflict")
    if db.execute("SELECT count(*) FROM tasks").fetchone()[0] >= MAX_TASKS:
        raise TaskError(f"the list is full ({MAX_TASKS} tasks)", "conflict")
    stamp = now()
    if db.execute("SELECT 1 FROM tasks WHERE priority = ?", [task.priority]).fetchone():
        db.execute("UPDATE tasks SET priority = priority + 1 WHERE priority >= ?", [task.priority])
    db.execute("INSERT INTO tasks (id, name, done, priority, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
               [task.id, task.name, int(task.done), task.priority, stamp, stamp])
    seq = changelog.record(db, op="insert", by=by, task_id=task.id, after=task, reverting=reverting)
    return msgspec.structs.replace(_changed("insert", by, task, seq), before_id=_next_id(db, task))


def import_all(db: Database, items: list[ExportedTask], *, by: Actor) -> TaskChanged:
    """Add every task of an import at the end of the list, in its order; the caller's transaction makes
    it all or none (a bad name or a full list raises, naming the task). Announced as one group."""
    if not items:
        raise TaskError("the file holds no tasks")
    added = []
    for n, item in enumerate(items, start=1):
        try:
            added.append(add(db, item.name, by=by, done=item.done))
        except TaskError as err:
            raise TaskError(f"task {n} of the file: {err}; nothing was imported", err.code) from None
    return group(added)[0]


def priorities(db: Database) -> list[tuple[int, int]]:
    return [(r[0], r[1]) for r in db.execute("SELECT id, priority FROM tasks ORDER BY priority, id")]


def _set_priorities(db: Database, pairs: list[tuple[int, int]], stamp: str) -> None:
    db.conn.executemany("UPDATE tasks SET priority = ?, updated_at = ? WHERE id = ?",
                        [(pos, stamp, task_id) for task_id, pos in pairs])


def reorder(db: Database, ids: list[int], *, by: Actor) -> TaskChanged:
    """Persist a new order. Ids not mentioned keep their relative order after the given ones."""
    existing = [t.id for t in all_tasks(db)]
    known = set(existing)
    unknown = [i for i in ids if i not in known]  # also catches ids beyond SQLite's 64 bits
    if unknown:
        raise TaskError(f"there is no task #{unknown[0]}", "unknown")
    if len(set(ids)) != len(ids):
        raise TaskError("the new order repeats a task")
    return _apply_order(db, ids + [i for i in existing if i not in set(ids)], by)


def move(db: Database, task_id: int, before_id: int | None, *, by: Actor) -> TaskChanged:
    """One task to a new place: just above `before_id`, or at the end (None). What a drag posts, so a
    reorder's request stays two numbers long however long the list is."""
    order = [t.id for t in all_tasks(db)]
    if task_id not in order:
        raise TaskError(f"there is no task #{task_id}")
    if before_id == task_id:
        raise TaskError("a task can't move above itself")
    order.remove(task_id)
    if before_id is None:
        order.append(task_id)
    elif before_id in order:
        order.insert(order.index(before_id), task_id)
    else:
        raise TaskError(f"there is no task #{before_id}")
    return _apply_order(db, order, by)


def _apply_order(db: Database, order: list[int], by: Actor) -> TaskChanged:
    before = priorities(db)
    _set_priorities(db, [(task_id, pos) for pos, task_id in enumerate(order, start=1)], now())
    seq = changelog.record(db, op="reorder", by=by, order_before=before, order_after=priorities(db))
    return _changed("reorder", by, None, seq, order)


def set_order(db: Database, pairs: list[tuple[int, int]], *, by: Actor, reverting: Reverting) -> TaskChanged:
    """Put back the priorities of an earlier order (tasks deleted since are skipped)."""
    before = priorities(db)
    known = {task_id for task_id, _ in before}
    _set_priorities(db, [(i, p) for i, p in pairs if i in known], now())
    seq = changelog.record(db, op="reorder", by=by, order_before=before, order_after=priorities(db),
                           reverting=reverting)
    return _changed("reorder", by, None, seq, [t.id for t in all_tasks(db)])
