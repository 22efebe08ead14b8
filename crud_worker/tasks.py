"""The todo list's operations. Callers hold the write transaction (`db.write`)."""

from __future__ import annotations

from sqlite_utils import Database

from bus import contract
from bus.contract import MAX_ID, TaskRow
from crud_worker.db import now

MAX_TASKS = 5_000


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


def resolve(db: Database, ref: int | str) -> TaskRow:
    """A task by id, or by exact case-insensitive name; an ambiguous name is refused, never guessed."""
    if isinstance(ref, int):
        return get(db, ref)
    rows = db.execute(f"SELECT {_COLS} FROM tasks WHERE lower(name) = lower(?) ORDER BY id", [ref.strip()]).fetchall()
    if not rows:
        raise TaskError(f"there is no task named '{ref}'")
    if len(rows) > 1:
        raise TaskError(f"'{ref}' matches tasks {', '.join('#' + str(r[0]) for r in rows)}; use the id")
    return _row(rows[0])


def add(db: Database, name: str) -> TaskRow:
    name = clean_name(name)
    (count, top), = db.execute("SELECT count(*), coalesce(max(priority), 0) FROM tasks").fetchall()
    if count >= MAX_TASKS:
        raise TaskError(f"the list is full ({MAX_TASKS} tasks)")
    stamp = now()
    cur = db.execute("INSERT INTO tasks (name, done, priority, created_at, updated_at) VALUES (?, 0, ?, ?, ?)",
                     [name, top + 1, stamp, stamp])
    return get(db, cur.lastrowid)


def update(db: Database, task_id: int, *, name: str | None = None, done: bool | None = None) -> TaskRow:
    task = get(db, task_id)
    new_name = clean_name(name) if name is not None else task.name
    new_done = task.done if done is None else done
    db.execute("UPDATE tasks SET name = ?, done = ?, updated_at = ? WHERE id = ?",
               [new_name, int(new_done), now(), task_id])
    return get(db, task_id)


def toggle(db: Database, task_id: int) -> TaskRow:
    return update(db, task_id, done=not get(db, task_id).done)


def delete(db: Database, task_id: int) -> TaskRow:
    task = get(db, task_id)
    db.execute("DELETE FROM tasks WHERE id = ?", [task_id])
    return task


def reorder(db: Database, ids: list[int]) -> list[int]:
    """Persist a new order. Ids not mentioned keep their relative order after the given ones."""
    existing = [t.id for t in all_tasks(db)]
    known = set(existing)
    unknown = [i for i in ids if i not in known]  # also catches ids beyond SQLite's 64 bits
    if unknown:
        raise TaskError(f"there is no task #{unknown[0]}")
    if len(set(ids)) != len(ids):
        raise TaskError("the new order repeats a task")
    order = ids + [i for i in existing if i not in set(ids)]
    stamp = now()
    db.conn.executemany("UPDATE tasks SET priority = ?, updated_at = ? WHERE id = ?",
                   [(pos, stamp, task_id) for pos, task_id in enumerate(order, start=1)])
    return order
