"""What the web process knows of the replies between database reads, as data: replies in flight (their
pieces as shown so far), command results, long jobs, the task list's change count. No HTML here: each
method updates the state and returns what changed; the chat's views (web/chat/stream.py) build the
fragments from it."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

from bus import contract as c
from bus.contract import ReplyStats
from commands import bang
from commands.ids import commands_of, is_tool_call_id, tool_call_id
from commands.splitter import Block, CommandSplitter, Hidden, Piece, Thinking
from web.live.store import Attempt, ChatPage, ChipResult, Store, StoredMessage

ENDED_KEEP = 200
RESULTS_KEEP = 5_000


@dataclass(frozen=True)
class ShownText:
    """Prose of a streaming reply, as appended to its bubble."""

    text: str


@dataclass(frozen=True)
class ShownChip:
    """A command's chip in a streaming reply."""

    command_id: str


@dataclass(frozen=True)
class Thought:
    """Reasoning added to a reply (never part of its text): the first opens the reply's thinking box."""

    text: str
    first: bool


Shown = ShownText | ShownChip | Thought
TaskSwap = Literal["steps", "list", "step"]  # how a task change goes out: its group's steps, the list, one step


@dataclass
class ReplyView:
    """An assistant reply as the page shows it, while streaming or once ended."""

    id: str
    kind: str = "chat"
    status: str = "queued"  # queued | streaming | done | cancelled | failed
    text: str = ""  # the model's full raw text once ended
    pieces: list[ShownText | ShownChip] = field(default_factory=list)  # while streaming
    thinking: str = ""
    error: str = ""
    model: str = ""
    stop_reason: str = ""  # llm.done's: "length" or "too_long" get a note under the reply
    stats: ReplyStats | None = None  # reply.stats: the quiet line of figures under an ended reply


