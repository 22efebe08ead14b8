"""The model sees the person: each click becomes an [event] line, and a burst of clicks gets one comment.

A newer action supersedes a comment still streaming (it is cancelled), and a comment never
starts while another reply is streaming: it waits its turn.
"""

from __future__ import annotations

import time

from bus.client import new_id
from crud_worker import conversation
from crud_worker.replies import Replies
from crud_worker.reply import UNASKED

COALESCE_S = 0.8


class Commentator:
    def __init__(self, replies: Replies, delay: float = COALESCE_S):
        self.replies = replies
        self.delay = delay
        self.due: float | None = None
        self.current: str | None = None
        self.conversation = ""  # where the person acted last: the comment goes there

    async def on_action(self, conversation_id: str, *, immediate: bool = False) -> None:
        self.due = time.monotonic() + (0 if immediate else self.delay)
        self.conversation = conversation_id
        if self.current in self.replies.live:
            await self.replies.cancel(self.current)

    async def on_chat(self) -> None:
        """A message from the person outranks a pending comment on their clicks."""
        self.due = None
        if self.current in self.replies.live:
            await self.replies.cancel(self.current)

    async def tick(self) -> None:
        if self.due is None or time.monotonic() < self.due or self.replies.streaming():
            return
        self.due = None
        self.current = new_id(UNASKED)
        await self.replies.queue(self.current, "comment", conversation_id=self.conversation or conversation.DEFAULT)
