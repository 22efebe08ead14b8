"""The model sees the person: each click becomes an [event] line, and a burst of clicks gets one comment.

A newer action supersedes a comment still streaming (it is cancelled), and a comment never
starts while another reply is streaming: it waits its turn. The person writing a message outranks a
comment too: a local engine has one slot, so a comment still streaming when they press Enter would
hold up the answer they wait for; it stops as they type, and one not begun waits for a pause.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bus.client import new_id
from crud_worker import conversation
from crud_worker.replies import Replies
from crud_worker.reply import UNASKED

COALESCE_S = 0.8
TYPING_HOLD_S = 2.0  # the web says "typing" at most once a second: quiet this long is a pause


class Commentator:
    def __init__(self, replies: Replies, delay: float = COALESCE_S, clock: Callable[[], float] = time.monotonic):
        self.replies = replies
        self.delay = delay
        self.clock = clock
        self.due: float | None = None
        self.current: str | None = None
        self.conversation = ""  # where the person acted last: the comment goes there

    async def on_action(self, conversation_id: str, *, immediate: bool = False) -> None:
        self.due = self.clock() + (0 if immediate else self.delay)
        self.conversation = conversation_id
        if self.current in self.replies.live:
            await self.replies.cancel(self.current)

    async def on_chat(self) -> None:
        """A message from the person outranks a pending comment on their clicks."""
        self.due = None
        if self.current in self.replies.live:
            await self.replies.cancel(self.current)

    async def on_typing(self) -> None:
        """The person is writing a message (in any tab: the engine is one): a comment yields, as above."""
        if self.due is not None:
            self.due = max(self.due, self.clock() + TYPING_HOLD_S)
        if self.current in self.replies.live:
            await self.replies.cancel(self.current)

    async def tick(self) -> None:
        if self.due is None or self.clock() < self.due or self.replies.streaming():
            return
        self.due = None
        self.current = new_id(UNASKED)
        await self.replies.queue(self.current, "comment", conversation_id=self.conversation or conversation.DEFAULT)
