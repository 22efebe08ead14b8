"""What the person asks for (chat messages, clicks on the list), answered on the bus."""

from __future__ import annotations

import logging
import sqlite3
import time

import msgspec

from sqlite_utils import Database

from bus import contract as c, tables
from bus.client import Bus
from commands import bang
from crud_worker import agents, conversation, db as store, events, prompts, refusal, tasks
from crud_worker.attempts import Attempts
from crud_worker.changelog import person
from crud_worker.comments import Commentator
from crud_worker.refusal import Refusal, Unknown
from crud_worker.replies import Replies

log = logging.getLogger(__name__)


class Handlers:
    def __init__(self, db: Database, bus: Bus, replies: Replies, comments: Commentator, attempts: Attempts,
                 ask_timeout: float = 600):
        self.db, self.bus, self.replies, self.comments, self.attempts = db, bus, replies, comments, attempts
        self.ask_timeout = ask_timeout

    async def on_chat(self, m: c.ChatUser) -> None:
        """A refusal ends the reply's bubble too: every tab opened it as the message crossed the bus."""
        if m.deadline and time.time() > m.deadline:  # the person was told it wasn't sent: keep that true
            log.warning("message %s dropped: it came after the web stopped waiting for it", m.msg_id)
            return
        text = m.text.strip()
        if not text or len(text) > c.MAX_MESSAGE:
            await refusal.answer(self.bus, m.req_id, Refusal("message is empty or too long"), reply_id=m.reply_id)
            return
        if m.edit_of:
            await self.attempts.edit(m, text)
            return
        try:
            with store.write(self.db):
                if not conversation.exists(self.db, m.conversation_id):
                    raise Unknown(f"there is no conversation {m.conversation_id!r}")
                untitled = not conversation.title(self.db, m.conversation_id)
                new = conversation.store(self.db, msg_id=m.msg_id, role="user", kind="chat", content=text,
                                         conversation_id=m.conversation_id, ask=m.msg_id,
                                         model=c.agent_name(m.agent) if m.agent else "")
                named = conversation.title(self.db, m.conversation_id) if untitled else ""
        except (Refusal, sqlite3.Error) as err:
            await refusal.answer(self.bus, m.req_id, err, reply_id=m.reply_id)
            return
        await self.bus.publish(c.CrudReply(req_id=m.req_id, ok=True))
        if named:  # its first message named the conversation: every tab's list shows the title
            await self.bus.publish(c.ConversationChanged(conversation_id=m.conversation_id, op="rename", title=named))
        if not new:
            return  # a retried request: its reply is already on its way
        await self.comments.on_chat()
        extra = prompts.help_request() if isinstance(bang.parse(text), bang.Help) else ""
        await self.replies.queue(m.reply_id, "help" if extra else "chat", extra=extra,
                                 conversation_id=m.conversation_id, ask=m.msg_id, answer=m.reply_id)

    async def on_request(self, m: c.CrudRequest) -> None:
        if m.op == "set_model":
            with store.write(self.db):
                store.set_setting(self.db, tables.MODEL, (m.name or "").strip())
            await self.bus.publish(c.SettingChanged(key=tables.MODEL, value=(m.name or "").strip()))
            await self.bus.publish(c.CrudReply(req_id=m.req_id, ok=True))
            return
        if m.op == "selftest":
            await self.bus.publish(c.UiAlert(text="Self-test: web → bus → crud_worker → bus → this tab. All good."))
            await self.bus.publish(c.CrudReply(req_id=m.req_id, ok=True))
            return
        where = m.conversation_id
        try:
            with store.write(self.db):
                change, event = self._apply(m)
                if event:
                    if not where or not conversation.exists(self.db, where):
                        where = conversation.current(self.db)
                    conversation.store(self.db, msg_id=m.req_id, role="user", kind="event", content=event.told,
                                       shown=event.shown, conversation_id=where)
        except (Refusal, sqlite3.Error) as err:
            await refusal.answer(self.bus, m.req_id, err)
            return
        if change:
            await self.bus.publish(change)
        await self.bus.publish(c.CrudReply(req_id=m.req_id, ok=True))
        if event:
            await self.bus.publish(c.ChatNote(msg_id=m.req_id, role="user", kind="event", content=event.shown,
                                              conversation_id=where))
            await self.comments.on_action(where, immediate=m.op == "poke")

    async def on_agent(self, m: c.AgentCall) -> None:
        """An outside agent's tool call (crud_worker/agents.py): announced like the model's command, told
        to the model like a person's click."""
        try:
            ran = agents.run(self.db, m, self.ask_timeout)
        except (Refusal, sqlite3.Error) as err:
            await refusal.answer(self.bus, m.req_id, err)
            return
        for message in (*ran.changes, *ran.flipped, ran.result):
            await self.bus.publish(message)
        await self.bus.publish(c.CrudReply(req_id=m.req_id, ok=True, done=[ran.result.summary], task=ran.task,
                                           change_seq=ran.changes[-1].change_seq if ran.changes else 0,
                                           state=ran.state))
        await self.bus.publish(c.ChatNote(msg_id=m.msg_id, role="user", kind=agents.KIND, content=ran.event,
                                          conversation_id=ran.conversation_id))
        await self.comments.on_action(ran.conversation_id)

    def _apply(self, m: c.CrudRequest) -> tuple[c.TaskChanged | None, events.Event | None]:
        db = self.db
        by = person(m.route)
        match m.op:
            case "add":
                change = tasks.add(db, m.name or "", by=by)
                return change, events.added(change.task.name)
            case "toggle":
                change = tasks.toggle(db, _id(m), by=by)
                return change, events.toggled(change.task.name, change.task.done)
            case "rename":
                before = tasks.get(db, _id(m))
                change = tasks.update(db, before.id, name=m.name or "", by=by)
                if not change.change_seq:
                    return None, None
                return change, events.renamed(before.name, change.task.name)
            case "delete":
                change = tasks.delete(db, _id(m), by=by)
                return change, events.deleted(change.task.name)
            case "reorder" if m.ids is None and m.task_id is not None:
                moved = tasks.get(db, m.task_id)
                return tasks.move(db, moved.id, m.before, by=by), events.moved(moved.name)
            case "reorder":
                return tasks.reorder(db, m.ids or [], by=by), events.reordered()
            case "poke":
                return None, events.poked()
            case "import":
                items = m.tasks or []
                change = tasks.import_all(db, items, by=msgspec.structs.replace(by, reply_id=m.req_id))
                return change, events.imported(len(items))
        raise Refusal(f"unknown request {m.op!r}")


def _id(m: c.CrudRequest) -> int:
    if m.task_id is None:
        raise Refusal("no task id given")
    return m.task_id
