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

Outside agents (MCP clients of the web, see web/mcp/) act on the list with `crud.agent`: one tool
call of the command schema, made by the agent named `client` (the `clientInfo.name` of its MCP
`initialize`; any text, so receivers escape it). Receivers may rely on this: every change it makes
is announced as `task.changed` with `origin="agent"` and `agent` set to that name, is logged with
actor `agent`, and is shown to every tab and told to the model as the agent's (an event note whose
`msg_id` is the request's `msg_id`; its command id is `{msg_id}:0`, by the rule above).
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
DEFAULT_CONVERSATION = "default"  # a database's first conversation (and one from before conversations)
MAX_TITLE = 200  # characters in a conversation's title as the person names it (whitespace collapsed)


class InvalidName(ValueError):
    """A task name that can't be stored; str() is the reason, for a person or the model to read."""


MAX_AGENT_NAME = 100  # characters kept of an outside agent's name (any text its MCP client chose)


def agent_name(client: str) -> str:
    """An outside agent's name as stored and shown: whitespace collapsed, at most MAX_AGENT_NAME."""
    return " ".join(client.split())[:MAX_AGENT_NAME] or "an unnamed agent"


def shown_model(model: str) -> str:
    """A model named by its file's path (llama.cpp's --model, vLLM) is shown by the file's name; any other
    name ("qwen3:4b", "hf.co/org/model:q4") as it is. The llm_worker lists models this way; a receiver
    showing a model name it was given raw (a stored reply's) applies the same rule."""
    path_like = model.startswith(("/", "./", "~")) or model.endswith(".gguf") or "\\" in model
    return model.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] if path_like else model


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
    conversation_id: str = DEFAULT_CONVERSATION
    # An edit: the user message this one replaces, the conversation's newest. The earlier one (and its
    # replies) stays as a sibling attempt; its changes still in effect are undone first. Tabs show an
    # edit when `conversation.changed` says so, not at this message (it may yet be refused).
    edit_of: str = ""
    # Sent by an outside agent (MCP `send_message`) under this name; "" = the person. Stored with the
    # message, shown on its bubble ("— by NAME") and told to the model with it.
    agent: str = ""


class ExportedTask(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A task in the task list's export file: its name and whether it is done (ids stay with the list)."""

    name: str
    done: bool = False


EXPORT_FORMAT = "ghostwire.tasks"


class TaskExport(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The task list as a file: `GET /tasks/export.json` writes it, `POST /tasks/import` reads it back
    (anything else is refused whole). Tasks in list order."""

    format: Literal["ghostwire.tasks"]
    version: Literal[1]
    tasks: list[ExportedTask]
    exported_at: str = ""


class CrudRequest(Msg, kw_only=True, omit_defaults=True):
    """web → crud_worker: a person's click on the todo list. An `import` adds `tasks` at the end of the
    list in one transaction (all or none), logged as one group under `req_id` (the changes' `reply_id`,
    so `undo/reply/{req_id}` takes it all back) and announced as one `task.changed` reorder."""

    req_id: str
    op: Literal["add", "toggle", "rename", "delete", "reorder", "poke", "selftest", "set_model", "import"]
    task_id: int | None = None
    name: str | None = None
    ids: list[int] | None = None
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


class ConversationChanged(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a conversation was made, renamed or deleted, or which of its messages are
    shown changed (`attempts`: a retry, an edit, a choice). Published after the change is committed, so
    a receiver that reads the database then sees it."""

    conversation_id: str
    op: Literal["new", "rename", "delete", "attempts"]
    title: str = ""


class CrudReply(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → web: the answer to a ChatUser, CrudRequest, AgentCall or undo/approve/policy request,
    matched by `req_id`."""

    req_id: str
    ok: bool
    error: str = ""
    code: Literal["", "unknown", "conflict"] = ""  # why not ok: no such id (404), or the state forbids it (409)
    done: list[str] = []  # what an undo or approval did, in words
    # An agent's call (AgentCall): the task as it left it, its change's seq (0: none), and its chip's state
    # ("asking": it waits for the person's Allow or Deny).
    task: TaskRow | None = None
    change_seq: int = 0
    state: CommandState = "done"


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
    """One change to the list. `change_seq` counts the list's changes; a receiver that sees it skip
    re-reads the list (an import's many inserts are announced so: one reorder with the newest seq)."""

    op: Literal["insert", "update", "delete", "reorder"]
    origin: Literal["user", "model", "agent"]
    agent: str = ""  # origin "agent": the agent's name (its MCP clientInfo.name; escape it to show it)
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
    conversation_id: str = DEFAULT_CONVERSATION
    ask: str = ""  # the user message whose turn this reply is part of ("" for a comment)
    answer: str = ""  # the chat reply whose attempt this is (itself, or the one a follow-up continues)


class ChatNote(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a stored non-reply message to show (an event, a help card)."""

    msg_id: str
    role: str
    kind: str
    content: str
    conversation_id: str = ""  # the conversation it is stored in ("" = shown in every tab)


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
    """Measured by the llm_worker, the one process that sees the stream: `first_token_ms` from the
    request to the first text or thinking (None: nothing came), `total_ms` to the stream's end, and
    `tokens_per_s` the model's generation rate: the completion tokens after the first, over the time
    from the first to the last token (None where the server did not count its tokens, or sent them
    all at once: unknown, never 0)."""

    queued_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    tokens_per_s: float | None = None


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


class ReplyStats(Msg, kw_only=True, omit_defaults=True):
    """crud_worker → all: a reply's figures, published once the reply is stored with them (so a page
    loaded later shows the same). The model as the worker named it (a path where the server names
    its models by path); the llm_worker's Timing and the server's Usage as they came (None: unknown,
    never 0); `commands` run while the reply streamed and at its end, and the time the crud_worker
    spent running them (`commands_ms`, 0.0 when there were none); `unbacked_claim`: its words say it
    changed the list and no change was made (crud_worker/claims.py). Receivers may rely on every figure
    being measured by the process that saw it, and on at most one ReplyStats per stored reply."""

    msg_id: str
    model: str = ""
    first_token_ms: float | None = None
    tokens_per_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    commands: int = 0
    commands_ms: float = 0.0
    unbacked_claim: bool = False


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
    max_chars: int = 0  # the reply is cut (and the model stopped) past this; 0: the worker's own limit
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
    "crud.agent": AgentCall,
    "crud.approve": ApproveRequest,
    "crud.policy": PolicyRequest,
    "conversation.request": ConversationRequest,
    "conversation.retry": RetryRequest,
    "conversation.changed": ConversationChanged,
    "task.changed": TaskChanged,
    "command.result": CommandResult,
    "reply.queued": ReplyQueued,
    "reply.stats": ReplyStats,
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
