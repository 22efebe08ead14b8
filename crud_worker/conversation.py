"""The conversation as stored, and the prompt context a job carries."""

from __future__ import annotations

import json
import time

from sqlite_utils import Database

from bus.contract import CHARS_PER_TOKEN, JobMessage, LlmJob, ReplyKind, Usage
from crud_worker import prompts, tasks
from commands.schema import tool_definitions
from crud_worker.db import now

HISTORY_LIMIT = 40
REPLY_RESERVE = 0.25  # share of the context window left free for the reply
JOB_TTL_S = 20.0


def store(db: Database, *, msg_id: str, role: str, kind: str, content: str, status: str = "done",
          conversation_id: str = "default", model: str = "", usage: Usage | None = None, error: str = "",
          created_at: str | None = None) -> bool:
    """Insert a message once; a replay of the same id changes nothing. Returns whether it was new."""
    cur = db.execute(
        "INSERT OR IGNORE INTO messages (id, conversation_id, role, kind, content, status, model, usage, error,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [msg_id, conversation_id, role, kind, content, status, model or None,
         json.dumps({"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens})
         if usage else None, error or None, created_at or now()],
    )
    return cur.rowcount == 1


def history(db: Database, conversation_id: str, budget_chars: int) -> list[JobMessage]:
    """The newest messages that fit the budget, oldest dropped first, in chronological order."""
    rows = db.execute(
        "SELECT role, kind, content, status FROM messages WHERE conversation_id = ?"
        " ORDER BY created_at DESC, rowid DESC LIMIT ?", [conversation_id, HISTORY_LIMIT]).fetchall()
    picked: list[JobMessage] = []
    used = 0
    for role, kind, content, status in rows:
        if role == "assistant" and not content:
            continue
        text = prompts.event_line(content) if kind == "event" else content
        if role == "assistant" and status != "done":
            text += f"\n[reply {status}]"
        if picked and used + len(text) > budget_chars:
            break
        picked.append(JobMessage(role=role, content=text[-budget_chars:]))
        used += len(text)
    picked.reverse()
    while picked and picked[0].role == "assistant":
        picked.pop(0)
    return _merge_same_role(picked)


def _merge_same_role(messages: list[JobMessage]) -> list[JobMessage]:
    """Strict chat templates (Anthropic, some llama.cpp ones) want roles to alternate."""
    merged: list[JobMessage] = []
    for m in messages:
        if merged and merged[-1].role == m.role:
            merged[-1] = JobMessage(role=m.role, content=merged[-1].content + "\n\n" + m.content)
        else:
            merged.append(m)
    return merged


def build_job(db: Database, *, reply_id: str, kind: ReplyKind, conversation_id: str = "default",
              num_ctx: int = 8192, persona: str = "", model: str = "", extra: str = "",
              native_tools: bool = False) -> LlmJob:
    system = prompts.system_prompt(tasks.all_tasks(db), persona)
    budget = int(num_ctx * (1 - REPLY_RESERVE) * CHARS_PER_TOKEN) - len(system) - len(extra)
    messages = history(db, conversation_id, max(budget, 1000))
    if extra:
        messages = _merge_same_role([*messages, JobMessage(role="user", content=extra)])
    stamp = time.time()
    return LlmJob(msg_id=reply_id, messages=messages, system=system, kind=kind, model=model, num_ctx=num_ctx,
                  tools=tool_definitions() if native_tools else [], queued_at=stamp, expires_at=stamp + JOB_TTL_S)
