"""Broadcast events (crud_worker or a worker → every process) and each process's heartbeat."""

from __future__ import annotations

from typing import Literal

from bus.contract.rules import DEFAULT_CONVERSATION, CommandState, Msg, ReplyKind, TaskRow
from bus.contract.stream import Timing, Usage


class ReplyQueued(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a reply is on its way (lets every tab open a bubble for it)."""

    msg_id: str
    kind: ReplyKind = "chat"
    conversation_id: str = DEFAULT_CONVERSATION
    ask: str = ""  # the user message whose turn this reply is part of ("" for a comment)
    answer: str = ""  # the chat reply whose attempt this is (itself, or the one a follow-up continues)


class ChatNote(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a stored non-reply message to show (an event, a help card); `content` is the
    person's text (an event's model text stays in the database)."""

    msg_id: str
    role: str
    kind: str
    content: str
    conversation_id: str = ""  # the conversation it is stored in ("" = shown in every tab)


class TaskStep(Msg, kw_only=True, omit_defaults=True):
    """One task's change inside a group, or a task (re)inserted in its place: `before_id` is the task it
    now sits in front of (0: at the end)."""

    op: Literal["insert", "update", "delete"]
    task: TaskRow
    before_id: int = 0


class TaskChanged(Msg, kw_only=True, omit_defaults=True):
    """One change to the list, or one group of them (`group`: an import, an undo or redo of several, as
    `steps` in order). `change_seq` counts the list's changes (a group spans `first_seq`..`change_seq`);
    a receiver that sees it skip re-reads the list. An insert names its place (`before_id`); a reorder
    says only that the order changed (`ids`)."""

    op: Literal["insert", "update", "delete", "reorder", "group"]
    origin: Literal["user", "model", "agent"]
    agent: str = ""  # origin "agent": the agent's name (its MCP clientInfo.name; escape it to show it)
    task: TaskRow | None = None
    ids: list[int] | None = None
    change_seq: int = 0
    first_seq: int = 0  # a group: the seq of its first change
    before_id: int = 0  # an insert: the task it sits in front of (0: at the end)
    steps: list[TaskStep] = []  # empty in a group of more than MAX_GROUP_STEPS changes


class CommandResult(Msg, kw_only=True, omit_defaults=True):
    msg_id: str
    command_id: str
    ok: bool
    summary: str
    action: str = ""
    state: CommandState = "done"


class ReplyStats(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a reply's figures, published once the reply is stored with them (so a page
    loaded later shows the same). The model as the worker named it (a path where the server names
    its models by path); the llm_worker's Timing and the server's Usage as they came (None: unknown,
    never 0); `commands` run while the reply streamed and at its end, and the time the crud_worker
    spent running them (`commands_ms`, 0.0 when there were none). Receivers may rely on every figure
    being measured by the process that saw it, and on at most one ReplyStats per stored reply."""

    msg_id: str
    model: str = ""
    timing: Timing | None = None  # None: the reply ended before the worker measured it
    usage: Usage | None = None
    commands: int = 0
    commands_ms: float = 0.0
    unbacked_claim: bool = False  # its words say it changed the list and no change was made (crud_worker/claims.py)


class ConversationChanged(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a conversation was made, renamed or deleted, or which of its messages are
    shown changed (`attempts`: a retry, an edit, a choice). Published after the change is committed, so
    a receiver that reads the database then sees it."""

    conversation_id: str
    op: Literal["new", "rename", "delete", "attempts"]
    title: str = ""


class SettingChanged(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a persisted choice changed: the chat model (`model`), or the ask-first
    policies (`ask`, a JSON object of action → policy)."""

    key: str
    value: str


class UiAlert(Msg, kw_only=True, omit_defaults=True):
    text: str


class JobProgress(Msg, kw_only=True, omit_defaults=True):
    """Any long job's progress, for the progress card every tab shows (a model pull today)."""

    job_id: str
    title: str
    status: str
    completed: int = 0
    total: int = 0
    rate: float = 0.0  # bytes (or units) per second
    state: Literal["running", "done", "failed", "cancelled"] = "running"
    error: str = ""


class LlmStatus(Msg, kw_only=True, omit_defaults=True):
    """What an llm_worker knows of its model server (its part of Health; the defaults in any other's)."""

    backend: str = ""
    model: str = ""
    reachable: bool = True
    note: str = ""
    models: list[str] = []
    context: int = 0  # the model's context in tokens, where the server says it (0: unknown); history fits in it


class Health(LlmStatus, kw_only=True, omit_defaults=True):
    proc: str
    instance: str
    pid: int
    ts: float
    ok: bool = True
    active: list[str] = []
    stats: dict[str, int] = {}
