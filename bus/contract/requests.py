"""web → crud_worker: the requests, and their one answer (`CrudReply`, matched by `req_id`).

Outside agents (MCP clients of the web, see web/mcp/) act on the list with `crud.agent`: one tool
call of the command schema, made by the agent named `client` (the `clientInfo.name` of its MCP
`initialize`; any text, so receivers escape it). Receivers may rely on this: every change it makes
is announced as `task.changed` with `origin="agent"` and `agent` set to that name, is logged with
actor `agent`, and is shown to every tab and told to the model as the agent's (an event note whose
`msg_id` is the request's `msg_id`; its command id is `{msg_id}:0`, by the rule in stream.py).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from bus.contract.rules import DEFAULT_CONVERSATION, Action, CommandState, Msg, Policy, TaskRow

# Why a request was refused: no such id, the state forbids it, the request itself is wrong, or the disk
# refused the write ("" with ok=True).
RefusalCode = Literal["", "unknown", "conflict", "invalid", "unsaved"]


class ChatUser(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: a person's message. `reply_id` names the reply it will get."""

    req_id: str
    msg_id: str
    reply_id: str
    text: str
    conversation_id: str = DEFAULT_CONVERSATION
    # An edit: the user message this one replaces, the conversation's newest. The earlier one (and its
    # replies) stays as a sibling attempt; its changes still in effect are undone first. Tabs show an
    # edit when `conversation.changed` says so, not at this message (it may yet be refused).
    edit_of: str = ""
    # Sent by an outside agent (MCP `send_message`) under this name; "" = the person. Stored with the
    # message, shown on its bubble ("— by NAME") and told to the model with it.
    agent: str = ""
    # Unix time after which the web has told the person it was not sent (its wait for the crud_worker
    # ended): a crud_worker that takes it later (woken from a stall) drops it, so what the person was
    # told stays true. 0 = no deadline (an agent's message waits as long as it must).
    deadline: float = 0.0


class Typing(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: the person is writing a message (sent at most once a second while they type; no
    answer). Receivers may rely on this: a comment streaming then stops (on a one-slot engine it would hold
    up the message being written), and a comment not begun yet waits until the typing pauses. A reply the
    person asked for is never stopped by it."""

    conversation_id: str = ""  # the tab's ("" = a script that named none)


class ExportedTask(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A task in the task list's export file: its name and whether it is done (ids stay with the list)."""

    name: str
    done: bool = False


class CrudRequest(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: a person's click on the todo list. An `import` adds `tasks` at the end of the
    list in one transaction (all or none), logged as one group under `req_id` (the changes' `reply_id`,
    so `undo/reply/{req_id}` takes it all back) and announced as one `task.changed` reorder."""

    req_id: str
    op: Literal["add", "toggle", "rename", "delete", "reorder", "poke", "selftest", "set_model", "import"]
    task_id: int | None = None
    name: str | None = None
    ids: list[int] | None = None  # a reorder: the whole new order (an API client's way)
    before: int | None = None  # a reorder of one task (`task_id`, a drag's): it now sits above this one (None: last)
    tasks: list[ExportedTask] | None = None
    route: str = ""  # "POST /tasks": how the person asked, for the change log ("" = another client)
    conversation_id: str = ""  # the tab's: the event line and the model's comment go there ("" = the newest)


class AgentCall(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: an outside agent's tool call (`tool`: insert_task, update_task, toggle_task or
    delete_task, with the command schema's `arguments`), answered on `crud.reply`. `client` names the
    agent; `msg_id` names its note in the chat, and its command is `{msg_id}:0`."""

    req_id: str
    msg_id: str
    client: str
    tool: str
    arguments: dict[str, Any] = {}


class UndoRequest(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: undo (or, with `redo`, re-apply) changes from the change log.

    `scope` picks them: a reply's (`target` = its id), a command's (its id), one change (its seq),
    or the newest one still in effect (`last`; `by="person"`: the person's own; `by="agent"`: the
    agent `agent`'s own). With `agent` set, the agent of that name asks (and is logged as the actor)."""

    req_id: str
    scope: Literal["reply", "command", "change", "last"]
    target: str = ""
    redo: bool = False
    by: Literal["anyone", "person", "agent"] = "anyone"
    route: str = ""
    agent: str = ""
    conversation_id: str = ""  # where the "The user undid …" line goes ("" = the most recently active one)


class ApproveRequest(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: the person's answer to a command waiting under an `ask` policy."""

    req_id: str
    command_id: str
    decision: Literal["allow", "deny"]
    route: str = ""


class PolicyRequest(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: set one action's ask-first policy (remembered in the settings table)."""

    req_id: str
    action: Action
    policy: Policy


class ConversationRequest(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: make (`new`, under the id given), rename (`title`) or delete a conversation, or
    `choose` which attempt of a retried reply or an edited message is shown and sent to the model
    (`target`: that attempt's head, a message id). Answered on `crud.reply`: `code` "unknown" for no such
    conversation or attempt. Deleting deletes the conversation's messages, never a task; a reply still
    streaming into it is stopped first and never stored."""

    req_id: str
    op: Literal["new", "rename", "delete", "choose"]
    conversation_id: str
    title: str = ""
    target: str = ""


class RetryRequest(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: answer the conversation's newest chat message again, as `reply_id`, with
    `model` ("" = the chosen one). `target` is the reply retried (its newest chat reply). The earlier
    attempt stays as a sibling; its changes still in effect are undone first (all or none: a conflict
    refuses the retry with code "conflict"), so nothing is done twice. `done` in the answer says what
    was undone."""

    req_id: str
    conversation_id: str
    target: str
    reply_id: str
    model: str = ""
    route: str = ""


class CrudReply(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → web: the answer to a ChatUser, CrudRequest, AgentCall or undo/approve/policy request,
    matched by `req_id`."""

    req_id: str
    ok: bool
    error: str = ""
    code: RefusalCode = ""  # why not ok (web/respond.py's table turns it into a status)
    done: list[str] = []  # what an undo or approval did, in words
    # An agent's call (AgentCall): the task as it left it, its change's seq (0: none), and its chip's state
    # ("asking": it waits for the person's Allow or Deny).
    task: TaskRow | None = None
    change_seq: int = 0
    state: CommandState = "done"
