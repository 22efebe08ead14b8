"""The chat over the event stream: each change of the in-flight state (web/live/inflight.py) as the
fragment every tab swaps in, and the whole log of a conversation (the page, a snapshot, a re-read).
Each element says its own swap (`hx_swap_oob`) where it is built."""

from __future__ import annotations

from fasthtml.common import Div

from bus import contract as c
from web.chat import bars, cards, views
from web.chips import chip, undo_all_swap
from web.fragment import append, to_html
from web.live.health import Processes
from web.live.inflight import InFlight, ReplyView, Shown, ShownChip, ShownText
from web.live.store import CHAT_PAGE, CHAT_PAGE_BYTES, Attempt, ChipResult
from web.render import speed_line
from web.render.pool import RenderCache

TO_LOG = "beforeend:#chat-log"  # an element added at the end of the chat log


class ChatStream:
    def __init__(self, inflight: InFlight, procs: Processes, cache: RenderCache):
        self.inflight, self.procs, self.cache = inflight, procs, cache

    def bubble(self, view: ReplyView, swap: str | None = None):
        if view.status in ("queued", "streaming"):
            return views.reply_bubble(view, self.inflight.results, swap)
        return views.reply_bubble(view, self.inflight.results_for([view.id]), swap,
                                  self.cache.final(view.id, view.text))

    def reply_bar(self, conversation_id: str, view: ReplyView, attempt: Attempt | None = None) -> Div | str:
        """A chat reply's Retry and attempts switcher (a follow-up or a comment has none)."""
        if view.kind not in ("chat", "help"):
            return ""
        if attempt is None:
            attempt = self.inflight.store.attempts(conversation_id).get(view.id)
        return bars.reply_bar(conversation_id, view.id, attempt, self.procs.status().models)

    def opened(self, m: c.ChatUser, view: ReplyView) -> str:
        """A person's message (or an agent's) and the reply it opened."""
        return to_html(Div(views.user_bubble(m.msg_id, m.text.strip(), c.agent_name(m.agent) if m.agent else ""),
                           bars.user_bar(m.conversation_id, m.msg_id, None),
                           self.bubble(view), self.reply_bar(m.conversation_id, view), hx_swap_oob=TO_LOG))

    def queued(self, m: c.ReplyQueued, view: ReplyView) -> str:
        return to_html(Div(self.bubble(view), self.reply_bar(m.conversation_id, view), hx_swap_oob=TO_LOG))

    @staticmethod
    def started(m: c.LlmStart) -> str:
        return to_html(views.model_label(m.msg_id, m.model, swap="true"))

    def pieces(self, view: ReplyView, shown: list[Shown]) -> str:
        """What a delta or a tool call added to a streaming reply: text, reasoning, chips."""
        out = []
        for piece in shown:
            if isinstance(piece, ShownText):
                out.append(append(f"body-{view.id}", piece.text))
            elif isinstance(piece, ShownChip):
                out.append(to_html(Div(chip(piece.command_id, self.inflight.results.get(piece.command_id)),
                                       hx_swap_oob=f"beforeend:#body-{view.id}")))
            elif piece.first:
                out.append(to_html(views.thinking_box(view.id, piece.text, swap="true")))
            else:
                out.append(append(f"think-{view.id}", piece.text))
        return "".join(out)

    def final(self, view: ReplyView) -> str:
        """An ended reply's swap, once its render is cached."""
        if view.kind == "comment" and view.status == "cancelled" and not view.text:
            return to_html(Div(id=f"msg-{view.id}", hx_swap_oob="delete"))
        return to_html(self.bubble(view, swap="true"))

    def result(self, m: c.CommandResult, result: ChipResult, reply_changed: bool) -> str:
        html = to_html(chip(m.command_id, result, swap="true"))
        if not reply_changed:
            return html
        return html + to_html(undo_all_swap(m.msg_id, self.inflight.results_for([m.msg_id])))

    @staticmethod
    def stats(m: c.ReplyStats) -> str:
        return to_html(speed_line.line(m.msg_id, m, swap="true"))

    @staticmethod
    def job(m: c.JobProgress, new: bool) -> str:
        if new:
            return to_html(Div(cards.job_card(m), hx_swap_oob=TO_LOG))
        return to_html(cards.job_card(m, swap="true"))

    def note(self, m: c.ChatNote) -> str:
        return to_html(Div(views.note(m.msg_id, m.kind, m.content, self.inflight.results), hx_swap_oob=TO_LOG))

    @staticmethod
    def withdrawn(user_id: str, reply_id: str) -> str:
        """A message the crud_worker never stored, and its reply: out of every tab."""
        return "".join(f'<div id="{i}" hx-swap-oob="delete"></div>' for i in
                       (f"msg-{user_id}", f"bar-{user_id}", f"msg-{reply_id}", f"bar-{reply_id}"))

    def items(self, conversation_id: str) -> list:
        """The conversation's log: its newest page as stored, then the replies the database doesn't hold yet."""
        page, unstored, attempts = self.inflight.page(conversation_id)
        models = self.procs.status().models
        chipped = [m.id for m in page.messages if m.role == "assistant" or m.kind == "agent"]
        results = self.inflight.results_for(chipped)
        items = []
        if page.older:
            items.append(Div(f"Older messages are not shown: the page holds the last {CHAT_PAGE} messages, "
                             f"at most {CHAT_PAGE_BYTES // 1000:,} KB of text.", cls="msg event older"))
        for m in page.messages:
            if m.role == "user" and m.kind in ("chat", "help"):
                items.append(views.user_bubble(m.id, m.content, m.model or ""))  # an agent's: its name
                items.append(bars.user_bar(conversation_id, m.id, attempts.get(m.id)))
            elif m.role == "user":
                items.append(views.note(m.id, m.kind, m.content, results))
            elif m.role == "assistant":
                if m.kind == "comment" and m.status == "cancelled" and not m.content:
                    continue
                view = ReplyView(id=m.id, kind=m.kind, status=m.status, text=m.content, error=m.error or "",
                                 model=m.model or "", stats=m.stats)
                items.append(views.reply_bubble(view, results, rendered=self.cache.final(m.id, m.content)))
                if m.kind in ("chat", "help"):
                    items.append(bars.reply_bar(conversation_id, m.id, attempts.get(m.id), models))
        for view in unstored:
            items += [self.bubble(view), self.reply_bar(conversation_id, view, attempts.get(view.id))]
        items.extend(cards.job_card(j) for j in self.inflight.jobs.values() if j.state == "running")
        return items

    def log_swap(self, conversation_id: str) -> str:
        return to_html(views.chat_log(self.items(conversation_id), swap="true"))
