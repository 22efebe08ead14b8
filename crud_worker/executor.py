"""Runs one model command against the list, exactly once per `command_id`, and logs it.

Before a change runs, its action's ask-first policy decides: `auto` runs it, `off` refuses it,
`ask` stores it as pending (approvals.py) until someone allows or denies it. A command in a reply
nobody asked for (`suggest`: a comment on a click, an import, an agent's change, a Poke), or in a
reply to a question that asks for no change (questions.py), never changes the list by itself: it
waits for Allow / Deny as a suggestion whatever the policy says (`off` still refuses it), and an
undo there is refused. The model never adds a task that is on the
list already (tasks.named: case and quote style aside): that insert is refused, saying to use update.
"""

from __future__ import annotations

import json

import msgspec
from sqlite_utils import Database

from bus.contract import MUTATING, CommandResult, CommandState, TaskChanged, TaskRow
from crud_worker import approvals, db as store, tasks, undo
from crud_worker.changelog import Actor
from commands.spec import Command, Delete, Each, Insert, List, Refusal, Toggle, Undo, Update
from crud_worker.db import now

REFUSED = "refused "  # how the model's feedback on a refused command starts (followups.py relies on it)

MAX_COMMANDS_PER_REPLY = 25
LIST_LIMIT = 100
NAMED_AT_MOST = 5  # a change to many tasks names this many, then says how many more


class Outcome(msgspec.Struct):
    result: CommandResult
    changes: list[TaskChanged] = []  # to announce, in order
    flipped: list[CommandResult] = []  # other commands' chips an undo flipped to "undone"
    feedback: str = ""  # what the model should be told in a follow-up turn ("" = nothing to say)


def action_of(command: Command | Refusal) -> str:
    """The action a command is logged, asked for and shown as: an Each is the update or delete it repeats."""
    if isinstance(command, Each):
        return command.action
    return "" if isinstance(command, Refusal) else type(command).__name__.lower()


def execute(db: Database, *, msg_id: str, command_id: str, ordinal: int, raw: str,
            command: Command | Refusal, ask_timeout: float, suggest: bool = False) -> Outcome:
    """Apply a parsed command. A `command_id` already in the log is answered from the log, not re-run.

    `ordinal` counts the reply's commands (embedded and native alike) for the per-reply cap.
    """
    done = db.execute("SELECT ok, result, action, state FROM commands WHERE id = ?", [command_id]).fetchone()
    if done:
        return Outcome(CommandResult(msg_id=msg_id, command_id=command_id, ok=bool(done[0]), summary=done[1],
                                     action=done[2] or "", state=done[3]))
    if ordinal >= MAX_COMMANDS_PER_REPLY:
        command = Refusal(reason=f"too many commands in one reply (the limit is {MAX_COMMANDS_PER_REPLY})")
    action = action_of(command)
    by = Actor(kind="model", reply_id=msg_id, command_id=command_id)
    state: CommandState = "done"
    with store.write(db):
        try:
            policy = approvals.policy_for(db, action) if action in MUTATING else "auto"
            if policy == "off":
                raise tasks.TaskError(f"{action} is turned off for the model (ask-first settings); "
                                      "ask the person to do it")
            if suggest and isinstance(command, Undo):
                raise tasks.TaskError("undo runs only when the person asks for it")
            if isinstance(command, Insert) and (same := tasks.named(db, command.name)):
                raise tasks.TaskError(f"'{same[0].name}' is on the list already (#{same[0].id}); to mark it done "
                                      "or rename it, use update")
            if (policy == "ask" or (suggest and action in MUTATING)) and not changes_nothing(db, command):
                command = pinned(db, command)
                words = what(db, command)
                summary = f"Suggests: {words}" if suggest else f"Asks to {words}"
                approvals.add(db, command_id=command_id, msg_id=msg_id, action=action, command=command,
                              what=words, timeout=ask_timeout)
                changes, flipped, feedback, ok, state = [], [], "", True, "asking"
            else:
                changes, flipped, summary, feedback = apply(db, command, by)
                ok, state = True, ran(action, changes)
        except tasks.TaskError as err:
            changes, flipped, summary, ok = [], [], f"couldn't apply: {err}", False
            feedback = f"{REFUSED}{raw.strip()[:200]}: {err}"
        db.execute("INSERT INTO commands (id, msg_id, raw, action, args, ok, result, created_at, state)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [command_id, msg_id, raw, action or None,
                    None if isinstance(command, Refusal) else json.dumps(msgspec.to_builtins(command)),
                    int(ok), summary, now(), state])
    return Outcome(CommandResult(msg_id=msg_id, command_id=command_id, ok=ok, summary=summary, action=action,
                                 state=state), changes, flipped, feedback)


def ran(action: str, changes: list[TaskChanged]) -> CommandState:
    """A change that ran: "kept" when it changed nothing (the task was so already), so no Undo is offered."""
    return "kept" if action in MUTATING and not changes else "done"


def changes_nothing(db: Database, command: Command) -> bool:
    """An update that leaves its task as it is (a small model "renames" a task to its own name): it runs
    and says "Kept", and is never put to the person as a question or a suggestion."""
    if isinstance(command, Each):
        return command.action == "update" and all(t.done == command.done for t in selected(db, command))
    if not isinstance(command, Update):
        return False
    task = tasks.resolve(db, command.ref)
    return command.name in (None, task.name) and command.done in (None, task.done)


