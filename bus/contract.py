"""The bus contract: every topic and the typed message it carries.

Frames are `[topic, json]`. A topic names exactly one message type (health topics add
the process name: `health.web`). Reply streams carry `msg_id` and a per-reply `seq`
starting at 0 with `llm.start`, so any receiver can see a gap; `llm.done` carries the
full text so any receiver can heal one.

Command ids. Every command a reply holds has an id that the crud_worker (which runs it and
logs it under that id) and the web (which shows its chip, and swaps in its `command.result`)
form independently, from the same split of the same text; both call `commands.ids`, the one
definition. For the k-th command (from 0) of the reply's n-th command block (from 0):
`{msg_id}:{n}` when k is 0, else `{msg_id}:{n}.{k}` (a JSON array or a pythonic call list is
one block holding several commands). The n-th native tool call of a reply is
`{msg_id}:tool{n}`. Receivers may rely on this: a `command.result` names its chip by it, and
the crud_worker runs each id at most once.

Limits and shapes every process relies on are defined here, once: a chat message's length
(`MAX_MESSAGE`), a task's name (`clean_name`, `MAX_NAME`) and id range (`MAX_ID`), and the
task row (`TaskRow`, `TaskRow.from_row`). They belong to the contract, not to the command
language, because they hold for every producer of a task: a person's click (`crud.request`)
as well as a model's command, and `TaskRow` crosses the bus in `task.changed`. The command
language (`commands/`) refers to them.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

import msgspec

ReplyKind = Literal["chat", "comment", "followup", "help"]
JobKind = Literal["chat", "comment", "followup", "help", "pull"]
# A command's chip: ran (and can be undone), undone, waiting for the person's Allow/Deny, denied, or
# expired unanswered. A refusal is `ok=False` with state "done".
CommandState = Literal["done", "undone", "asking", "denied", "expired"]
Action = Literal["insert", "update", "toggle", "delete"]  # the actions an ask-first policy governs
Policy = Literal["auto", "ask", "off"]


MAX_MESSAGE = 8_000  # characters in a person's chat message
MAX_NAME = 500  # characters in a task's name, after clean_name
CHARS_PER_TOKEN = 3  # conservative: real tokenizers average 3.5–4 characters per token in English
MAX_ID = 2**63 - 1  # a task id is 1..MAX_ID: SQLite's integer range


class InvalidName(ValueError):
    """A task name that can't be stored; str() is the reason, for a person or the model to read."""


def clean_name(name: str | None) -> str:
    """The one rule for a task's name: NULs dropped, whitespace runs collapsed, not empty, at most MAX_NAME."""
    name = " ".join((name or "").replace("\x00", "").split())
    if not name:
        raise InvalidName("the name is empty")
    if len(name) > MAX_NAME:
        raise InvalidName(f"the name is over {MAX_NAME} characters")
    return name


class Msg(msgspec.Struct, kw_only=True, omit_defaults=True):
    pass


