"""The prompt a job carries, laid out so that it only grows at its end.

A local model server keeps the last prompt it read (llama.cpp's prompt cache) and reads again only
from the first token that differs. So the prompt is, in order: the stable part (the system prompt:
persona and command language, the same every turn), then the history exactly as it was sent
before, then the newest message with the list as it is now — only when the list differs from the
last one the model was shown in the history it still has. Whatever the person clicked, a turn's
messages start with the previous turn's, and the server reads only what is new.

What the newest message was sent as (its text with the list, or `!help`'s lesson) is stored with it
(`messages.sent`, and the list note in `messages.seen`), so later turns send it again unchanged.
History is trimmed in blocks (down to half the budget and half the message limit at once), at points
fixed by the conversation itself, so a long conversation re-reads its history once per block, not
every turn.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import time

from sqlite_utils import Database

from bus.contract import CHARS_PER_TOKEN, DEFAULT_CONVERSATION, JobMessage, LlmJob, ReplyKind
from commands.schema import tool_definitions
from crud_worker import prompts, tasks

HISTORY_LIMIT = 40  # messages at most; trimmed HISTORY_LIMIT // 2 at a time
REPLY_RESERVE = 0.25  # share of the context window left free for the reply
JOB_TTL_S = 20.0
REPLAY_ROWS, REPLAY_STEP = 2_000, 1_000  # a long conversation's messages read for a job: its last 1,001 to 2,000


@dataclasses.dataclass(frozen=True)
class Row:
    id: str
    role: str
    kind: str
    content: str
    status: str
    model: str | None
    sent: str | None  # the text it was sent as when it was a job's newest message (None: never)
    seen: str | None  # the list note that text carried ('' none)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A job, and what its newest message was sent as (stored by `remember` when the job is queued)."""

    job: LlmJob
    newest: str = ""  # the stored message the list went with ('' : the list went in a message of its own)
    sent: str = ""
    seen: str = ""


def rows(db: Database, conversation_id: str) -> list[Row]:
    """The conversation as the model reads it: shown messages in order, without replies that said
    nothing and comments that were superseded (cancelled: their half-sentence helps no one). A long
    one is read from a point that moves REPLAY_STEP messages at a time (the window is replayed from
    there, so its blocks stay put in between), never whole."""
    shown = "FROM messages WHERE conversation_id = ? AND hidden = 0"
    count = db.execute(f"SELECT COUNT(*) {shown}", [conversation_id]).fetchone()[0]
    skip = 0 if count <= REPLAY_ROWS else (count - REPLAY_STEP - 1) // REPLAY_STEP * REPLAY_STEP
    found = db.execute(
        f"SELECT id, role, kind, content, status, model, sent, seen {shown} ORDER BY created_at, rowid"
        " LIMIT -1 OFFSET ?", [conversation_id, skip]).fetchall()
    return [Row(*r) for r in found
            if not (r[1] == "assistant" and (not r[3] or (r[2] == "comment" and r[4] != "done")))]


def render(row: Row) -> str:
    """A message's text as a history line, the same every turn."""
    if row.sent is not None:
        return row.sent
    text = prompts.event_line(row.content) if row.kind in ("event", "agent") else row.content
    if row.role == "user" and row.kind == "chat" and row.model:  # a person's message names no model: an agent's
        text = prompts.from_agent(row.model, text)
    if row.role == "assistant" and row.status != "done":
        text += f"\n[reply {row.status}]"
    return text


def window_start(sizes: list[int], users: list[bool], budget: int, limit: int = HISTORY_LIMIT) -> int:
    """Where the history sent begins. Replayed over the conversation from its start: whenever the
    window passes `budget` characters or `limit` messages, its start jumps on to the first user message
    from which the rest is at most half of each, so it then stays put for many turns. Earlier messages'
    sizes never change, so every turn replays the same jumps: the start moves only in blocks."""
    n = len(sizes)
    offsets = list(itertools.accumulate(sizes, initial=0))
    next_user = [n] * (n + 1)
    for i in range(n - 1, -1, -1):
        next_user[i] = i if users[i] else next_user[i + 1]
    start = 0
    for end in range(1, n + 1):  # the window is [start, end)
        if offsets[end] - offsets[start] > budget or end - start > limit:
            fits = bisect.bisect_left(offsets, offsets[end] - budget // 2, lo=start, hi=end)
            start = next_user[max(fits, end - limit // 2)]
    return min(start, n - 1)


def prepare(db: Database, *, reply_id: str, kind: ReplyKind, conversation_id: str = DEFAULT_CONVERSATION,
            num_ctx: int = 8192, persona: str = "", model: str = "", extra: str = "",
            native_tools: bool = False) -> Prepared:
    system = prompts.system_prompt(persona)
    budget = max(int(num_ctx * (1 - REPLY_RESERVE) * CHARS_PER_TOKEN) - len(system), 1000)
    found = rows(db, conversation_id)
    newest = found.pop() if found and found[-1].role == "user" else None
    note = prompts.list_note(tasks.all_tasks(db))
    body = render(dataclasses.replace(newest, sent=None)) if newest else ""
    body = "\n\n".join(part for part in (body, extra) if part)
    texts = [render(r) for r in found]
    full = _join(note, body)
    start = window_start([len(t) for t in texts] + [len(full)], [r.role == "user" for r in found] + [True], budget)
    kept, texts = found[start:], texts[start:]
    last_seen = next((r.seen for r in reversed(kept) if r.seen), None)
    seen = "" if newest and note == last_seen else note  # a list note of its own is never empty
    sent = _join(seen, body)[-budget:]
    messages = [JobMessage(role=r.role, content=t) for r, t in zip(kept, texts)]
    messages.append(JobMessage(role="user", content=sent))
    stamp = time.time()
    job = LlmJob(msg_id=reply_id, messages=messages, system=system, kind=kind, model=model, num_ctx=num_ctx,
                 tools=tool_definitions() if native_tools else [], queued_at=stamp, expires_at=stamp + JOB_TTL_S)
    return Prepared(job=job, newest=newest.id if newest else "", sent=sent, seen=seen)


def _join(note: str, body: str) -> str:
    return "\n\n".join(part for part in (note, body) if part)


def remember(db: Database, prepared: Prepared) -> None:
    """Store what the newest message was sent as: later turns send it again, byte for byte."""
    if prepared.newest:
        db.execute("UPDATE messages SET sent = ?, seen = ? WHERE id = ?",
                   [prepared.sent, prepared.seen, prepared.newest])


def build_job(db: Database, **kwargs) -> LlmJob:
    """The job alone (nothing stored): for a check of what a job would be."""
    return prepare(db, **kwargs).job
