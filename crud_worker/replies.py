"""Replies in flight: feed their deltas to the command splitter, execute each command as it
closes, store the reply once when it ends, and give command results back to the model.

A reply whose delta stream had a gap (or that we joined late, after a restart) executes
nothing mid-stream; at `llm.done` the full text is split again and every command runs
idempotently by `command_id`, so nothing is skipped and nothing runs twice.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field

import msgspec
from sqlite_utils import Database

from bus import contract as c, tables
from bus.client import Bus, JobSender, new_id
from crud_worker.settings import CrudSettings
from crud_worker import approvals, claims, context, conversation, db as store, prompts, unsaved
from commands.ids import commands_of, tool_call_id
from commands.parse import from_tool_call
from commands.spec import Refusal
from commands.splitter import Block, CommandSplitter, Prose, split_all
from crud_worker.executor import REFUSED, execute

log = logging.getLogger(__name__)

MAX_FOLLOWUPS = 2
MIN_CONTEXT = 512  # tokens: the least history budget an overflow shrinks it to
NO_WORKER_S = context.JOB_TTL_S  # a queued reply no worker started by then fails, clearly
WORKER_LOST_S = 5.0  # a started reply whose worker stopped beating this long ago fails
RESEND_AFTER_S = 2.0  # a live worker no longer lists the reply: its end was lost; ask again this often
RESEND_GIVE_UP_S = 2.0  # a worker answers a resend in milliseconds; silence means it has no end to give
RECENT_KEEP = 512
# Every reply nobody asked for (a comment, its follow-ups, a follow-up telling it a decision) has an id
# made here with this prefix (chat replies' ids come from the web, "a…"), so the rule holds for a reply
# joined late after a restart too: its commands are suggestions (executor.execute's `suggest`).
UNASKED = "c"
UNASKED_MAX_CHARS = 1500  # a comment is a remark of under 40 words (and maybe a suggestion or two)


def unasked(reply_id: str) -> bool:
    return reply_id.startswith(UNASKED)


@dataclass
class Reply:
    msg_id: str
    kind: c.ReplyKind = "chat"
    conversation_id: str = conversation.DEFAULT
    ask: str = ""  # the person's message whose turn this is, and the chat reply whose attempt (see ReplyQueued)
    answer: str = ""
    discard: bool = False  # its conversation was deleted: stopped, runs no further command, never stored
    depth: int = 0
    created_at: str = field(default_factory=store.now)
    splitter: CommandSplitter = field(default_factory=CommandSplitter)
    parts: list[str] = field(default_factory=list)
    next_seq: int = 0
    gap: bool = False
    commands: int = 0
    tool_calls: int = 0
    commands_ms: float = 0.0  # time spent running this reply's commands (execute), for its ReplyStats
    feedback: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)  # the part of feedback that is the person's Allow / Deny
    told: frozenset[str] = frozenset()  # a follow-up: what the turn before it was told
    sent_chars: int = 0  # the prompt's size as sent (system prompt and history)
    shortened: bool = False  # the one retry after a context overflow (never retried again)
    # Another job of its conversation was built while it streamed (a comment the person talked over):
    # it is stored where it ended, after what that job read, so later prompts still begin with that job's.
    overtaken: bool = False
    worker: str = ""
    asked_again: float = 0.0
    first_asked: float = 0.0
    queued: float = field(default_factory=time.monotonic)
    last_activity: float = field(default_factory=time.monotonic)


class Replies:
    def __init__(self, db: Database, bus: Bus, jobs: JobSender, settings: CrudSettings):
        self.db, self.bus, self.jobs, self.settings = db, bus, jobs, settings
        self.live: dict[str, Reply] = {}
        self.finished: dict[str, None] = {}
        self.workers_seen: dict[str, float] = {}
        self.workers_active: dict[str, set[str]] = {}
        self.workers_context: dict[str, int] = {}
        self.shrunk: int | None = None  # tokens, after a server refused a prompt as too long (on_error)

    def num_ctx(self) -> int:
        """LLM_NUM_CTX, or less where a worker's model server says its model's context is smaller."""
        now = time.monotonic()
        said = [n for w, n in self.workers_context.items() if n and now - self.workers_seen[w] < WORKER_LOST_S]
        return min([self.settings.num_ctx, *said, *([self.shrunk] if self.shrunk else [])])

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
        self.live[reply_id] = Reply(msg_id=reply_id, kind=kind, conversation_id=conversation_id, depth=depth,
                                    told=told, ask=ask, answer=answer, sent_chars=_chars(job), shortened=shortened)
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
                    await self._run_block(reply, piece)

    async def on_tool_call(self, m: c.LlmToolCall) -> None:
        if (reply := self._track(m.msg_id, m.seq)) and not reply.discard:
            await self._run_tool_call(reply, m.call, reply.tool_calls)
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
                await self._run_block(reply, piece, ended_well=m.status == "done")
        for n, call in enumerate(m.tool_calls):
            await self._run_tool_call(reply, call, n)
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
        return claims.claims_change("".join(p.text for p in split_all(text) if isinstance(p, Prose)))

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
        return bool(row and job.messages and row[0] in job.messages[-1].content and _chars(job) < reply.sent_chars)

    async def _run_block(self, reply: Reply, block: Block, ended_well: bool = True) -> None:
        for found in commands_of(reply.msg_id, block):
            command = found.command
            if not block.closed and not ended_well:
                command = Refusal(reason="the reply was stopped before this command was complete")
            await self._run(reply, found.command_id, reply.commands, block.raw, command)
            reply.commands += 1

    async def _run_tool_call(self, reply: Reply, call: c.ToolCallMsg, n: int) -> None:
        raw = f"{call.name}({call.arguments})"
        await self._run(reply, tool_call_id(reply.msg_id, n), reply.commands + n, raw,
                        from_tool_call(call.name, call.arguments))

    async def _run(self, reply: Reply, command_id: str, ordinal: int, raw: str, command) -> None:
        began = time.perf_counter()
        try:
            outcome = execute(self.db, msg_id=reply.msg_id, command_id=command_id, ordinal=ordinal, raw=raw,
                              command=command, ask_timeout=self.settings.ask_timeout, suggest=unasked(reply.msg_id))
        except sqlite3.Error as err:
            if (why := unsaved.reason(err)) is None:
                raise
            log.error("command %s not run: %s", command_id, err)
            await self.bus.publish(c.CommandResult(msg_id=reply.msg_id, command_id=command_id, ok=False,
                                                   summary=f"Not done: {why}"))
            return
        finally:
            reply.commands_ms += (time.perf_counter() - began) * 1000
        if outcome.feedback:
            reply.feedback.append(outcome.feedback)
        for change in outcome.changes:
            await self.bus.publish(change)
        for flipped in outcome.flipped:
            await self.bus.publish(flipped)
        await self.bus.publish(outcome.result)

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

    def note_worker(self, h: c.Health) -> None:
        self.workers_seen[h.instance] = time.monotonic()
        self.workers_active[h.instance] = set(h.active)
        self.workers_context[h.instance] = h.context

    async def fail(self, reply: Reply, error: str) -> None:
        text = "".join(reply.parts)
        await self._finish(reply, text, "failed", error=error)
        await self.bus.publish(c.LlmError(msg_id=reply.msg_id, seq=reply.next_seq, error=error, kind="worker",
                                          text=text))

    async def check(self) -> None:
        """No bubble spins forever: fail replies nobody is working on, and ask again for an end we missed."""
        now = time.monotonic()
        for reply in list(self.live.values()):
            if not reply.worker:
                reply.worker = next((w for w, active in self.workers_active.items() if reply.msg_id in active), "")
            quiet = now - reply.last_activity
            if not reply.worker:
                if now - reply.queued > NO_WORKER_S:
                    await self.fail(reply, "No LLM worker took this message. Is the llm_worker process running?")
            elif now - self.workers_seen.get(reply.worker, reply.last_activity) > WORKER_LOST_S:
                if quiet > WORKER_LOST_S:
                    await self.fail(reply, f"The LLM worker {reply.worker} stopped answering in the middle of this "
                                           f"reply (crashed, or its host unreachable). Send the message again.")
            elif (reply.msg_id not in self.workers_active.get(reply.worker, ()) and quiet > RESEND_AFTER_S
                  and self.workers_seen.get(reply.worker, 0) > reply.last_activity):
                # Only a beat newer than the reply's last news proves the worker is done with it: one
                # from before its start (a link that dropped right after) proves nothing.
                await self._ask_again(reply, now)

    async def _ask_again(self, reply: Reply, now: float) -> None:
        """The worker is alive but done with this reply, and we never heard the end: PUB/SUB lost it."""
        if reply.first_asked and now - reply.first_asked > RESEND_GIVE_UP_S:
            await self.fail(reply, "The end of this reply was lost on the way. Send the message again.")
        elif now - reply.asked_again > RESEND_AFTER_S:
            reply.first_asked = reply.first_asked or now
            reply.asked_again = now
            await self.bus.publish(c.LlmResend(msg_id=reply.msg_id))


def _chars(job: c.LlmJob) -> int:
    """A prompt's size as sent: the system prompt and the history."""
    return len(job.system) + sum(len(m.content) for m in job.messages)
