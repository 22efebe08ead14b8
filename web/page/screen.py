"""What the tabs see of each bus message: the hub (web/live/hub.py) keeps the state and knows no HTML;
it asks this screen for the fragment of each change, made by the features' views — the chat's
(web/chat/stream.py), the task list's rows (web/tasks/rows.py), the conversations' drawer, the status line."""

from __future__ import annotations

from bus import contract as c
from web.chat.stream import ChatStream
from web.conversations import views as conversations
from web.fragment import to_html, toast
from web.live.health import Status
from web.live.hub import Hub
from web.live.inflight import TaskSwap
from web.page.status import status_line
from web.tasks.rows import Rows


class Screen:
    def __init__(self, hub: Hub):
        self.store = hub.store
        self.procs = hub.procs
        self.chat = ChatStream(hub.inflight, hub.procs, hub.renderer.cache)
        self.rows = Rows(hub.store)
        chat = self.chat  # the chat's fragments, as the hub asks for them
        self.opened, self.queued, self.started, self.pieces = chat.opened, chat.queued, chat.started, chat.pieces
        self.final, self.result, self.stats = chat.final, chat.result, chat.stats
        self.job, self.note, self.withdrawn = chat.job, chat.note, chat.withdrawn

    async def prepare(self, m: c.TaskChanged) -> None:
        """A big group renders a chunk at a time, before its event goes out; nothing overtakes it."""
        await self.rows.warm(m)

    def tasks(self, m: c.TaskChanged, how: TaskSwap) -> str:
        if how == "steps":
            return self.rows.group(m)
        if how == "list":
            return self.rows.list_swap()
        return self.rows.step(m.op, m.task, m.before_id)

    @staticmethod
    def alert(m: c.UiAlert) -> str:
        return to_html(toast(m.text))

    @staticmethod
    def status(status: Status) -> str:
        return to_html(status_line(status, swap="true"))

    def conversation(self, m: c.ConversationChanged, shown: set[str | None]) -> list[tuple[str, str]]:
        """The list changed in every tab (each highlights its own); a tab showing the conversation re-reads
        its messages when its attempts changed, and is told when it was deleted: (fragment, conversation)."""
        items = self.store.conversations()
        out = []
        for conversation_id in shown:
            if conversation_id is None:
                continue
            current = self.store.conversation(conversation_id) or self.store.conversation(c.DEFAULT_CONVERSATION)
            out.append((to_html(conversations.drawer(items, current, swap="true")), conversation_id))
        if m.op == "attempts":
            out.append((self.chat.log_swap(m.conversation_id), m.conversation_id))
        elif m.op == "delete":
            out.append((to_html(conversations.gone(m.conversation_id)), m.conversation_id))
        return out

    def snapshot(self, conversation_id: str) -> str:
        """Everything a tab shows, as out-of-band swaps: sent when a reconnect can't be replayed."""
        status = status_line(self.procs.status(), swap="true")
        return self.chat.log_swap(conversation_id) + self.rows.list_swap() + to_html(status)
