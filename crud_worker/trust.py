"""The person's answers about the model's changes: undo / redo, Allow / Deny, the ask-first policies,
and approvals that expire unanswered. Each answer is one transaction; what changed is announced
after it commits, and the model is told (an [event] line, or a follow-up turn for decisions)."""

from __future__ import annotations

import time

from sqlite_utils import Database

from bus import contract as c
from bus.client import Bus
from crud_worker import agents, approvals, changelog, conversation, db as store, events, refusal, tasks, undo
from crud_worker.changelog import Actor, person
from crud_worker.comments import Commentator
from crud_worker.executor import apply, ran
from crud_worker.refusal import Conflict, Refusal, Unknown
from crud_worker.replies import Replies
from crud_worker.reply import unasked
from crud_worker.settings import CrudSettings

EVENT_ITEMS = 10  # an undo event names this many changes, then how many more


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} minute{'s' if seconds != 60 else ''}" if seconds >= 60 else f"{seconds:g} s"


class Trust:
    def __init__(self, db: Database, bus: Bus, replies: Replies, comments: Commentator, cfg: CrudSettings):
        self.db, self.bus, self.replies, self.comments, self.cfg = db, bus, replies, comments, cfg

    def prepare(self) -> None:
        """At start: the log's bound and the policies in force, where the code and the web read them."""
        with store.write(self.db):
            store.set_setting(self.db, changelog.KEEP_SETTING, str(self.cfg.changes_keep))
            approvals.publish_effective(self.db, self.cfg.ask)

    async def on_undo(self, m: c.UndoRequest) -> None:
        agent = c.agent_name(m.agent) if m.agent else ""
        by = Actor(kind="agent", agent=agent) if agent else person(m.route)
        event_id = m.req_id
        if m.scope == "reply" and not m.redo and m.target in self.replies.live:
            # Its later commands would run after the undo (and the model be told not to make them).
            await self.bus.publish(c.CrudReply(req_id=m.req_id, ok=False, code="conflict", error=(
                "this reply is still being written: stop it first (or let it end), then undo all it changed")))
            return
        try:
            with store.write(self.db):
                done = undo.run(self.db, m.scope, m.target, by=by, redo=m.redo, person_only=m.by == "person",
                                agent=agent if m.by == "agent" else "")
                words = done.words()
                shown = "; ".join(words[:EVENT_ITEMS]) + (f"; and {len(words) - EVENT_ITEMS} more"
                                                         if len(words) > EVENT_ITEMS else "")
                event = events.undid(shown, redo=m.redo, agent=agent,
                                     by_model=any(c.actor.kind == "model" for c in done.reverted))
                where = m.conversation_id
                if not where or not conversation.exists(self.db, where):
                    where = conversation.current(self.db)
                conversation.store(self.db, msg_id=event_id, role="user", kind="event", content=event.told,
                                   shown=event.shown, conversation_id=where)
        except tasks.TaskError as err:  # a restore into a full list, or onto an id taken again
            await refusal.answer(self.bus, m.req_id, Conflict(str(err)))
            return
        except Refusal as err:
            await refusal.answer(self.bus, m.req_id, err)
            return
        for change in tasks.group(done.changes):  # several: one message, each task in place
            await self.bus.publish(change)
        for result in done.results:
            await self.bus.publish(result)
        await self.bus.publish(c.CrudReply(req_id=m.req_id, ok=True, done=words))
        await self.bus.publish(c.ChatNote(msg_id=event_id, role="user", kind="event", content=event.shown,
                                          conversation_id=where))
        await self.comments.on_action(where)

    async def on_approve(self, m: c.ApproveRequest) -> None:
        db = self.db
        with store.write(db):
            pending = approvals.get(db, m.command_id)
            if pending is None:
                refused: Refusal | None = Unknown(f"no command {m.command_id!r} is waiting for an answer")
            elif pending.decision is not None:
                decided = "allowed" if pending.decision == "allow" else pending.decision
                refused = Conflict(f"this command was {decided} already")
            else:
                refused = None
                result, changes, flipped, line = self._decide(pending, m.decision)
                told = approvals.untold(db, pending.msg_id)
        if refused is not None:
            await refusal.answer(self.bus, m.req_id, refused)
            return
        for change in tasks.group(changes):
            await self.bus.publish(change)
        for other in flipped:
            await self.bus.publish(other)
        await self.bus.publish(result)
        await self.bus.publish(c.CrudReply(req_id=m.req_id, ok=True, done=[result.summary]))
        if told and agents.agent_of(db, pending.msg_id) is None:  # an agent's command: the agent hears, not the model
            await self.replies.tell(pending.msg_id, told)

    def _decide(self, p: approvals.Pending, decision: str
                ) -> tuple[c.CommandResult, list[c.TaskChanged], list[c.CommandResult], str]:
        """Decide and (if allowed) run, in the caller's transaction: it runs once or not at all."""
        changes: list[c.TaskChanged] = []
        flipped: list[c.CommandResult] = []
        state: c.CommandState = "done"
        agent = agents.agent_of(self.db, p.msg_id)  # None: the model's command
        if decision == "allow":
            try:
                by = Actor(kind="model" if agent is None else "agent", agent=agent or "", reply_id=p.msg_id,
                           command_id=p.command_id)
                changes, flipped, summary, _ = apply(self.db, p.command, by)
                ok, state = True, ran(p.action, changes)
            except tasks.TaskError as err:
                summary, ok = f"couldn't apply: {err}", False
            line = f"the person allowed you to {p.what}: {summary}"
        else:
            summary, ok, state = f"Denied: {p.what}", False, "denied"
            line = (f"the person declined your suggestion to {p.what}; nothing changed. Don't suggest it again "
                    "unless asked." if unasked(p.msg_id) else
                    f"the person denied your command to {p.what}; it did not run. Don't repeat it unless asked.")
        if agent is not None:
            summary = f"{summary} — by {agent}"
        approvals.settle(self.db, p.command_id, decision, line)
        self.db.execute("UPDATE commands SET ok = ?, result = ?, state = ? WHERE id = ?",
                        [int(ok), summary, state, p.command_id])
        return (c.CommandResult(msg_id=p.msg_id, command_id=p.command_id, ok=ok, summary=summary, action=p.action,
                                state=state), changes, flipped, line)

    async def on_policy(self, m: c.PolicyRequest) -> None:
        with store.write(self.db):
            value = approvals.choose(self.db, self.cfg.ask, m.action, m.policy)
        await self.bus.publish(c.SettingChanged(key=approvals.EFFECTIVE_SETTING, value=value))
        await self.bus.publish(c.CrudReply(req_id=m.req_id, ok=True, done=[f"{m.action}: {m.policy}"]))

    async def tick(self) -> None:
        """Approvals nobody answered in time expire, visibly, and the model hears of it."""
        now = time.time()
        due = approvals.due(self.db, now)
        if not due:
            return
        results, tell = [], {}
        with store.write(self.db):
            for p in due:
                summary = f"Expired: nobody answered within {_minutes(self.cfg.ask_timeout)} ({p.what})"
                approvals.settle(self.db, p.command_id, "expired", f"nobody answered whether you may {p.what} "
                                 f"within {_minutes(self.cfg.ask_timeout)}; it did not run")
                self.db.execute("UPDATE commands SET ok = 0, result = ?, state = 'expired' WHERE id = ?",
                                [summary, p.command_id])
                results.append(c.CommandResult(msg_id=p.msg_id, command_id=p.command_id, ok=False, summary=summary,
                                               action=p.action, state="expired"))
            for msg_id in dict.fromkeys(p.msg_id for p in due):
                tell[msg_id] = approvals.untold(self.db, msg_id)
        for result in results:
            await self.bus.publish(result)
        for msg_id, lines in tell.items():
            if lines and agents.agent_of(self.db, msg_id) is None:
                await self.replies.tell(msg_id, lines)
