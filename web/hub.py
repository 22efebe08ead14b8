"""The web process's one bus subscription: turn each message into a fragment for every tab,
answer request/reply round trips to the crud_worker, and keep the status line current."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable

from fasthtml.common import Div

from bus import contract as c, tables
from bus.client import Bus, JobSender, new_id
from web import components as ui, conversation_ui, status_ui
from web.fanout import Fanout
from web.live import Live, stored_end
from web.renderer import RenderCache, Renderer
from web.startup import Startup
from web.store import CHAT_PAGE, CHAT_PAGE_BYTES, ChatPage, Store

log = logging.getLogger(__name__)
REQUEST_TIMEOUT_S = 5.0
QUIET_S = 2.0  # a reply in flight this quiet, and on no worker's active list, has lost its end
# Every message Hub.handle takes (tests/docs/test_subscriptions.py holds this to its cases); the web subscribes
# to these and no more (not to its own requests to the crud_worker, nor the cancels it sends the workers).
HEARD: tuple[type[c.Msg], ...] = (
    c.LlmStart, c.LlmDelta, c.LlmToolCall, c.LlmDone, c.LlmError, c.CommandResult, c.TaskChanged, c.ChatUser,
    c.ReplyQueued, c.ConversationChanged, c.ReplyStats, c.ChatNote, c.UiAlert, c.SettingChanged, c.JobProgress,
    c.CrudReply, c.Health)
TOPICS = ["health." if kind is c.Health else c.TOPIC_OF[kind] for kind in HEARD]


class CrudUnavailable(Exception):
    pass


class Hub:
    def __init__(self, bus: Bus, store: Store, jobs: JobSender):
        self.bus = bus
        self.jobs = jobs
        self.store = store
        cache = RenderCache()
        self.renderer = Renderer(cache)
        self.live = Live(store, cache)
        self._ending: set[asyncio.Task] = set()
        self.fanout = Fanout(epoch=new_id()[:8])
        self.pending: dict[str, asyncio.Future] = {}
        self.shown_status: status_ui.Status | None = None
        self.startup = Startup()
        self.listeners: list[Callable[[c.Msg], None]] = []  # also told of every bus message (web/mcp)
        self.withdrawn: OrderedDict[str, None] = OrderedDict()  # replies of messages never stored (withdraw)

    async def request(self, msg: c.ChatUser | c.CrudRequest | c.UndoRequest | c.ApproveRequest | c.PolicyRequest
                      | c.AgentCall | c.ConversationRequest | c.RetryRequest) -> c.CrudReply:
        """Publish a request to the crud_worker and wait for its answer."""
        await self.startup.wait_for("crud_worker")
        if not self.live.up("crud_worker"):
            raise CrudUnavailable("The database worker (crud_worker) is not running, so nothing can be saved "
                                  "right now. It restarts by itself; try again in a moment.")
        fut = self.pending[msg.req_id] = asyncio.get_running_loop().create_future()
        try:
            await self.bus.publish(msg)
            return await asyncio.wait_for(fut, REQUEST_TIMEOUT_S)
        except TimeoutError:
            error = "The database worker (crud_worker) did not answer in time. Try again in a moment."
            if isinstance(msg, c.ChatUser) and msg.reply_id in self.live.replies:
                # Its bubbles went out as it crossed the bus: end the reply rather than leave it spinning.
                self.end(c.LlmError(msg_id=msg.reply_id, seq=0, error=error, kind="crud"))
            raise CrudUnavailable(error) from None
        finally:
            self.pending.pop(msg.req_id, None)

    async def run(self) -> None:
        """Started once the bus handshake is done."""
        self.startup.bus_ready.set()
        async for m in self.bus.messages():
            if isinstance(m, c.TaskChanged):
                await self.live.rows.warm(m)  # a big group renders a chunk at a time; nothing overtakes it
            self.handle(m)

    def emit_in(self, msg_id: str, html: str) -> None:
        """An event of a reply: to the tabs showing its conversation (and those following every one)."""
        self.fanout.emit(html, self.live.conversation_of(msg_id) if html else None)

    def withdraw(self, user_id: str, reply_id: str) -> None:
        """A message the crud_worker never stored (it was down, slow, or refused it): its bubbles went out as
        it crossed the bus; take them out of every tab and out of what a reload shows."""
        conversation = self.live.conversation_of(reply_id)
        for views in (self.live.replies, self.live.ended, self.live.where):
            views.pop(reply_id, None)
        self.withdrawn[reply_id] = None  # the crud_worker's own end of it, if one comes, shows nothing
        while len(self.withdrawn) > 1000:
            self.withdrawn.popitem(last=False)
        gone = "".join(f'<div id="{i}" hx-swap-oob="delete"></div>' for i in
                       (f"msg-{user_id}", f"bar-{user_id}", f"msg-{reply_id}", f"bar-{reply_id}"))
        self.fanout.emit(gone, conversation or None)

    def handle(self, m: c.Msg) -> None:
        live, emit = self.live, self.fanout.emit
        for listener in self.listeners:
            listener(m)
        match m:
            case c.LlmDelta():
                self.emit_in(m.msg_id, live.on_delta(m))
            case c.LlmStart():
                self.emit_in(m.msg_id, live.on_start(m))
            case c.LlmToolCall():
                self.emit_in(m.msg_id, live.on_tool_call(m))
            case c.LlmDone() | c.LlmError():
                self.end(m)
            case c.CommandResult():
                self.emit_in(m.msg_id, live.on_result(m))
            case c.TaskChanged():
                emit(live.on_task(m))
            case c.ChatUser():
                emit(live.on_chat_user(m), m.conversation_id)
            case c.ReplyQueued():
                emit(live.on_queued(m), m.conversation_id)
            case c.ConversationChanged():
                self.on_conversation(m)
            case c.ReplyStats():
                self.emit_in(m.msg_id, live.on_stats(m))
            case c.ChatNote():
                note = ui.note(m.msg_id, m.kind, m.content, live.results)
                emit(ui.to_html(Div(note, hx_swap_oob="beforeend:#chat-log")), m.conversation_id or None)
            case c.UiAlert():
                emit(ui.to_html(ui.toast(m.text)))
            case c.SettingChanged(key=tables.MODEL, value=value):
                live.chosen_model = value
                self.refresh_status()
            case c.JobProgress():
                emit(live.on_job(m))
            case c.CrudReply():
                if (fut := self.pending.get(m.req_id)) and not fut.done():
                    fut.set_result(m)
            case c.Health():
                live.on_health(m)
                self.startup.on_health(m.proc)
                self.refresh_status()

    def end(self, m: c.LlmDone | c.LlmError) -> None:
        """A reply ended: its final bubble goes out once rendered (off the event loop, so the other
        replies' events and every request go on meanwhile)."""
        if m.msg_id in self.withdrawn:
            return
        view = self.live.on_end(m)
        if view is None:
            return
        if self.live.rendered(view.id, view.text) is not None:
            self.emit_in(view.id, self.live.final(view))
            return

        async def render_then_emit() -> None:
            await self.renderer.render(view.id, view.text)
            self.emit_in(view.id, self.live.final(view))

        task = asyncio.create_task(render_then_emit())
        self._ending.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task) -> None:
        self._ending.discard(task)
        if not task.cancelled() and task.exception():
            log.error("a final bubble could not be rendered", exc_info=task.exception())

    def refresh_status(self) -> None:
        status = self.live.status()
        if status != self.shown_status:
            self.shown_status = status
            self.fanout.emit(ui.to_html(status_ui.status_line(status, swap="true")))

    async def watch_health(self) -> None:
        """Heartbeats stop when a process dies; notice the silence, not just the messages."""
        while True:
            await asyncio.sleep(1.0)
            self.live.forget_stale()
            self.refresh_status()
            await self.heal_quiet_replies()

    async def heal_quiet_replies(self) -> None:
        """PUB/SUB drops what is published while the broker restarts, a reply's end included: take a
        quiet reply's end from the database if the crud_worker stored it, else ask its worker again."""
        active = {msg_id for h in self.live.llm_workers() for msg_id in h.active}
        for view in self.live.quiet(QUIET_S):
            stored = self.store.message(view.id)
            if stored is not None and stored.role == "assistant":
                view.stats = stored.stats  # its reply.stats was lost with its end
                self.end(stored_end(stored))
            elif view.status == "streaming" and view.id not in active:
                self.live.hear(view.id)  # ask at most once per quiet spell
                await self.bus.publish(c.LlmResend(msg_id=view.id))

    def on_conversation(self, m: c.ConversationChanged) -> None:
        """The list changed in every tab (each highlights its own); a tab showing the conversation re-reads
        its messages when its attempts changed, and is told when it was deleted."""
        items = self.store.conversations()
        for shown in self.fanout.shown():
            if shown is None:
                continue
            current = self.store.conversation(shown) or self.store.conversation(c.DEFAULT_CONVERSATION)
            self.fanout.emit(ui.to_html(conversation_ui.drawer(items, current, swap="true")), shown)
        if m.op == "attempts":
            self.fanout.emit(self.chat_log_swap(m.conversation_id), m.conversation_id)
        elif m.op == "delete":
            self.fanout.emit(ui.to_html(conversation_ui.gone(m.conversation_id)), m.conversation_id)

    def _page(self, conversation_id: str) -> tuple[ChatPage, list[ui.ReplyView], dict]:
        """The newest page of the conversation as stored, the replies the database doesn't hold yet, and
        its attempts."""
        page = self.store.messages(conversation_id)
        attempts = self.store.attempts(conversation_id)
        shown = {m.id for m in page.messages}
        recent = [v for v in self.live.shown_live(conversation_id, attempts) if v.id not in shown]
        stored_elsewhere = self.store.existing(v.id for v in recent)  # older than this page, or hidden: not shown
        return page, [v for v in recent if v.id not in stored_elsewhere], attempts

    async def warm(self, conversation_id: str) -> None:
        """Render (off the event loop) every ended reply the page will show, so that `chat_items`, which
        runs without a pause between reading the state and subscribing a tab, finds them cached."""
        page, unstored, _ = self._page(conversation_id)
        for m in page.messages:
            if m.role == "assistant" and m.content:
                await self.renderer.render(m.id, m.content)
        for v in unstored:
            if v.status not in ("queued", "streaming") and v.text:
                await self.renderer.render(v.id, v.text)

    def chat_items(self, conversation_id: str) -> list:
        page, unstored, attempts = self._page(conversation_id)
        models = self.live.status().models
        messages = page.messages
        results = self.live.results_for([m.id for m in messages if m.role == "assistant" or m.kind == "agent"])
        items = []
        if page.older:
            items.append(Div(f"Older messages are not shown: the page holds the last {CHAT_PAGE} messages, "
                             f"at most {CHAT_PAGE_BYTES // 1000:,} KB of text.", cls="msg event older"))
        for m in messages:
            if m.role == "user" and m.kind in ("chat", "help"):
                items.append(ui.user_bubble(m.id, m.content, m.model or ""))  # an agent's: its name
                items.append(conversation_ui.user_bar(conversation_id, m.id, attempts.get(m.id)))
            elif m.role == "user":
                items.append(ui.note(m.id, m.kind, m.content, results))
            elif m.role == "assistant":
                if m.kind == "comment" and m.status == "cancelled" and not m.content:
                    continue
                view = ui.ReplyView(id=m.id, kind=m.kind, status=m.status, text=m.content, error=m.error or "",
                                    model=m.model or "", stats=m.stats)
                items.append(ui.reply_bubble(view, results, rendered=self.live.rendered(m.id, m.content)))
                if m.kind in ("chat", "help"):
                    items.append(conversation_ui.reply_bar(conversation_id, m.id, attempts.get(m.id), models))
        for view in unstored:
            items += [self.live.bubble(view), self.live.reply_bar(conversation_id, view, attempts.get(view.id))]
        items.extend(status_ui.job_card(j) for j in self.live.jobs.values() if j.state == "running")
        return items

    def chat_log_swap(self, conversation_id: str) -> str:
        return ui.to_html(ui.chat_log(self.chat_items(conversation_id), swap="true"))

    def snapshot(self, conversation_id: str) -> str:
        """Everything a tab shows, as out-of-band swaps: sent when a reconnect can't be replayed."""
        status = status_ui.status_line(self.live.status(), swap="true")
        return self.chat_log_swap(conversation_id) + self.live.task_list_swap() + ui.to_html(status)
