"""The web process's one bus subscription: turn each message into a fragment for every tab,
answer request/reply round trips to the crud_worker, and keep the status line current."""

from __future__ import annotations

import asyncio
import logging

from fasthtml.common import Div

from bus import contract as c
from bus.client import Bus, JobSender, new_id
from web import components as ui
from web.fanout import Fanout
from web.live import Live, stored_end
from web.renderer import RenderCache, Renderer
from web.startup import Startup
from web.store import CHAT_PAGE, CHAT_PAGE_BYTES, ChatPage, Store

log = logging.getLogger(__name__)
REQUEST_TIMEOUT_S = 5.0
QUIET_S = 2.0  # a reply in flight this quiet, and on no worker's active list, has lost its end
TOPICS = ["chat.", "reply.", "llm.", "task.", "command.", "crud.reply", "ui.", "health.", "settings.", "job."]


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
        self.shown_status: ui.Status | None = None
        self.startup = Startup()

    async def request(self, msg: c.ChatUser | c.CrudRequest | c.UndoRequest | c.ApproveRequest | c.PolicyRequest
                      ) -> c.CrudReply:
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
            self.handle(m)

    def handle(self, m: c.Msg) -> None:
        live, emit = self.live, self.fanout.emit
        match m:
            case c.LlmDelta():
                emit(live.on_delta(m))
            case c.LlmStart():
                emit(live.on_start(m))
            case c.LlmToolCall():
                emit(live.on_tool_call(m))
            case c.LlmDone() | c.LlmError():
                self.end(m)
            case c.CommandResult():
                emit(live.on_result(m))
            case c.TaskChanged():
                emit(live.on_task(m))
            case c.ChatUser():
                emit(live.on_chat_user(m))
            case c.ReplyQueued():
                emit(live.on_queued(m))
            case c.ReplyStats():
                emit(live.on_stats(m))
            case c.ChatNote():
                emit(ui.to_html(Div(ui.note(m.msg_id, m.kind, m.content), hx_swap_oob="beforeend:#chat-log")))
            case c.UiAlert():
                emit(ui.to_html(ui.toast(m.text)))
            case c.SettingChanged(key="model", value=value):
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
        view = self.live.on_end(m)
        if view is None:
            return
        if self.live.rendered(view.id, view.text) is not None:
            self.fanout.emit(self.live.final(view))
            return

        async def render_then_emit() -> None:
            await self.renderer.render(view.id, view.text)
            self.fanout.emit(self.live.final(view))

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
            self.fanout.emit(ui.to_html(ui.status_line(status, swap="true")))

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

    def _page(self) -> tuple[ChatPage, list[ui.ReplyView]]:
        """The newest page of the conversation as stored, and the replies the database doesn't hold yet."""
        page = self.store.messages()
        shown = {m.id for m in page.messages}
        recent = [v for v in [*self.live.ended.values(), *self.live.replies.values()] if v.id not in shown]
        stored_elsewhere = self.store.existing(v.id for v in recent)  # older than this page: not shown
        return page, [v for v in recent if v.id not in stored_elsewhere]

    async def warm(self) -> None:
        """Render (off the event loop) every ended reply the page will show, so that `chat_items`, which
        runs without a pause between reading the state and subscribing a tab, finds them cached."""
        page, unstored = self._page()
        for m in page.messages:
            if m.role == "assistant" and m.content:
                await self.renderer.render(m.id, m.content)
        for v in unstored:
            if v.status not in ("queued", "streaming") and v.text:
                await self.renderer.render(v.id, v.text)

    def chat_items(self) -> list:
        page, unstored = self._page()
        messages = page.messages
        results = self.live.results_for([m.id for m in messages if m.role == "assistant"])
        items = []
        if page.older:
            items.append(Div(f"Older messages are not shown: the page holds the last {CHAT_PAGE} messages, "
                             f"at most {CHAT_PAGE_BYTES // 1000:,} KB of text.", cls="msg event older"))
        for m in messages:
            if m.role == "user" and m.kind in ("chat", "help"):
                items.append(ui.user_bubble(m.id, m.content))
            elif m.role == "user":
                items.append(ui.note(m.id, m.kind, m.content))
            elif m.role == "assistant":
                if m.kind == "comment" and m.status == "cancelled" and not m.content:
                    continue
                view = ui.ReplyView(id=m.id, kind=m.kind, status=m.status, text=m.content, error=m.error or "",
                                    model=m.model or "", stats=m.stats)
                items.append(ui.reply_bubble(view, results, rendered=self.live.rendered(m.id, m.content)))
        items.extend(self.live.bubble(view) for view in unstored)
        items.extend(ui.job_card(j) for j in self.live.jobs.values() if j.state == "running")
        return items

    def snapshot(self) -> str:
        """Everything a tab shows, as out-of-band swaps: sent when a reconnect can't be replayed."""
        log_div = ui.chat_log(self.chat_items(), swap="true")
        status = ui.status_line(self.live.status(), swap="true")
        return ui.to_html(log_div) + self.live.task_list_swap() + ui.to_html(status)
