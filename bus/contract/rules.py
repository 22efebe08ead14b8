"""Rules and shared value types of the bus: the limits every process relies on, the one rule for a
task's name, an agent's name and a model's shown name, and the task row.

They belong to the contract, not to the command language, because they hold for every producer of a
task: a person's click (`crud.request`) as well as a model's command, and `TaskRow` crosses the bus in
`task.changed`. The command language (`commands/`) refers to them.
"""

from __future__ import annotations

import unicodedata
from typing import ClassVar, Literal, get_args

import msgspec

from bus import tables

ReplyKind = Literal["chat", "comment", "followup", "help"]
JobKind = Literal["chat", "comment", "followup", "help", "pull"]
# A command's chip: ran (and can be undone), ran and changed nothing (kept: the task was so already),
# undone, waiting for the person's Allow/Deny, denied, or expired unanswered. A refusal is `ok=False`
# with state "done".
CommandState = Literal["done", "kept", "undone", "asking", "denied", "expired"]
Action = Literal["insert", "update", "toggle", "delete"]  # the actions an ask-first policy governs
Policy = Literal["auto", "ask", "off"]
MUTATING: tuple[str, ...] = get_args(Action)  # the actions that change the list: undoable, and under a policy
POLICIES: tuple[str, ...] = get_args(Policy)


MAX_MESSAGE = 8_000  # characters in a person's chat message
MAX_NAME = 500  # characters in a task's name, after clean_name
CHARS_PER_TOKEN = 3  # conservative: real tokenizers average 3.5–4 characters per token in English
MAX_ID = 2**63 - 1  # a task id is 1..MAX_ID: SQLite's integer range
DEFAULT_CONVERSATION = "default"  # a database's first conversation (and one from before conversations)
MAX_TITLE = 200  # characters in a conversation's title as the person names it (whitespace collapsed)


class InvalidName(ValueError):
    """A task name that can't be stored; str() is the reason, for a person or the model to read."""


MAX_AGENT_NAME = 100  # characters kept of an outside agent's name (any text its MCP client chose)


MAX_GROUP_STEPS = 300  # a group of more changes travels without its steps: receivers re-read the list


def agent_name(client: str) -> str:
    """An outside agent's name as stored and shown: control characters (NUL, escapes, bidi overrides are
    format characters: also dropped) gone, whitespace collapsed, at most MAX_AGENT_NAME."""
    kept = "".join(ch if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs") else " "
                   for ch in client)
    return " ".join(kept.split())[:MAX_AGENT_NAME] or "an unnamed agent"


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
    """Every message on the bus: keyword fields, defaults left off the wire."""


class TaskRow(Msg, kw_only=True, omit_defaults=True):
    """A task as stored and as every process sees it: `name` is clean (clean_name), 1 <= id <= MAX_ID."""

    COLUMNS: ClassVar[str] = tables.TASK_COLUMNS  # select these, in this order, for from_row

    id: int
    name: str
    done: bool
    priority: int

    @classmethod
    def from_row(cls, row: tuple) -> TaskRow:
        """A database row of COLUMNS as a TaskRow."""
        return cls(id=row[0], name=row[1], done=bool(row[2]), priority=row[3])
