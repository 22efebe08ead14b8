"""The todo list's operations, the only code that writes tasks. Callers hold the write transaction
(`db.write`); every change is logged in it (`changelog.record`) and returned as the `task.changed`
message that announces it."""

from __future__ import annotations

from sqlite_utils import Database

from bus import contract
from bus.contract import MAX_ID, ExportedTask, TaskChanged, TaskRow
from crud_worker import changelog, db as store
from crud_worker.changelog import Actor, Reverting
from crud_worker.db import now

MAX_TASKS = 5_000
TASK_ID_SETTING = "task_id_seq"


class TaskError(Exception):
    """A refusal a person (or the model) can read: no such task, an empty name…"""


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
        raise TaskError(f"there is no task #{task_id}")
    r = db.execute(f"SELECT {_COLS} FROM tasks WHERE id = ?", [task_id]).fetchone()
    if r is None:
        raise TaskError(f"there is no task #{task_id}")
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
        raise TaskError(f"there is no task named '{ref}'")
    if len(rows) > 1:
        raise TaskError(f"'{ref}' matches tasks {', '.join('#' + str(r[0]) for r in rows)}; use the id")
    return _row(rows[0])


def find(db: Database, task_id: int) -> TaskRow | None:
    r = db.execute(f"SELECT {_COLS} FROM tasks WHERE id = ?", [task_id]).fetchone()
    return _row(r) if r else None


def _changed(op, by: Actor, task: TaskRow | None, seq: int, ids: list[int] | None = None) -> TaskChanged:
    return TaskChanged(op=op, origin=by.origin(), agent=by.agent, task=task, ids=ids, change_seq=seq)


def add(db: Database, name: str, *, by: Actor, done: bool = False) -> TaskChanged:
    name = clean_name(name)
    (count, top, high), = db.execute("SELECT count(*), coalesce(max(priority), 0), coalesce(max(id), 0)"
                                     " FROM tasks").fetchall()
    if count >= MAX_TASKS:
        raise TaskError(f"the list is full ({MAX_TASKS} tasks)")
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
    priority on move down one, if another task holds it now). Announced as a reorder: the list's order changed, render it whole."""
    if find(db, task.id) is not None:
        raise TaskError(f"task #{task.id} exists already")
    if db.execute("SELECT count(*) FROM tasks").fetchone()[0] >= MAX_TASKS:
        raise TaskError(f"the list is full ({MAX_TASKS} tasks)")
    stamp = now()
    if db.execute("SELECT 1 FROM tasks WHERE priority = ?", [task.priority]).fetchone():
        db.execute("UPDATE tasks SET priority = priority + 1 WHERE priority >= ?", [task.priority])
    db.execute("INSERT INTO tasks (id, name, done, priority, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
               [task.id, task.name, int(task.done), task.priority, stamp, stamp])
    seq = changelog.record(db, op="insert", by=by, task_id=task.id, after=task, reverting=reverting)
    return _changed("reorder", by, task, seq, [t.id for t in all_tasks(db)])


def import_all(db: Database, items: list[ExportedTask], *, by: Actor) -> TaskChanged:
    """Add every task of an import at the end of the list, in its order; the caller's transaction makes
    it all or none (a bad name or a full list raises, naming the task). Announced as one reorder."""
    if not items:
        raise TaskError("the file holds no tasks")
    seq = 0
    for n, item in enumerate(items, start=1):
        try:
            seq = add(db, item.name, by=by, done=item.done).change_seq
        except TaskError as err:
            raise TaskError(f"task {n} of the file: {err}; nothing was imported") from None
    return _changed("reorder", by, None, seq, [t.id for t in all_tasks(db)])


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
        raise TaskError(f"there is no task #{unknown[0]}")
    if len(set(ids)) != len(ids):
        raise TaskError("the new order repeats a task")
    order = ids + [i for i in existing if i not in set(ids)]
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