def pinned(db: Database, command: Command) -> Command:
    """A command waiting for approval names its task by id: a rename meanwhile can't redirect it."""
    match command:
        case Update(ref=ref) | Toggle(ref=ref) | Delete(ref=ref):
            return msgspec.structs.replace(command, ref=tasks.resolve(db, ref).id)
        case Each():
            return msgspec.structs.replace(command, ids=tuple(t.id for t in changing(db, command)))
    return command


_NONE = {"all": "the list is empty", "done": "no task is done", "open": "no task is open"}


def selected(db: Database, each: Each) -> list[TaskRow]:
    """The tasks an Each names: the ones it was pinned to that are still there, else its selection now."""
    if each.ids:
        rows = [t for i in each.ids if (t := tasks.find(db, i)) is not None]
        if not rows:
            raise tasks.TaskError("those tasks are gone already", "unknown")
        return rows
    rows = tasks.all_tasks(db, None if each.tasks == "all" else each.tasks == "done")
    if not rows:
        raise tasks.TaskError(_NONE[each.tasks], "unknown")
    return rows


def changing(db: Database, each: Each) -> list[TaskRow]:
    """Those it would change: an update leaves out the tasks that are so already."""
    return [t for t in selected(db, each) if each.action == "delete" or t.done != each.done]


def named(rows: list[TaskRow]) -> str:
    """'a', 'b' and 'c' (and how many more, past NAMED_AT_MOST)."""
    names = [f"'{t.name}'" for t in rows[:NAMED_AT_MOST]]
    if len(rows) > NAMED_AT_MOST:
        return ", ".join(names) + f" and {len(rows) - NAMED_AT_MOST:,} more"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def what(db: Database, command: Command) -> str:
    """The command in words, for the person deciding: "delete 'buy milk'"."""
    match command:
        case Insert(name=name):
            return f"add '{name}'"
        case Toggle(ref=ref):
            return f"tick or untick '{tasks.resolve(db, ref).name}'"
        case Delete(ref=ref):
            return f"delete '{tasks.resolve(db, ref).name}'"
        case Update(ref=ref, name=name, done=done):
            task = tasks.resolve(db, ref)
            parts = [f"rename '{task.name}' to '{name}'"] if name not in (None, task.name) else []
            if done not in (None, task.done):
                parts.append(f"mark '{task.name}' {'done' if done else 'not done'}")
            return " and ".join(parts)
        case Each(action="delete"):
            return f"delete {named(changing(db, command))}"
        case Each(done=done):
            return f"mark {named(changing(db, command))} {'done' if done else 'not done'}"
    return action_of(command)


def apply(db: Database, command: Command | Refusal, by: Actor
          ) -> tuple[list[TaskChanged], list[CommandResult], str, str]:
    """Run a command: (changes, chips flipped, summary, feedback). Raises tasks.TaskError."""
    match command:
        case Refusal(reason=reason):
            raise tasks.TaskError(reason)
        case Insert(name=name):
            change = tasks.add(db, name, by=by)
            return [change], [], f"Added '{change.task.name}'", ""
        case Toggle(ref=ref):
            change = tasks.toggle(db, tasks.resolve(db, ref).id, by=by)
            state = "done" if change.task.done else "not done"
            return [change], [], f"Marked '{change.task.name}' {state}", ""
        case Delete(ref=ref):
            change = tasks.delete(db, tasks.resolve(db, ref).id, by=by)
            return [change], [], f"Removed '{change.task.name}'", ""
        case Update(ref=ref, name=name, done=done):
            before = tasks.resolve(db, ref)
            change = tasks.update(db, before.id, by=by, name=name, done=done)
            task = change.task
            parts = []
            if name is not None and task.name != before.name:
                parts.append(f"Renamed '{before.name}' to '{task.name}'")
            state = "done" if task.done else "not done"
            if done is not None and task.done != before.done:
                parts.append(f"Marked '{task.name}' {state}")
            if parts:
                return [change], [], "; ".join(parts), ""
            return [], [], f"Kept '{task.name}'" + (f": {state} already" if done is not None else ""), ""
        case Each(action="delete"):
            rows = selected(db, command)
            return [tasks.delete(db, t.id, by=by) for t in rows], [], f"Removed {named(rows)}", ""
        case Each(done=done):
            state = "done" if done else "not done"
            if not (rows := changing(db, command)):
                return [], [], f"Kept {named(selected(db, command))}: {state} already", ""
            changes = [tasks.update(db, t.id, by=by, done=done) for t in rows]
            return changes, [], f"Marked {named(rows)} {state}", ""
        case Undo():
            reply = undo.model_last_reply(db, by.reply_id)
            if not reply:
                raise tasks.TaskError("none of your replies has a change left to undo")
            try:
                done = undo.run(db, "reply", reply, by=by)
            except undo.Refused as err:
                raise tasks.TaskError(f"couldn't undo: {err}") from None
            words = done.words()
            summary = f"Undid {len(words)} change{'s' if len(words) != 1 else ''}: " + "; ".join(words)
            return done.changes, done.results, summary, ""
        case List(done=done):
            rows = tasks.all_tasks(db, done)
            lines = [f"#{t.id} [{'x' if t.done else ' '}] {t.name}" for t in rows[:LIST_LIMIT]]
            if len(rows) > LIST_LIMIT:
                lines.append(f"… and {len(rows) - LIST_LIMIT} more")
            listing = "\n".join(lines) if lines else "(no tasks)"
            noun = "task" if len(rows) == 1 else "tasks"
            return [], [], f"Listed {len(rows)} {noun}", f"list ({len(rows)} {noun}):\n{listing}"
    raise TypeError(f"not a command: {command!r}")
