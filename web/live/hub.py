"""The web process's one bus subscription: keep the state each message changes, send every tab the
fragment of the change (made by the screen: web/page/screen.py), answer request/reply round trips to
the crud_worker, and keep the status line current. The hub itself builds no HTML."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from bus import contract as c, tables
from bus.client import Bus, JobSender, new_id
from web.live.fanout import Fanout
from web.live.health import Processes, Status
from web.live.inflight import InFlight, ReplyView, Shown, TaskSwap, stored_end
from web.live.startup import Startup
from web.live.store import ChipResult, Store
from web.render.pool import RenderCache, Renderer

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


class Screen(Protocol):
    """The fragments of each change, for every tab (web/page/screen.py, which also holds the chat's stream
    and the list's rows that GET / and GET /tasks/rows build from)."""

    async def prepare(self, m: c.TaskChanged) -> None: ...
    def tasks(self, m: c.TaskChanged, how: TaskSwap) -> str: ...
    def opened(self, m: c.ChatUser, view: ReplyView) -> str: ...
    def queued(self, m: c.ReplyQueued, view: ReplyView) -> str: ...
    def started(self, m: c.LlmStart) -> str: ...
    def pieces(self, view: ReplyView, shown: list[Shown]) -> str: ...
    def final(self, view: ReplyView) -> str: ...
    def result(self, m: c.CommandResult, result: ChipResult, reply_changed: bool) -> str: ...
    def stats(self, m: c.ReplyStats) -> str: ...
    def job(self, m: c.JobProgress, new: bool) -> str: ...
    def note(self, m: c.ChatNote) -> str: ...
    def alert(self, m: c.UiAlert) -> str: ...
    def status(self, status: Status) -> str: ...
    def conversation(self, m: c.ConversationChanged, shown: set[str | None]) -> list[tuple[str, str]]: ...
    def withdrawn(self, user_id: str, reply_id: str) -> str: ...
    def snapshot(self, conversation_id: str) -> str: ...


class Hub:
    def __init__(self, bus: Bus, store: Store, jobs: JobSender, screen: Callable[[Hub], Screen]):
        self.bus = bus
        self.jobs = jobs
        self.store = store
        self.renderer = Renderer(RenderCache())
        self.inflight = InFlight(store)
        self.procs = Processes(store.setting(tables.MODEL))
        self._ending: set[asyncio.Task] = set()
        self.fanout = Fanout(epoch=new_id()[:8])
        self.pending: dict[str, asyncio.Future] = {}
        self.shown_status: Status | None = None
        self.startup = Startup()
        self.listeners: list[Callable[[c.Msg], None]] = []  # also told of every bus message (web/mcp)
        self.withdrawn: OrderedDict[str, None] = OrderedDict()  # replies of messages never stored (withdraw)
        self.screen = screen(self)

    async def request(self, msg: c.ChatUser | c.CrudRequest | c.UndoRequest | c.ApproveRequest | c.PolicyRequest
                      | c.AgentCall | c.ConversationRequest | c.RetryRequest) -> c.CrudReply:
        """Publish a request to the crud_worker and wait for its answer."""
        await self.startup.wait_for("crud_worker")
        if not self.procs.up("crud_worker"):
            raise CrudUnavailable("The database worker (crud_worker) is not running, so nothing can be saved "
                                  "right now. It restarts by itself; try again in a moment.")
        fut = self.pending[msg.req_id] = asyncio.get_running_loop().create_future()
        try:
            await self.bus.publish(msg)
            return await asyncio.wait_for(fut, REQUEST_TIMEOUT_S)
        except TimeoutError:
            error = "The database worker (crud_worker) did not answer in time. Try again in a moment."
            if isinstance(msg, c.ChatUser) and msg.reply_id in self.inflight.replies:
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
                await self.screen.prepare(m)  # a big group renders a chunk at a time; nothing overtakes it
            self.handle(m)

    def emit_in(self, msg_id: str, html: str) -> None:
        """An event of a reply: to the tabs showing its conversation (and those following every one)."""
        self.fanout.emit(html, self.inflight.conversation_of(msg_id) if html else None)

    def withdraw(self, user_id: str, reply_id: str) -> None:
        """A message the crud_worker never stored (it was down, slow, or refused it): its bubbles went out as
        it crossed the bus; take them out of every tab and out of what a reload shows."""
        conversation = self.inflight.conversation_of(reply_id)
        self.inflight.forget(reply_id)
        self.withdrawn[reply_id] = None  # the crud_worker's own end of it, if one comes, shows nothing
        while len(self.withdrawn) > 1000:
            self.withdrawn.popitem(last=False)
        self.fanout.emit(self.screen.withdrawn(user_id, reply_id), conversation or None)

    def handle(self, m: c.Msg) -> None:
        inflight, screen, emit = self.inflight, self.screen, self.fanout.emit
        for listener in self.listeners:
            listener(m)
        match m:
            case c.LlmDelta() | c.LlmToolCall():
                added = inflight.delta(m) if isinstance(m, c.LlmDelta) else inflight.tool_call(m)
                if added is not None:
                    self.emit_in(m.msg_id, screen.pieces(*added))
            case c.LlmStart():
                if inflight.start(m) is not None:
                    self.emit_in(m.msg_id, screen.started(m))
            case c.LlmDone() | c.LlmError():
                self.end(m)
            case c.CommandResult():
                self.emit_in(m.msg_id, screen.result(m, *inflight.result(m)))
            case c.TaskChanged():
                emit(screen.tasks(m, inflight.task(m)))
            case c.ChatUser():
                if (view := inflight.chat_user(m)) is not None:
                    emit(screen.opened(m, view), m.conversation_id)
            case c.ReplyQueued():
                if (view := inflight.queued(m)) is not None:
                    emit(screen.queued(m, view), m.conversation_id)
            case c.ConversationChanged():
                for html, conversation_id in screen.conversation(m, self.fanout.shown()):
                    emit(html, conversation_id)
            case c.ReplyStats():
                inflight.stats(m)
                self.emit_in(m.msg_id, screen.stats(m))
            case c.ChatNote():
                emit(screen.note(m), m.conversation_id or None)
            case c.UiAlert():
                emit(screen.alert(m))
            case c.SettingChanged(key=tables.MODEL, value=value):
                self.procs.chosen_model = value
                self.refresh_status()
            case c.JobProgress():
                emit(screen.job(m, inflight.job(m)))
            case c.CrudReply():
                if (fut := self.pending.get(m.req_id)) and not fut.done():
                    fut.set_result(m)
            case c.Health():
                self.procs.on_health(m)
                self.startup.on_health(m.proc)
                self.refresh_status()

    def end(self, m: c.LlmDone | c.LlmError) -> None:
        """A reply ended: its final bubble goes out once rendered (off the event loop, so the other
        replies' events and every request go on meanwhile)."""
        if m.msg_id in self.withdrawn:
            return
        view = self.inflight.end(m)
        if view is None:
            return
        if self.renderer.cache.final(view.id, view.text) is not None:
            self.emit_in(view.id, self.screen.final(view))
            return

        async def render_then_emit() -> None:
            await self.renderer.render(view.id, view.text)
            self.emit_in(view.id, self.screen.final(view))

        task = asyncio.create_task(render_then_emit())
        self._ending.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task) -> None:
        self._ending.discard(task)
        if not task.cancelled() and task.exception():
            log.error("a final bubble could not be rendered", exc_info=task.exception())

    def refresh_status(self) -> None:
        status = self.procs.status()
        if status != self.shown_status:
            self.shown_status = status
            self.fanout.emit(self.screen.status(status))

    async def watch_health(self) -> None:
        """Heartbeats stop when a process dies; notice the silence, not just the messages."""
        while True:
            await asyncio.sleep(1.0)
            self.procs.forget_stale()
            self.refresh_status()
            await self.heal_quiet_replies()

    async def heal_quiet_replies(self) -> None:
        """PUB/SUB drops what is published while the broker restarts, a reply's end included: take a
        quiet reply's end from the database if the crud_worker stored it, else ask its worker again."""
        active = {msg_id for h in self.procs.llm_workers() for msg_id in h.active}
        for view in self.inflight.quiet(QUIET_S):
            stored = self.store.message(view.id)
            if stored is not None and stored.role == "assistant":
                view.stats = stored.stats  # its reply.stats was lost with its end
                self.end(stored_end(stored))
            elif view.status == "streaming" and view.id not in active:
                self.inflight.hear(view.id)  # ask at most once per quiet spell
                await self.bus.publish(c.LlmResend(msg_id=view.id))

    async def warm(self, conversation_id: str) -> None:
        """Render (off the event loop) every ended reply the page will show, so that the chat's log, built
        without a pause between reading the state and subscribing a tab, finds them cached."""
        page, unstored, _ = self.inflight.page(conversation_id)
        for m in page.messages:
            if m.role == "assistant" and m.content:
                await self.renderer.render(m.id, m.content)
        for v in unstored:
            if v.status not in ("queued", "streaming") and v.text:
                await self.renderer.render(v.id, v.text)
