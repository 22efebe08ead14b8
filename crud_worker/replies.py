"""Replies in flight: feed their deltas to the command splitter, execute each command as it
closes, store the reply once when it ends, and give command results back to the model.

A reply whose delta stream had a gap (or that we joined late, after a restart) executes
nothing mid-stream; at `llm.done` the full text is split again and every command runs
idempotently by `command_id`, so nothing is skipped and nothing runs twice.

The pieces: `reply` (one reply's state, and `unasked`), `reply_commands` (running its commands),
`followups` (the turns that tell the model what its commands did), `watch` (no worker started it,
its worker was lost, its end was lost).
"""

from __future__ import annotations

import logging
import sqlite3
import time

import msgspec
from sqlite_utils import Database

from bus import contract as c, tables
from bus.client import Bus, JobSender
from crud_worker.settings import CrudSettings
from crud_worker import approvals, claims, context, conversation, db as store, prompts, unsaved
from commands.splitter import Block, Prose, split_all
from crud_worker.followups import FollowUps
from crud_worker.reply import UNASKED_MAX_CHARS, Reply, prompt_chars, unasked
from crud_worker.reply_commands import ReplyCommands
from crud_worker.watch import Watch


log = logging.getLogger(__name__)

MIN_CONTEXT = 512  # tokens: the least history budget an overflow shrinks it to
RECENT_KEEP = 512


