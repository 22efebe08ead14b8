"""Conversations and attempts: make, rename and delete a conversation; retry its newest reply or edit
its newest message, keeping the earlier attempt beside the new one; choose which attempt is shown.

Nothing is done twice: before a retry or an edit runs, every change the earlier attempts of that turn
still have in effect is undone through the change log (all or none, in the same transaction that
records the new attempt; a conflict refuses the retry and names it). Choosing an attempt afterwards
only changes what is shown and sent to the model: it never runs or undoes a command.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from bus import contract as c
from bus.client import Bus
from crud_worker import approvals, conversation, db as store, refusal, tasks, undo
from crud_worker.changelog import Actor, person
from crud_worker.comments import Commentator
from crud_worker.refusal import Conflict, Refusal, Unknown
from crud_worker.replies import Replies

WITHDRAWN = "withdrawn: the person asked again, so this attempt's commands don't run"


def newest_turn(db: Database, conversation_id: str) -> str:
    """The conversation's newest shown chat message of the person ("" if none)."""
    row = db.execute("SELECT id FROM messages WHERE conversation_id = ? AND role = 'user' AND kind = 'chat'"
                     " AND hidden = 0 ORDER BY created_at DESC, rowid DESC LIMIT 1", [conversation_id]).fetchone()
    return row[0] if row else ""


def _group(db: Database, head: str, conversation_id: str) -> tuple[str, list[str]]:
    """The attempt group `head` leads (made, with `head` as its first, if it has none yet): its key and members."""
    row = db.execute("SELECT grp FROM attempts WHERE id = ?", [head]).fetchone()
    if row is None:
        db.execute("INSERT INTO attempts (id, conversation_id, grp, n, chosen) VALUES (?, ?, ?, 1, 1)",
                   [head, conversation_id, head])
        grp = head
    else:
        grp = row[0]
    return grp, [r[0] for r in db.execute("SELECT id FROM attempts WHERE grp = ? ORDER BY n", [grp])]


def _add(db: Database, grp: str, new: str, conversation_id: str) -> None:
    """`new` joins the group as its newest attempt, and the chosen one."""
    n = db.execute("SELECT MAX(n) FROM attempts WHERE grp = ?", [grp]).fetchone()[0] + 1
    db.execute("UPDATE attempts SET chosen = 0 WHERE grp = ?", [grp])
    db.execute("INSERT INTO attempts (id, conversation_id, grp, n, chosen) VALUES (?, ?, ?, ?, 1)",
               [new, conversation_id, grp, n])


def _take_back(db: Database, reply_ids: list[str], by: Actor) -> tuple[undo.Done, list[c.CommandResult]]:
    """Undo what the earlier attempts still have in effect, and withdraw their commands still waiting
    for Allow / Deny (else allowing one later would do it a second time)."""
    done = undo.run_replies(db, reply_ids, by=by)
    withdrawn: list[c.CommandResult] = []
    if not reply_ids:
        return done, withdrawn
    marks = ",".join("?" * len(reply_ids))
    waiting = db.execute(f"SELECT command_id, msg_id, action FROM approvals WHERE decision IS NULL"
                         f" AND msg_id IN ({marks})", reply_ids).fetchall()
    for command_id, msg_id, action in waiting:
        approvals.settle(db, command_id, "deny", WITHDRAWN)
        db.execute("UPDATE approvals SET told = 1 WHERE command_id = ?", [command_id])
        db.execute("UPDATE commands SET ok = 0, result = ?, state = 'denied' WHERE id = ?",
                   [f"Withdrawn: {action} did not run (asked again)", command_id])
        withdrawn.append(c.CommandResult(msg_id=msg_id, command_id=command_id, ok=False, action=action,
                                         summary=f"Withdrawn: {action} did not run (asked again)", state="denied"))
    return done, withdrawn


