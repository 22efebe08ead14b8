"""Follow-up turns: the model is told what its commands did (refusals, the person's Allow / Deny) in a
turn of its own, at most MAX_FOLLOWUPS deep, and results that come after their command (an approval's
decision) reach the reply still streaming or start a follow-up of their own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlite_utils import Database

from bus.client import new_id
from crud_worker import conversation, db as store, prompts
from crud_worker.executor import REFUSED
from crud_worker.reply import UNASKED, Reply, unasked

MAX_FOLLOWUPS = 2

Queue = Callable[..., Awaitable[None]]  # Replies.queue: builds a reply's job and sends it


class FollowUps:
    def __init__(self, db: Database, live: dict[str, Reply], queue: Queue):
        self.db, self.live, self.queue = db, live, queue

    async def after(self, reply: Reply, status: str) -> None:
        """A reply that ended well and has news for the model gets a follow-up turn to read it."""
        # A follow-up that only wrote again a command it was just told was refused gets no further
        # turn: it would show the same refusal as a second and a third chip.
        news = [line for line in reply.feedback if line not in reply.told or not line.startswith(REFUSED)]
        if unasked(reply.msg_id):  # nobody waits for a remark's corrections: only the person's decisions are told
            news = [line for line in news if line in reply.decisions]
        if status == "done" and news and reply.depth < MAX_FOLLOWUPS:
            note_id = reply.msg_id + "-r"
            with store.write(self.db):
                conversation.store(self.db, msg_id=note_id, role="user", kind="result",
                                   content=prompts.results_message(reply.feedback),
                                   conversation_id=reply.conversation_id, ask=reply.ask, answer=reply.answer)
            await self.queue(reply.msg_id + "-f", "followup", depth=reply.depth + 1,
                             conversation_id=reply.conversation_id, told=frozenset(reply.feedback),
                             ask=reply.ask, answer=reply.answer)

    async def tell(self, msg_id: str, lines: list[str]) -> None:
        """Results that come after their command (an approval's decision): a reply still streaming
        takes them into its own follow-up; an ended one gets a follow-up turn of its own."""
        if (reply := self.live.get(msg_id)) is not None:
            reply.feedback.extend(lines)
            reply.decisions.extend(lines)
            return
        row = self.db.execute("SELECT conversation_id, ask, answer FROM messages WHERE id = ?", [msg_id]).fetchone()
        if row is None:
            return  # its conversation was deleted meanwhile: there is no one left to tell
        conversation_id, ask, answer = row
        with store.write(self.db):
            conversation.store(self.db, msg_id=new_id("r"), role="user", kind="result",
                               content=prompts.results_message(lines), conversation_id=conversation_id,
                               ask=ask, answer=answer)
        reply_id = new_id("a") if ask and not unasked(msg_id) else new_id(UNASKED)
        await self.queue(reply_id, "followup", depth=1, conversation_id=conversation_id, ask=ask, answer=answer)
