"""Runs one model command against the list, exactly once per `command_id`, and logs it."""

from __future__ import annotations

import json

import msgspec
from sqlite_utils import Database

from bus.contract import CommandResult, TaskChanged
from crud_worker import db as store, tasks
from commands.schema import Command, Delete, Insert, List, Refusal, Toggle, Update
from crud_worker.db import now

MAX_COMMANDS_PER_REPLY = 25
LIST_LIMIT = 100


class Outcome(msgspec.Struct):
    result: CommandResult
    change: TaskChanged | None = None
    feedback: str = ""  # what the model should be told in a follow-up turn ("" = nothing to say)


def execute(db: Database, *, msg_id: str, command_id: str, ordinal: int, raw: str,
            command: Command | Refusal) -> Outcome:
    """Apply a parsed command. A `command_id` already in the log is answered from the log, not re-run.

    `ordinal` counts the reply's commands (embedded and native alike) for the per-reply cap.
    """
    done = db.execute("SELECT ok, result, action FROM commands WHERE id = ?", [command_id]).fetchone()
    if done:
        return Outcome(CommandResult(msg_id=msg_id, command_id=command_id, ok=bool(done[0]), summary=done[1],
                                     action=done[2] or ""))
    if ordinal >= MAX_COMMANDS_PER_REPLY:
        command = Refusal(reason=f"too many commands in one reply (the limit is {MAX_COMMANDS_PER_REPLY})")
    action = "" if isinstance(command, Refusal) else type(command).__name__.lower()
    with store.write(db):
        try:
            change, summary, feedback = _apply(db, command)
            ok = True
        except tasks.TaskError as err:
            change, summary, ok = None, f"couldn't apply: {err}", False
            feedback = f"refused {raw.strip()[:200]}: {err}"
        if change:
            change.change_seq = store.next_change_seq(db)
        db.execute("INSERT INTO commands (id, msg_id, raw, action, args, ok, result, created_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [command_id, msg_id, raw, action or None,
                    None if isinstance(command, Refusal) else json.dumps(msgspec.to_builtins(command)),
                    int(ok), summary, now()])
    return Outcome(CommandResult(msg_id=msg_id, command_id=command_id, ok=ok, summary=summary, action=action),
                   change, feedback)


def _apply(db: Database, command: Command | Refusal) -> tuple[TaskChanged | None, str, str]:
    match command:
        case Refusal(reason=reason):
            raise tasks.TaskError(reason)
        case Insert(name=name):
            task = tasks.add(db, name)
            return TaskChanged(op="insert", origin="model", task=task), f"Added '{task.name}'", ""
        case Toggle(ref=ref):
            task = tasks.toggle(db, tasks.resolve(db, ref).id)
            state = "done" if task.done else "not done"
            return TaskChanged(op="update", origin="model", task=task), f"Marked '{task.name}' {state}", ""
        case Delete(ref=ref):
            task = tasks.delete(db, tasks.resolve(db, ref).id)
            return TaskChanged(op="delete", origin="model", task=task), f"Removed '{task.name}'", ""
        case Update(ref=ref, name=name, done=done):
            before = tasks.resolve(db, ref)
            task = tasks.update(db, before.id, name=name, done=done)
            parts = []
            if name is not None and task.name != before.name:
                parts.append(f"Renamed '{before.name}' to '{task.name}'")
            if done is not None:
                parts.append(f"Marked '{task.name}' {'done' if task.done else 'not done'}")
            return TaskChanged(op="update", origin="model", task=task), "; ".join(parts) or f"Kept '{task.name}'", ""
        case List(done=done):
            rows = tasks.all_tasks(db, done)
            lines = [f"#{t.id} [{'x' if t.done else ' '}] {t.name}" for t in rows[:LIST_LIMIT]]
            if len(rows) > LIST_LIMIT:
                lines.append(f"… and {len(rows) - LIST_LIMIT} more")
            listing = "\n".join(lines) if lines else "(no tasks)"
            noun = "task" if len(rows) == 1 else "tasks"
            return None, f"Listed {len(rows)} {noun}", f"list ({len(rows)} {noun}):\n{listing}"
    raise TypeError(f"not a command: {command!r}")