class Attempts:
    def __init__(self, db: Database, bus: Bus, replies: Replies, comments: Commentator):
        self.db, self.bus, self.replies, self.comments = db, bus, replies, comments

    async def _answer(self, req_id: str, err: Refusal | sqlite3.Error) -> None:
        if isinstance(err, undo.Refused):  # the earlier attempt's changes can't be taken back
            err = Conflict(f"couldn't take back the earlier attempt's changes: {err}")
        await refusal.answer(self.bus, req_id, err)

    async def _announce(self, req_id: str, done: undo.Done, withdrawn: list[c.CommandResult]) -> None:
        """What taking back the earlier attempt changed, then the answer saying so."""
        for change in tasks.group(done.changes):
            await self.bus.publish(change)
        for result in [*done.results, *withdrawn]:
            await self.bus.publish(result)
        await self.bus.publish(c.CrudReply(req_id=req_id, ok=True, done=done.words()))

    def _known(self, conversation_id: str) -> None:
        if not conversation.exists(self.db, conversation_id):
            raise Unknown(f"there is no conversation {conversation_id!r}")

    async def on_request(self, m: c.ConversationRequest) -> None:
        db, cid = self.db, m.conversation_id
        try:
            if m.op == "delete":
                self._known(cid)
                await self.replies.drop_conversation(cid)  # stopped first: nothing more runs or is stored
            with store.write(db):
                title = self._apply(m)
        except (Refusal, sqlite3.Error) as err:
            await self._answer(m.req_id, err)
            return
        if m.op == "delete" and self.comments.conversation == cid:
            self.comments.conversation = ""
        await self.bus.publish(c.CrudReply(req_id=m.req_id, ok=True))
        op = "attempts" if m.op == "choose" else m.op
        await self.bus.publish(c.ConversationChanged(conversation_id=cid, op=op, title=title))

    def _apply(self, m: c.ConversationRequest) -> str:
        db, cid = self.db, m.conversation_id
        if m.op == "new":
            stamp = store.now()
            db.execute("INSERT OR IGNORE INTO conversations (id, created_at, updated_at) VALUES (?, ?, ?)",
                       [cid, stamp, stamp])
            return ""
        self._known(cid)
        if m.op == "rename":
            title = " ".join(m.title.split())
            if not title or len(title) > c.MAX_TITLE:
                raise Refusal(f"a title is 1 to {c.MAX_TITLE} characters")
            stamp = store.now()
            db.execute("INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)"
                       " ON CONFLICT(id) DO UPDATE SET title = excluded.title", [cid, title, stamp, stamp])
            return title
        if m.op == "delete":
            for table, column in (("messages", "conversation_id"), ("attempts", "conversation_id"),
                                  ("conversations", "id")):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", [cid])
            return ""
        row = db.execute("SELECT grp FROM attempts WHERE id = ? AND conversation_id = ?", [m.target, cid]).fetchone()
        if row is None:
            raise Unknown(f"there is no attempt {m.target!r} in this conversation")
        db.execute("UPDATE attempts SET chosen = (id = ?) WHERE grp = ?", [m.target, row[0]])
        conversation.rehide(db, cid)
        return ""

    async def on_retry(self, m: c.RetryRequest) -> None:
        db, cid = self.db, m.conversation_id
        try:
            self._known(cid)
            with store.write(db):
                ask = newest_turn(db, cid)
                row = db.execute("SELECT ask FROM messages WHERE id = ? AND conversation_id = ? AND role = 'assistant'"
                                 " AND answer = id AND hidden = 0", [m.target, cid]).fetchone()
                if row is None:
                    raise Unknown(f"there is no reply {m.target!r} to retry in this conversation")
                if row[0] != ask:
                    raise Conflict("only the newest reply can be retried")
                if self.replies.busy(cid, ask):
                    raise Conflict("a reply to this message is still coming: wait for it, or stop it, then retry")
                grp, members = _group(db, m.target, cid)
                marks = ",".join("?" * len(members))
                replies = [r[0] for r in db.execute(
                    f"SELECT id FROM messages WHERE role = 'assistant' AND answer IN ({marks})", members)]
                done, withdrawn = _take_back(db, replies, person(m.route))
                _add(db, grp, m.reply_id, cid)
                conversation.rehide(db, cid)
        except (Refusal, sqlite3.Error) as err:
            await self._answer(m.req_id, err)
            return
        await self._announce(m.req_id, done, withdrawn)
        await self.bus.publish(c.ConversationChanged(conversation_id=cid, op="attempts"))
        await self.comments.on_chat()
        kind = db.execute("SELECT kind FROM messages WHERE id = ?", [m.target]).fetchone()[0]
        await self.replies.queue(m.reply_id, kind, conversation_id=cid, ask=ask, answer=m.reply_id, model=m.model)

    async def edit(self, m: c.ChatUser, text: str) -> None:
        """The person's newest message, sent again as `text`: the earlier one stays as a sibling."""
        db, cid = self.db, m.conversation_id
        try:
            self._known(cid)
            with store.write(db):
                if db.execute("SELECT 1 FROM messages WHERE id = ?", [m.msg_id]).fetchone():
                    done, withdrawn, new = undo.Done(), [], False  # a retried request: on its way already
                else:
                    new = True
                    if not db.execute("SELECT 1 FROM messages WHERE id = ? AND conversation_id = ? AND role = 'user'",
                                      [m.edit_of, cid]).fetchone():
                        raise Unknown(f"there is no message {m.edit_of!r} to edit in this conversation")
                    if m.edit_of != newest_turn(db, cid):
                        raise Conflict("only your newest message can be edited")
                    if self.replies.busy(cid, m.edit_of):
                        raise Conflict("a reply to this message is still coming: wait for it, or stop it, then edit")
                    grp, members = _group(db, m.edit_of, cid)
                    marks = ",".join("?" * len(members))
                    replies = [r[0] for r in db.execute(
                        f"SELECT id FROM messages WHERE role = 'assistant' AND ask IN ({marks})", members)]
                    done, withdrawn = _take_back(db, replies, person("POST /chat"))
                    _add(db, grp, m.msg_id, cid)
                    conversation.store(db, msg_id=m.msg_id, role="user", kind="chat", content=text,
                                       conversation_id=cid, ask=m.msg_id)
                    conversation.rehide(db, cid)
        except (Refusal, sqlite3.Error) as err:
            await self._answer(m.req_id, err)
            return
        await self._announce(m.req_id, done, withdrawn)
        if not new:
            return
        await self.bus.publish(c.ConversationChanged(conversation_id=cid, op="attempts"))
        await self.comments.on_chat()
        await self.replies.queue(m.reply_id, "chat", conversation_id=cid, ask=m.msg_id, answer=m.reply_id)