class Replies:
    def __init__(self, db: Database, bus: Bus, jobs: JobSender, settings: CrudSettings):
        self.db, self.bus, self.jobs, self.settings = db, bus, jobs, settings
        self.live: dict[str, Reply] = {}
        self.finished: dict[str, None] = {}
        self.shrunk: int | None = None  # tokens, after a server refused a prompt as too long (on_error)
        self.reply_commands = ReplyCommands(db, bus, settings)
        self.followups = FollowUps(db, self.live, self.queue)
        self.watch = Watch(bus, self.live, self.fail)

    def num_ctx(self) -> int:
        """LLM_NUM_CTX, or less where a worker's model server says its model's context is smaller."""
        return min([self.settings.num_ctx, *self.watch.contexts(), *([self.shrunk] if self.shrunk else [])])

    def streaming(self) -> bool:
        return bool(self.live)

    async def queue(self, reply_id: str, kind: c.ReplyKind, *, depth: int = 0, extra: str = "",
                    conversation_id: str = conversation.DEFAULT, told: frozenset[str] = frozenset(),
                    ask: str = "", answer: str = "", model: str = "", shortened: bool = False) -> None:
        model = model or store.get_setting(self.db, tables.MODEL)
        prepared = context.prepare(self.db, reply_id=reply_id, kind=kind, conversation_id=conversation_id,
                                   num_ctx=self.num_ctx(), persona=self.settings.persona, model=model,
                                   extra=extra, native_tools=self.settings.native_tools)
        with store.write(self.db):
            context.remember(self.db, prepared)
        job = prepared.job
        for other in self.live.values():
            other.overtaken = other.overtaken or other.conversation_id == conversation_id
        if unasked(reply_id):  # a remark: a small model that starts writing a dialogue is stopped early
            job = msgspec.structs.replace(job, max_chars=UNASKED_MAX_CHARS)
        self.live[reply_id] = Reply(msg_id=reply_id, kind=kind, conversation_id=conversation_id, depth=depth, told=told,
                                    ask=ask, answer=answer, sent_chars=prompt_chars(job), shortened=shortened)
        await self.bus.publish(c.ReplyQueued(msg_id=reply_id, kind=kind, conversation_id=conversation_id, ask=ask,
                                             answer=answer))
        await self.jobs.send(job)

    async def cancel(self, reply_id: str) -> None:
        await self.bus.publish(c.LlmCancel(msg_id=reply_id))

    async def drop_conversation(self, conversation_id: str) -> None:
        """Its conversation is being deleted: stop every reply streaming into it; none runs another
        command or is stored (its end is still awaited, so a late delta doesn't restart it)."""
        for reply in self.live.values():
            if reply.conversation_id == conversation_id and not reply.discard:
                reply.discard = True
                await self.cancel(reply.msg_id)

    def busy(self, conversation_id: str, ask: str) -> bool:
        """A reply of this turn is still streaming (or waiting for a worker)."""
        return any(r.conversation_id == conversation_id and r.ask == ask for r in self.live.values())

    def _track(self, msg_id: str, seq: int) -> Reply | None:
        """The reply a stream message belongs to; joining late (after our restart) marks a gap."""
        if msg_id in self.finished:
            return None
        reply = self.live.get(msg_id)
        if reply is None:
            if self._stored(msg_id):
                return None
            reply = self.live[msg_id] = Reply(msg_id=msg_id, gap=seq > 1)
        elif seq != reply.next_seq and not reply.gap:
            log.warning("reply %s: expected seq %d, got %d; will reconcile at the end", msg_id, reply.next_seq, seq)
            reply.gap = True
        reply.next_seq = seq + 1
        reply.last_activity = time.monotonic()
        return reply

    def _stored(self, msg_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM messages WHERE id = ?", [msg_id]).fetchone() is not None

    async def on_start(self, m: c.LlmStart) -> None:
        if reply := self._track(m.msg_id, m.seq):
            reply.worker = m.worker

    async def on_delta(self, m: c.LlmDelta) -> None:
        reply = self._track(m.msg_id, m.seq)
        if reply is None or not m.text or reply.discard:
            return
        reply.parts.append(m.text)
        if not reply.gap:
            for piece in reply.splitter.feed(m.text):
                if isinstance(piece, Block):
                    await self.reply_commands.run_block(reply, piece)

    async def on_tool_call(self, m: c.LlmToolCall) -> None:
        if (reply := self._track(m.msg_id, m.seq)) and not reply.discard:
            await self.reply_commands.run_tool_call(reply, m.call, reply.tool_calls)
            reply.tool_calls += 1

    async def on_done(self, m: c.LlmDone) -> None:
        reply = self._track(m.msg_id, m.seq)
        if reply is None:
            return
        if reply.discard:
            await self._finish(reply, m.text, "cancelled")
            return
        if not reply.gap and "".join(reply.parts) == m.text:
            pieces = reply.splitter.finish()
        else:
            reply.commands = 0
            pieces = split_all(m.text)
        for piece in pieces:
            if isinstance(piece, Block):
                await self.reply_commands.run_block(reply, piece, ended_well=m.status == "done")
        for n, call in enumerate(m.tool_calls):
            await self.reply_commands.run_tool_call(reply, call, n)
        claim = m.status == "done" and self._unbacked_claim(reply, m.text)
        if claim and not reply.commands + reply.tool_calls and not unasked(reply.msg_id):
            reply.feedback.append(prompts.NO_COMMAND_WRITTEN)  # the person asked: let it write what it forgot
        await self._finish(reply, m.text, "done" if m.status == "done" else "cancelled", model=m.model,
                           usage=m.usage, timing=m.timing, claim=claim)

    def _unbacked_claim(self, reply: Reply, text: str) -> bool:
        """Its words say the list changed, and none of its commands changed it or waits for Allow."""
        changed = "SELECT 1 FROM changes WHERE reply_id = ? AND reply_id != '' LIMIT 1"
        if self.db.execute(changed, [reply.msg_id]).fetchone():
            return False
        if approvals.waiting_in(self.db, reply.msg_id):
            return False
        asked = not unasked(reply.msg_id)
        return claims.claims_change("".join(p.text for p in split_all(text) if isinstance(p, Prose)), asked=asked,
                                    words_asked=asked and self.reply_commands.suggests_only(reply))

    async def on_error(self, m: c.LlmError) -> None:
        if reply := self._track(m.msg_id, m.seq):
            error = m.error
            again = False
            if m.kind == "context" and reply.sent_chars:
                # A server that never said its context (llama-cpp-python has no /props) refused this
                # prompt: later turns send at most half of it, so one long message doesn't break them all.
                self.shrunk = max(MIN_CONTEXT, reply.sent_chars // c.CHARS_PER_TOKEN // 2)
                log.warning("context overflow on %s: history now fitted to %d tokens", m.msg_id, self.shrunk)
                again = self._worth_shorter(reply)
                error += (" Trying once more with a shorter history." if again
                          else " The next messages will carry a shorter history.")
            await self._finish(reply, m.text, "failed", model=m.model, error=error)
            if again:
                retry_id = reply.msg_id + "-s"
                await self.queue(retry_id, reply.kind, conversation_id=reply.conversation_id, ask=reply.ask,
                                 answer=retry_id, model=m.model, shortened=True)

    def _worth_shorter(self, reply: Reply) -> bool:
        """One more try after an overflow is worth it for the person's own chat turn when it was the
        history that overflowed: with the shrunk budget the prompt is smaller and still holds their
        message whole (a message too long on its own is left failed, never answered cut)."""
        if reply.kind != "chat" or reply.depth or reply.shortened or not reply.ask:
            return False
        row = self.db.execute("SELECT content FROM messages WHERE id = ?", [reply.ask]).fetchone()
        job = context.build_job(self.db, reply_id=reply.msg_id, kind=reply.kind,
                                conversation_id=reply.conversation_id, num_ctx=self.num_ctx(),
                                persona=self.settings.persona)
        return bool(row and job.messages and row[0] in job.messages[-1].content
                    and prompt_chars(job) < reply.sent_chars)

    async def _finish(self, reply: Reply, text: str, status: str, *, model: str = "", usage: c.Usage | None = None,
                      error: str = "", timing: c.Timing | None = None, claim: bool = False) -> None:
        stats = c.ReplyStats(msg_id=reply.msg_id, model=model, timing=timing, usage=usage,
                             commands=reply.commands + reply.tool_calls, commands_ms=round(reply.commands_ms, 1),
                             unbacked_claim=claim)
        self.live.pop(reply.msg_id, None)
        self.finished[reply.msg_id] = None
        while len(self.finished) > RECENT_KEEP:
            self.finished.pop(next(iter(self.finished)))
        if reply.discard:
            return
        try:
            with store.write(self.db):
                stored = conversation.store(self.db, msg_id=reply.msg_id, role="assistant", kind=reply.kind,
                                            content=text, status=status, conversation_id=reply.conversation_id,
                                            model=model, usage=usage, error=error,
                                            created_at=store.now() if reply.overtaken else reply.created_at,
                                            ask=reply.ask, answer=reply.answer, stats=stats)
        except sqlite3.Error as err:
            if (why := unsaved.reason(err)) is None:
                raise
            log.error("reply %s not stored: %s", reply.msg_id, err)
            await self.bus.publish(c.UiAlert(text=f"That reply was shown but not saved: {why}"))
            return
        if stored:
            await self.bus.publish(stats)
        await self.followups.after(reply, status)

    async def tell(self, msg_id: str, lines: list[str]) -> None:
        """Results that come after their command: see FollowUps.tell."""
        await self.followups.tell(msg_id, lines)

    def note_worker(self, h: c.Health) -> None:
        self.watch.note_worker(h)

    async def fail(self, reply: Reply, error: str) -> None:
        text = "".join(reply.parts)
        await self._finish(reply, text, "failed", error=error)
        await self.bus.publish(c.LlmError(msg_id=reply.msg_id, seq=reply.next_seq, error=error, kind="worker",
                                          text=text))

    async def check(self) -> None:
        """No bubble spins forever: see Watch.check."""
        await self.watch.check()