class InFlight:
    def __init__(self, store: Store):
        self.store = store
        self.replies: dict[str, ReplyView] = {}
        self.splitters: dict[str, CommandSplitter] = {}
        self.next_seq: dict[str, int] = {}
        self.ended: OrderedDict[str, ReplyView] = OrderedDict()
        self.results: OrderedDict[str, ChipResult] = OrderedDict()
        self.change_seq = 0
        self.jobs: OrderedDict[str, c.JobProgress] = OrderedDict()
        self.heard: dict[str, float] = {}  # when each reply in flight last had news
        # Each reply's conversation and the chat reply whose attempt it is, as `chat.user` / `reply.queued`
        # said ("" if we joined it late: its events then go only to tabs following every conversation).
        self.where: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def open_reply(self, msg_id: str, kind: str = "chat", conversation: str = "",
                   answer: str = "") -> tuple[ReplyView, bool]:
        if conversation:
            self.where[msg_id] = (conversation, answer)
            while len(self.where) > RESULTS_KEEP:
                self.where.popitem(last=False)
        if msg_id in self.replies:
            return self.replies[msg_id], False
        if msg_id in self.ended:
            return self.ended[msg_id], False
        view = self.replies[msg_id] = ReplyView(id=msg_id, kind=kind)
        self.hear(msg_id)
        self.splitters[msg_id] = CommandSplitter()
        self.next_seq[msg_id] = 0
        return view, True

    def conversation_of(self, msg_id: str) -> str:
        """The reply's conversation ("" when unknown: its events go only to tabs following every one)."""
        if msg_id in self.where:
            return self.where[msg_id][0]
        return self.store.conversation_of(msg_id) or ""

    def chat_user(self, m: c.ChatUser) -> ReplyView | None:
        """The reply a person's message opens (None: an edit, or a message already shown)."""
        if m.edit_of:
            return None  # shown once the crud_worker took it (`conversation.changed`): it may be refused
        kind = "help" if isinstance(bang.parse(m.text), bang.Help) else "chat"  # its bubble heads with the card
        view, new = self.open_reply(m.reply_id, kind, conversation=m.conversation_id, answer=m.reply_id)
        return view if new else None

    def queued(self, m: c.ReplyQueued) -> ReplyView | None:
        view, new = self.open_reply(m.msg_id, m.kind, m.conversation_id, m.answer)
        return view if new else None

    def shown_live(self, conversation_id: str, chosen: dict) -> list[ReplyView]:
        """Replies in flight or just ended in this conversation, but not of an attempt not chosen."""
        out = []
        for v in [*self.ended.values(), *self.replies.values()]:
            where, answer = self.where.get(v.id, ("", ""))
            if where == conversation_id and (answer not in chosen or chosen[answer].chosen):
                out.append(v)
        return out

    def page(self, conversation_id: str) -> tuple[ChatPage, list[ReplyView], dict[str, Attempt]]:
        """The newest page of the conversation as stored, the replies the database doesn't hold yet, and
        its attempts."""
        page = self.store.messages(conversation_id)
        attempts = self.store.attempts(conversation_id)
        shown = {m.id for m in page.messages}
        recent = [v for v in self.shown_live(conversation_id, attempts) if v.id not in shown]
        stored_elsewhere = self.store.existing(v.id for v in recent)  # older than this page, or hidden: not shown
        return page, [v for v in recent if v.id not in stored_elsewhere], attempts

    def _stream(self, msg_id: str, seq: int) -> ReplyView | None:
        """The live view a stream message belongs to; after a gap the display waits for `done` to heal."""
        view = self.replies.get(msg_id)
        if view is None:
            if msg_id in self.ended:
                return None
            view, _ = self.open_reply(msg_id)
            self.next_seq[msg_id] = seq  # joined late: show from here, `done` heals the rest
        if seq != self.next_seq[msg_id]:
            self.splitters.pop(msg_id, None)  # gap: stop appending; the final render repairs it
        self.next_seq[msg_id] = seq + 1
        self.hear(msg_id)
        return view

    def start(self, m: c.LlmStart) -> ReplyView | None:
        view = self._stream(m.msg_id, m.seq)
        if view is not None:
            view.status, view.model = "streaming", m.model
        return view

    def delta(self, m: c.LlmDelta) -> tuple[ReplyView, list[Shown]] | None:
        """What the delta adds to its reply as shown (None: the reply has ended, nothing to add)."""
        view = self._stream(m.msg_id, m.seq)
        if view is None:
            return None
        view.status = "streaming"
        out: list[Shown] = [self._think(view, m.thinking)] if m.thinking else []
        splitter = self.splitters.get(m.msg_id)
        if m.text and splitter is not None:
            for piece in splitter.feed(m.text):
                out += self._piece(view, piece)
        return view, out

    def _think(self, view: ReplyView, text: str) -> Thought:
        """Reasoning, whether the backend reported it apart or the model wrote it in <think> tags."""
        first = not view.thinking
        view.thinking += text
        return Thought(text, first)

    def _piece(self, view: ReplyView, piece: Piece) -> list[Shown]:
        if isinstance(piece, Block):
            return [self._chip(view, found.command_id) for found in commands_of(view.id, piece)]
        if isinstance(piece, Thinking):
            return [self._think(view, piece.text)] if piece.text else []
        if isinstance(piece, Hidden) or not piece.text:
            return []  # fence lines around a command are never shown
        view.pieces.append(ShownText(piece.text))
        return [view.pieces[-1]]

    def _chip(self, view: ReplyView, command_id: str) -> ShownChip:
        view.pieces.append(ShownChip(command_id))
        return view.pieces[-1]

    def tool_call(self, m: c.LlmToolCall) -> tuple[ReplyView, list[Shown]] | None:
        view = self._stream(m.msg_id, m.seq)
        if view is None:
            return None
        tools = sum(1 for p in view.pieces if isinstance(p, ShownChip) and is_tool_call_id(p.command_id))
        return view, [self._chip(view, tool_call_id(m.msg_id, tools))]

    def end(self, m: c.LlmDone | c.LlmError) -> ReplyView | None:
        """The reply has ended: the view to show as final, or None if the tabs have it."""
        view = self.replies.pop(m.msg_id, None) or self.ended.get(m.msg_id)
        if view is None:
            if self.store.message(m.msg_id):
                return None  # an end published again for the crud_worker's sake: the tabs have it
            view = ReplyView(id=m.msg_id)
        elif view.status in ("done", "cancelled", "failed"):
            return None  # a replayed end: already rendered
        self.splitters.pop(m.msg_id, None)
        self.next_seq.pop(m.msg_id, None)
        self.heard.pop(m.msg_id, None)
        view.text, view.model = m.text, m.model or view.model
        if isinstance(m, c.LlmDone):
            view.status, view.thinking, view.stop_reason = m.status, m.thinking or view.thinking, m.stop_reason
        else:
            view.status, view.error = "failed", m.error
        self.ended[m.msg_id] = view
        while len(self.ended) > ENDED_KEEP:
            self.ended.popitem(last=False)
        return view

    def forget(self, reply_id: str) -> None:
        """A reply of a message never stored (web/live/hub.py's `withdraw`)."""
        for views in (self.replies, self.ended, self.where):
            views.pop(reply_id, None)

    def quiet(self, seconds: float) -> list[ReplyView]:
        """Replies in flight with no news for `seconds`: their end may have been lost on the bus."""
        since = time.monotonic() - seconds
        return [v for v in self.replies.values() if self.heard.get(v.id, 0) < since]

    def hear(self, msg_id: str) -> None:
        self.heard[msg_id] = time.monotonic()

    def results_for(self, msg_ids: list[str]) -> dict[str, ChipResult]:
        """Command results of these replies: the stored ones, overlaid with any heard since."""
        return {**self.store.command_results(msg_ids), **self.results}

    def result(self, m: c.CommandResult) -> tuple[ChipResult, bool]:
        """The command's result, and whether its reply's Undo all may change too (undone, redone or decided
        after the reply ended)."""
        before = self.results.get(m.command_id)
        result = self.results[m.command_id] = ChipResult(m.ok, m.summary, m.state, m.action)
        while len(self.results) > RESULTS_KEEP:
            self.results.popitem(last=False)
        flipped = before.state != m.state if before else m.state != "done"
        return result, flipped and m.msg_id not in self.replies

    def stats(self, m: c.ReplyStats) -> None:
        """A reply's figures, kept with its view (a final bubble still rendering will carry them)."""
        view = self.replies.get(m.msg_id) or self.ended.get(m.msg_id)
        if view is not None:
            view.stats = m

    def task(self, m: c.TaskChanged) -> TaskSwap:
        """The change as the change (a group: its steps, in one event); the list after a gap in
        `change_seq` or a reorder (web/tasks/rows.py)."""
        gap = self.change_seq and (m.first_seq or m.change_seq) != self.change_seq + 1
        self.change_seq = max(self.change_seq, m.change_seq)
        if m.op == "group" and not gap:
            return "steps"
        if gap or m.op in ("reorder", "group") or m.task is None:
            return "list"
        return "step"

    def job(self, m: c.JobProgress) -> bool:
        """Keep a long job's progress; True when it is new (its card is added, not swapped)."""
        new = m.job_id not in self.jobs
        self.jobs[m.job_id] = m
        while len(self.jobs) > ENDED_KEEP:
            self.jobs.popitem(last=False)
        return new


def stored_end(m: StoredMessage) -> c.LlmDone | c.LlmError:
    """A stored reply's end, as the bus would have carried it."""
    if m.status == "failed":
        return c.LlmError(msg_id=m.id, seq=0, error=m.error or "", text=m.content, model=m.model or "")
    return c.LlmDone(msg_id=m.id, seq=0, text=m.content, status=m.status, model=m.model or "")
