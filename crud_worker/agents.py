"""Outside agents (MCP clients of the web) acting on the list: one tool call of the command schema each.

A call runs like the model's command of the same name, through the same validation (`from_tool_call`),
ask-first policy and `executor.apply`, in one transaction with its change-log row (actor `agent`, with
the agent's name) and an event note in the conversation: the model reads it as an [event] line, like
a person's click, and every tab shows it as a chip "✓ Added 'x' — by NAME" whose command id is
`{msg_id}:0` (so Undo, Redo, Allow and Deny work on it as on the model's chips). A refused call
changes nothing and stores nothing: the agent gets the reason, the tabs see nothing.

An agent note is a message of role "user", kind "agent"; its `model` column holds the agent's name
(the actor of a change that an Allow runs later).
"""

from __future__ import annotations

import json

import msgspec
from sqlite_utils import Database

from bus.contract import AgentCall, CommandResult, CommandState, TaskChanged, TaskRow, agent_name
from commands.ids import command_id as command_id_of
from commands.parse import from_tool_call
from commands.spec import Delete, Insert, Refusal, Toggle, Update
from crud_worker import approvals, conversation, db as store, tasks
from crud_worker.changelog import Actor
from crud_worker.executor import action_of, apply, pinned, ran, what

KIND = "agent"  # the kind of an agent's note in `messages`


class Ran(msgspec.Struct):
    result: CommandResult
    changes: list[TaskChanged]
    flipped: list[CommandResult]
    event: str  # the note's text, as the model reads it
    task: TaskRow | None
    state: CommandState
    conversation_id: str  # where the note went


def run(db: Database, m: AgentCall, ask_timeout: float) -> Ran:
    """Run one agent call. Raises tasks.TaskError (nothing stored) when it is refused."""
    command = from_tool_call(m.tool, m.arguments)
    if isinstance(command, Refusal):
        raise tasks.TaskError(command.reason)
    if not isinstance(command, (Insert, Update, Toggle, Delete)):
        raise tasks.TaskError(f"{m.tool} is not a change an agent can ask for")
    agent = agent_name(m.client)
    action = action_of(command)
    command_id = command_id_of(m.msg_id, 0)
    by = Actor(kind="agent", agent=agent, reply_id=m.msg_id, command_id=command_id)
    changes: list[TaskChanged] = []
    flipped: list[CommandResult] = []
    state: CommandState = "done"
    with store.write(db):
        where = conversation.current(db)  # an agent has no tab: its note goes where the person last was
        policy = approvals.policy_for(db, action)
        if policy == "off":
            raise tasks.TaskError(f"{action} is turned off (the person's ask-first settings); ask the person to do it",
                                  "conflict")
        if policy == "ask":
            command = pinned(db, command)
            words = what(db, command)
            summary, state = f"Asks to {words}", "asking"
            approvals.add(db, command_id=command_id, msg_id=m.msg_id, action=action, command=command, what=words,
                          timeout=ask_timeout)
        else:
            changes, flipped, summary, _ = apply(db, command, by)
            state = ran(action, changes)
        event = f"The agent '{agent}' (an outside program, through MCP) {summary[:1].lower()}{summary[1:]}"
        conversation.store(db, msg_id=m.msg_id, role="user", kind=KIND, content=event, model=agent,
                           conversation_id=where)
        summary = f"{summary} — by {agent}"
        db.execute("INSERT INTO commands (id, msg_id, raw, action, args, ok, result, created_at, state)"
                   " VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                   [command_id, m.msg_id, json.dumps({"name": m.tool, "arguments": m.arguments}), action,
                    json.dumps(msgspec.to_builtins(command)), summary, store.now(), state])
    task = changes[-1].task if changes else None
    return Ran(CommandResult(msg_id=m.msg_id, command_id=command_id, ok=True, summary=summary, action=action,
                             state=state), changes, flipped, event, task, state, where)


def agent_of(db: Database, msg_id: str) -> str | None:
    """The agent's name if `msg_id` is an agent's note, else None (a model's reply)."""
    row = db.execute("SELECT model FROM messages WHERE id = ? AND kind = ?", [msg_id, KIND]).fetchone()
    return row[0] or "" if row else None
