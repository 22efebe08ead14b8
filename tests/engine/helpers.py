"""What the engine tests read back: a reply's stored row, the text a tab saw streaming, its final bubble."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from tests.stack import Stack
from tests.util import SseReader, wait_for

# A whole reply from the 0.5B model: seconds on an idle 2-core machine, but with six jobs sharing it a first
# turn's prompt took 30 s and replies came at 1 token/s, so the deadline is for that machine.
REPLY_TIMEOUT_S = 180
FINAL = r'id="msg-{reply}" class="msg assistant chat (?!queued"|streaming")'  # any ending, however named
CUT_OFF = re.compile(r"cut off|token limit|max_tokens|length limit", re.I)


@dataclass(frozen=True)
class Row:
    role: str
    status: str
    content: str
    error: str
    model: str


def stored(stack: Stack, reply: str, timeout: float = REPLY_TIMEOUT_S) -> Row:
    def row():
        with stack.db() as db:
            return db.execute("SELECT role, status, content, error, model FROM messages WHERE id = ?",
                              [reply]).fetchone()
    role, status, content, error, model = wait_for(row, timeout, interval=0.1, what=f"reply {reply} stored")
    return Row(role, status, content, error or "", model or "")


def streamed(sse: SseReader, reply: str) -> str:
    """The text a tab saw arriving in the bubble, token by token (chips and markup stripped)."""
    raw = "".join(e.data for e in sse.matching(f"beforeend:#body-{reply}"))
    return html.unescape(re.sub(r"<span id=\"chip-[^<]*</span>|<[^>]+>", "", raw))


def appends(sse: SseReader, reply: str) -> int:
    return len(sse.matching(f"beforeend:#body-{reply}"))


def final_bubble(sse: SseReader, reply: str, timeout: float = REPLY_TIMEOUT_S) -> str:
    """The replacement bubble a tab gets when the reply ends, as plain text."""
    found = wait_for(lambda: sse.matching(FINAL.format(reply=reply)), timeout, interval=0.1,
                     what=f"the final bubble of {reply}")
    return html.unescape(re.sub(r"<[^>]+>", " ", found[-1].data))