class ChatUser(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: a person's message. `reply_id` names the reply it will get."""

    req_id: str
    msg_id: str
    reply_id: str
    text: str
    conversation_id: str = "default"


class CrudRequest(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: a person's click on the todo list."""

    req_id: str
    op: Literal["add", "toggle", "rename", "delete", "reorder", "poke", "selftest", "set_model"]
    task_id: int | None = None
    name: str | None = None
    ids: list[int] | None = None
    route: str = ""  # "POST /tasks": how the person asked, for the change log ("" = another client)


class UndoRequest(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: undo (or, with `redo`, re-apply) changes from the change log.

    `scope` picks them: a reply's (`target` = its id), a command's (its id), one change (its seq),
    or the newest one still in effect (`last`; `by="person"`: the person's own)."""

    req_id: str
    scope: Literal["reply", "command", "change", "last"]
    target: str = ""
    redo: bool = False
    by: Literal["anyone", "person"] = "anyone"
    route: str = ""


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


class CrudReply(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → web: the answer to a ChatUser or CrudRequest, matched by `req_id`."""

    req_id: str
    ok: bool
    error: str = ""
    code: Literal["", "unknown", "conflict"] = ""  # why not ok: no such id (404), or the state forbids it (409)
    done: list[str] = []  # what an undo or approval did, in words


class TaskRow(Msg, kw_only=True, omit_defaults=True):
    """A task as stored and as every process sees it: `name` is clean (clean_name), 1 <= id <= MAX_ID."""

    COLUMNS: ClassVar[str] = "id, name, done, priority"  # select these, in this order, for from_row

    id: int
    name: str
    done: bool
    priority: int

    @classmethod
    def from_row(cls, row: tuple) -> TaskRow:
        """A database row of COLUMNS as a TaskRow."""
        return cls(id=row[0], name=row[1], done=bool(row[2]), priority=row[3])


class TaskChanged(Msg, kw_only=True, omit_defaults=True):
    op: Literal["insert", "update", "delete", "reorder"]
    origin: Literal["user", "model"]
    task: TaskRow | None = None
    ids: list[int] | None = None
    change_seq: int = 0


class CommandResult(Msg, kw_only=True, omit_defaults=True):
    msg_id: str
    command_id: str
    ok: bool
    summary: str
    action: str = ""
    state: CommandState = "done"


class ReplyQueued(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a reply is on its way (lets every tab open a bubble for it)."""

    msg_id: str
    kind: ReplyKind = "chat"
    conversation_id: str = "default"


class ChatNote(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a stored non-reply message to show (an event, a help card)."""

    msg_id: str
    role: str
    kind: str
    content: str


class LlmStart(Msg, kw_only=True, omit_defaults=True):
    msg_id: str
    seq: int = 0
    worker: str
    backend: str
    model: str


class LlmDelta(Msg, kw_only=True, omit_defaults=True):
    msg_id: str
    seq: int
    text: str = ""
    thinking: str = ""


class ToolCallMsg(Msg, kw_only=True, omit_defaults=True):
    name: str
    arguments: dict[str, Any]
    id: str = ""


class LlmToolCall(Msg, kw_only=True, omit_defaults=True):
    """A native tool call, routed into the same validation and execution as embedded JSON."""

    msg_id: str
    seq: int
    call: ToolCallMsg


class Usage(Msg, kw_only=True, omit_defaults=True):
    """Token counts as the model server reported them; None where it did not (unknown, not zero)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Timing(Msg, kw_only=True, omit_defaults=True):
    queued_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0


class LlmDone(Msg, kw_only=True, omit_defaults=True):
    msg_id: str
    seq: int
    text: str
    status: Literal["done", "cancelled"]
    thinking: str = ""
    usage: Usage | None = None
    timing: Timing | None = None
    backend: str = ""
    model: str = ""
    tool_calls: list[ToolCallMsg] = []
    # Why the reply ended, when a person should know: "length" (cut at the model's token limit) or
    # "too_long" (stopped by us at GHOSTWIRE_MAX_REPLY_CHARS); "" for a reply that simply finished.
    stop_reason: str = ""  # a str, not a Literal: an unknown reason from a newer worker must not drop the end


class LlmError(Msg, kw_only=True, omit_defaults=True):
    msg_id: str
    seq: int
    error: str
    kind: str = "error"
    text: str = ""
    backend: str = ""
    model: str = ""


class LlmCancel(Msg, kw_only=True, omit_defaults=True):
    msg_id: str


class LlmResend(Msg, kw_only=True, omit_defaults=True):
    """Ask the workers to publish a reply's end again (PUB/SUB drops what a restarting peer missed).
    `msg_id="*"`: every reply they ended recently."""

    msg_id: str


class UiAlert(Msg, kw_only=True, omit_defaults=True):
    text: str


class SettingChanged(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a persisted choice changed: the chat model (`model`), or the ask-first
    policies (`ask`, a JSON object of action → policy)."""

    key: str
    value: str


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


class JobMessage(msgspec.Struct, frozen=True):
    role: str
    content: str


class LlmJob(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → broker job queue → exactly one llm_worker. Carries the whole prompt context."""

    msg_id: str
    messages: list[JobMessage]
    system: str = ""
    kind: JobKind = "chat"
    model: str = ""
    num_ctx: int = 8192
    tools: list[dict[str, Any]] = []  # native tool definitions; sent only if the model supports tools
    queued_at: float = 0.0
    expires_at: float = 0.0

    def expired(self) -> bool:
        return bool(self.expires_at) and time.time() > self.expires_at


TOPICS: dict[str, type[Msg]] = {
    "chat.user": ChatUser,
    "chat.note": ChatNote,
    "crud.request": CrudRequest,
    "crud.reply": CrudReply,
    "crud.undo": UndoRequest,
    "crud.approve": ApproveRequest,
    "crud.policy": PolicyRequest,
    "task.changed": TaskChanged,
    "command.result": CommandResult,
    "reply.queued": ReplyQueued,
    "llm.start": LlmStart,
    "llm.delta": LlmDelta,
    "llm.tool_call": LlmToolCall,
    "llm.done": LlmDone,
    "llm.error": LlmError,
    "llm.cancel": LlmCancel,
    "llm.resend": LlmResend,
    "ui.alert": UiAlert,
    "settings.changed": SettingChanged,
    "job.progress": JobProgress,
    "health": Health,
}
TOPIC_OF: dict[type[Msg], str] = {cls: topic for topic, cls in TOPICS.items()}

_encoder = msgspec.json.Encoder()
_decoders = {topic: msgspec.json.Decoder(cls) for topic, cls in TOPICS.items()}
_job_decoder = msgspec.json.Decoder(LlmJob)


def topic_for(msg: Msg) -> str:
    if isinstance(msg, Health):
        return f"health.{msg.proc}"
    return TOPIC_OF[type(msg)]


def encode(msg: Msg) -> list[bytes]:
    return [topic_for(msg).encode(), _encoder.encode(msg)]


def decode(topic: bytes, payload: bytes) -> Msg:
    """Raise msgspec.ValidationError / DecodeError / KeyError on anything off-contract
    (a topic that isn't UTF-8 is an unknown topic: KeyError, like any other)."""
    name = topic.decode(errors="replace")
    family = "health" if name.startswith("health.") else name
    return _decoders[family].decode(payload)


def encode_job(job: LlmJob) -> bytes:
    return _encoder.encode(job)


def decode_job(payload: bytes) -> LlmJob:
    return _job_decoder.decode(payload)
