"""What the web process knows between database reads: replies in flight, command results,
each process's health. Every bus message becomes at most one SSE fragment here."""

from __future__ import annotations

import time
from collections import OrderedDict

from fasthtml.common import Div

from bus import contract as c, tables
from commands import bang
from commands.ids import commands_of, is_tool_call_id, tool_call_id
from commands.splitter import Block, CommandSplitter, Hidden, Piece, Thinking
from web import components as ui, conversation_ui, reply_meta, status_ui, trust_ui
from web.render import Rendered
from web.renderer import RenderCache
from web.store import ChipResult, StoredMessage, Store
from web.task_rows import Rows

ENDED_KEEP = 200
RESULTS_KEEP = 5_000
STALE_S = 3.5
PROCS = ("broker", "crud_worker", "llm_worker")


class Live:
    def __init__(self, store: Store, cache: RenderCache):
        self.store = store
        self.cache = cache
        self.rows = Rows(store)
        self.replies: dict[str, ui.ReplyView] = {}
        self.splitters: dict[str, CommandSplitter] = {}
        self.next_seq: dict[str, int] = {}
        self.ended: OrderedDict[str, ui.ReplyView] = OrderedDict()
        self.results: OrderedDict[str, ChipResult] = OrderedDict()
        self.health: dict[str, c.Health] = {}
        self.seen: dict[str, float] = {}
        self.change_seq = 0
        self.chosen_model = store.setting(tables.MODEL)
        self.jobs: OrderedDict[str, c.JobProgress] = OrderedDict()
        self.heard: dict[str, float] = {}  # when each reply in flight last had news
        # Each reply's conversation and the chat reply whose attempt it is, as `chat.user` / `reply.queued`
        # said ("" if we joined it late: its events then go only to tabs following every conversation).
        self.where: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def open_reply(self, msg_id: str, kind: str = "chat", conversation: str = "",
                   answer: str = "") -> tuple[ui.ReplyView, bool]:
        if conversation:
            self.where[msg_id] = (conversation, answer)
            while len(self.where) > RESULTS_KEEP:
                self.where.popitem(last=False)
        if msg_id in self.replies:
            return self.replies[msg_id], False
        if msg_id in self.ended:
            return self.ended[msg_id], False
        view = self.replies[msg_id] = ui.ReplyView(id=msg_id, kind=kind)
        self.hear(msg_id)
        self.splitters[msg_id] = CommandSplitter()
        self.next_seq[msg_id] = 0
        return view, True

    def conversation_of(self, msg_id: str) -> str:
        """The reply's conversation ("" when unknown: its events go only to tabs following every one)."""
        if msg_id in self.where:
            return self.where[msg_id][0]
        return self.store.conversation_of(msg_id) or ""

    def on_chat_user(self, m: c.ChatUser) -> str:
        if m.edit_of:
            return ""  # shown once the crud_worker took it (`conversation.changed`): it may be refused
        kind = "help" if isinstance(bang.parse(m.text), bang.Help) else "chat"  # its bubble heads with the card
        view, new = self.open_reply(m.reply_id, kind, conversation=m.conversation_id, answer=m.reply_id)
        if not new:
            return ""
        text = m.text.strip()
        return ui.to_html(Div(ui.user_bubble(m.msg_id, text, c.agent_name(m.agent) if m.agent else ""),
                              conversation_ui.user_bar(m.conversation_id, m.msg_id, None),
                              self.bubble(view), self.reply_bar(m.conversation_id, view),
                              hx_swap_oob="beforeend:#chat-log"))

    def on_queued(self, m: c.ReplyQueued) -> str:
        view, new = self.open_reply(m.msg_id, m.kind, m.conversation_id, m.answer)
        if not new:
            return ""
        return ui.to_html(Div(self.bubble(view), self.reply_bar(m.conversation_id, view),
                              hx_swap_oob="beforeend:#chat-log"))

    def reply_bar(self, conversation_id: str, view: ui.ReplyView, attempt=None) -> Div | str:
        """A chat reply's Retry and attempts switcher (a follow-up or a comment has none)."""
        if view.kind not in ("chat", "help"):
            return ""
        if attempt is None:
            attempt = self.store.attempts(conversation_id).get(view.id)
        return conversation_ui.reply_bar(conversation_id, view.id, attempt, self.status().models)

    def shown_live(self, conversation_id: str, chosen: dict) -> list[ui.ReplyView]:
        """Replies in flight or just ended in this conversation, but not of an attempt not chosen."""
        out = []
        for v in [*self.ended.values(), *self.replies.values()]:
            where, answer = self.where.get(v.id, ("", ""))
            if where == conversation_id and (answer not in chosen or chosen[answer].chosen):
                out.append(v)
        return out

    def _stream(self, msg_id: str, seq: int) -> ui.ReplyView | None:
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

    def on_start(self, m: c.LlmStart) -> str:
        view = self._stream(m.msg_id, m.seq)
        if view is None:
            return ""
        view.status, view.model = "streaming", m.model
        return ui.to_html(ui.model_label(m.msg_id, m.model, swap="true"))

    def on_delta(self, m: c.LlmDelta) -> str:
        view = self._stream(m.msg_id, m.seq)
        if view is None:
            return ""
        view.status = "streaming"
        out = [self._think(view, m.thinking)] if m.thinking else []
        splitter = self.splitters.get(m.msg_id)
        if m.text and splitter is not None:
            for piece in splitter.feed(m.text):
                out.append(self._piece(view, piece))
        return "".join(out)

    def _think(self, view: ui.ReplyView, text: str) -> str:
        """Reasoning, whether the backend reported it apart or the model wrote it in <think> tags."""
        first = not view.thinking
        view.thinking += text
        if first:
            return ui.to_html(ui.thinking_box(view, swap="true"))
        return ui.append(f"think-{view.id}", text)

    def _piece(self, view: ui.ReplyView, piece: Piece) -> str:
        if isinstance(piece, Block):
            return "".join(self._chip(view, found.command_id) for found in commands_of(view.id, piece))
        if isinstance(piece, Thinking):
            return self._think(view, piece.text) if piece.text else ""
        if isinstance(piece, Hidden) or not piece.text:
            return ""  # fence lines around a command are never shown
        view.pieces.append(ui.ShownText(piece.text))
        return ui.append(f"body-{view.id}", piece.text)

    def _chip(self, view: ui.ReplyView, command_id: str) -> str:
        view.pieces.append(ui.ShownChip(command_id))
        return ui.to_html(Div(ui.chip(command_id, self.results.get(command_id)), hx_swap_oob=f"beforeend:#body-{view.id}"))

    def on_tool_call(self, m: c.LlmToolCall) -> str:
        view = self._stream(m.msg_id, m.seq)
        if view is None:
            return ""
        tools = sum(1 for p in view.pieces if isinstance(p, ui.ShownChip) and is_tool_call_id(p.command_id))
        return self._chip(view, tool_call_id(m.msg_id, tools))

    def on_end(self, m: c.LlmDone | c.LlmError) -> ui.ReplyView | None:
        """The reply has ended: the view to show as final (see `final`), or None if the tabs have it."""
        view = self.replies.pop(m.msg_id, None) or self.ended.get(m.msg_id)
        if view is None:
            if self.store.message(m.msg_id):
                return None  # an end published again for the crud_worker's sake: the tabs have it
            view = ui.ReplyView(id=m.msg_id)
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

    def final(self, view: ui.ReplyView) -> str:
        """An ended reply's swap, once its render is cached (`rendered`)."""
        if view.kind == "comment" and view.status == "cancelled" and not view.text:
            return ui.to_html(Div(id=f"msg-{view.id}", hx_swap_oob="delete"))
        return ui.to_html(self.bubble(view, swap="true"))

    def rendered(self, msg_id: str, text: str) -> Rendered | None:
        return self.cache.get(msg_id, text) if text else Rendered("", ())

    def quiet(self, seconds: float) -> list[ui.ReplyView]:
        """Replies in flight with no news for `seconds`: their end may have been lost on the bus."""
        since = time.monotonic() - seconds
        return [v for v in self.replies.values() if self.heard.get(v.id, 0) < since]

    def hear(self, msg_id: str) -> None:
        self.heard[msg_id] = time.monotonic()

    def results_for(self, msg_ids: list[str]) -> dict[str, ChipResult]:
        """Command results of these replies: the stored ones, overlaid with any heard since."""
        return {**self.store.command_results(msg_ids), **self.results}

    def on_result(self, m: c.CommandResult) -> str:
        before = self.results.get(m.command_id)
        result = self.results[m.command_id] = ChipResult(m.ok, m.summary, m.state, m.action)
        while len(self.results) > RESULTS_KEEP:
            self.results.popitem(last=False)
        chip = ui.to_html(ui.chip(m.command_id, result, swap="true"))
        flipped = before.state != m.state if before else m.state != "done"
        if not flipped or m.msg_id in self.replies:
            return chip
        # Undone, redone or decided after the reply ended: its Undo all may change too.
        return chip + ui.to_html(trust_ui.undo_all_swap(m.msg_id, self.results_for([m.msg_id])))

    def on_stats(self, m: c.ReplyStats) -> str:
        """A reply's figures: kept with its view (a final bubble still rendering will carry them) and
        swapped into its line."""
        view = self.replies.get(m.msg_id) or self.ended.get(m.msg_id)
        if view is not None:
            view.stats = m
        return ui.to_html(reply_meta.line(m.msg_id, m, swap="true"))

    def bubble(self, view: ui.ReplyView, swap: str | None = None):
        if view.status in ("queued", "streaming"):
            return ui.reply_bubble(view, self.results, swap)
        return ui.reply_bubble(view, self.results_for([view.id]), swap, self.rendered(view.id, view.text))

    def on_task(self, m: c.TaskChanged) -> str:
        """The change as the change (a group: its steps, in one event); the list's first page after a gap
        in `change_seq` or a reorder (web/task_rows.py)."""
        gap = self.change_seq and (m.first_seq or m.change_seq) != self.change_seq + 1
        self.change_seq = max(self.change_seq, m.change_seq)
        if m.op == "group" and not gap:
            return self.rows.group(m)
        if gap or m.op in ("reorder", "group") or m.task is None:
            return self.task_list_swap()
        return self.rows.step(m.op, m.task, m.before_id)

    def task_list_swap(self) -> str:
        return self.rows.list_swap()

    def on_health(self, m: c.Health) -> None:
        self.health[m.instance] = m
        self.seen[m.instance] = time.monotonic()

    def up(self, proc: str) -> bool:
        now = time.monotonic()
        return any(h.proc == proc and now - self.seen[i] < STALE_S for i, h in self.health.items())

    def llm_workers(self) -> list[c.Health]:
        now = time.monotonic()
        return [h for i, h in self.health.items() if h.proc == "llm_worker" and now - self.seen[i] < STALE_S]

    def on_job(self, m: c.JobProgress) -> str:
        new = m.job_id not in self.jobs
        self.jobs[m.job_id] = m
        while len(self.jobs) > ENDED_KEEP:
            self.jobs.popitem(last=False)
        if new:
            return ui.to_html(Div(status_ui.job_card(m), hx_swap_oob="beforeend:#chat-log"))
        return ui.to_html(status_ui.job_card(m, swap="true"))

    def status(self) -> status_ui.Status:
        workers = self.llm_workers()
        lead = workers[0] if workers else None
        models = tuple(lead.models) if lead else ()
        chosen = self.chosen_model if self.chosen_model in models else ""
        return status_ui.Status(procs={p: self.up(p) for p in PROCS}, backend=lead.backend if lead else "",
                         model=chosen or (lead.model if lead else ""), models=models,
                         reachable=lead.reachable if lead else False,
                         note=lead.note if lead else "No LLM worker is running, so replies will wait.",
                         workers=len(workers))

    def forget_stale(self) -> None:
        cutoff = time.monotonic() - 60
        for i in [i for i, t in self.seen.items() if t < cutoff]:
            self.seen.pop(i)
            self.health.pop(i)


def stored_end(m: StoredMessage) -> c.LlmDone | c.LlmError:
    """A stored reply's end, as the bus would have carried it."""
    if m.status == "failed":
        return c.LlmError(msg_id=m.id, seq=0, error=m.error or "", text=m.content, model=m.model or "")
    return c.LlmDone(msg_id=m.id, seq=0, text=m.content, status=m.status, model=m.model or "")
