"""One reply in flight, as the crud_worker follows it, and the rule that tells an unasked reply apart."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bus import contract as c
from commands.splitter import CommandSplitter
from crud_worker import conversation, db as store

# Every reply nobody asked for (a comment, its follow-ups, a follow-up telling it a decision) has an id
# made here with this prefix (chat replies' ids come from the web, "a…"), so the rule holds for a reply
# joined late after a restart too: its commands are suggestions (executor.execute's `suggest`).
UNASKED = "c"
UNASKED_MAX_CHARS = 1500  # a comment is a remark of under 40 words (and maybe a suggestion or two)


def unasked(reply_id: str) -> bool:
    return reply_id.startswith(UNASKED)


@dataclass
class Reply:
    msg_id: str
    kind: c.ReplyKind = "chat"
    conversation_id: str = conversation.DEFAULT
    ask: str = ""  # the person's message whose turn this is, and the chat reply whose attempt (see ReplyQueued)
    answer: str = ""
    discard: bool = False  # its conversation was deleted: stopped, runs no further command, never stored
    depth: int = 0
    created_at: str = field(default_factory=store.now)
    splitter: CommandSplitter = field(default_factory=CommandSplitter)
    parts: list[str] = field(default_factory=list)
    next_seq: int = 0
    gap: bool = False
    commands: int = 0
    tool_calls: int = 0
    commands_ms: float = 0.0  # time spent running this reply's commands (execute), for its ReplyStats
    feedback: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)  # the part of feedback that is the person's Allow / Deny
    told: frozenset[str] = frozenset()  # a follow-up: what the turn before it was told
    sent_chars: int = 0  # the prompt's size as sent (system prompt and history)
    shortened: bool = False  # the one retry after a context overflow (never retried again)
    # Another job of its conversation was built while it streamed (a comment the person talked over):
    # it is stored where it ended, after what that job read, so later prompts still begin with that job's.
    overtaken: bool = False
    suggests: bool | None = None  # its commands only suggest (ReplyCommands.suggests_only), found once
    worker: str = ""
    asked_again: float = 0.0
    first_asked: float = 0.0
    queued: float = field(default_factory=time.monotonic)
    last_activity: float = field(default_factory=time.monotonic)


def prompt_chars(job: c.LlmJob) -> int:
    """A prompt's size as sent: the system prompt and the history."""
    return len(job.system) + sum(len(m.content) for m in job.messages)
