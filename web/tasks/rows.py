"""The task list as the event stream carries it: a change as the change (a row added in its place,
replaced, removed), and a list sent whole (a reorder, a tab's snapshot, a group bigger than a page)
bounded to its first LIST_PAGE rows — the rest loads when the person scrolls to it (`GET /tasks/rows`).

Rows are rendered by `web.tasks.views.task_item` (their one shape) and kept by what they show — the task's
id, name and done, and the swap — so a list sent again, or a task brought back, costs a join rather than
a render. (A row that came to show more of its task would need that in the key.)"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict

from fasthtml.common import FT, Div, Li, NotStr

from bus import contract as c
from bus.contract import TaskRow
from web.fragment import to_html
from web.tasks.views import task_item, task_list

LIST_PAGE = 300  # rows a list carries at once (about 200 KB); a group with more steps is sent as the list
ROWS_KEEP = 12_000  # rendered rows kept: every task of a full list, as a row and as its swap
CHUNK = 100  # rows rendered between two turns of the event loop
MORE_ID = "task-more"


class Rows:
    def __init__(self, store):
        self.store = store
        self._html: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()  # `more` runs in a worker thread

    def row(self, t: TaskRow, swap: str | None = None) -> str:
        key = (t.id, t.name, t.done, swap)
        with self._lock:
            found = self._html.get(key)
            if found is not None:
                self._html.move_to_end(key)
                return found
        html = to_html(task_item(t, swap=swap))
        with self._lock:
            self._html[key] = html
            while len(self._html) > ROWS_KEEP:
                self._html.popitem(last=False)
        return html

    async def warm(self, m: c.TaskChanged) -> None:
        """Render what `on_task` will send, a chunk at a time, so the bus loop lets requests in between."""
        if m.op == "group" and 0 < len(m.steps) <= LIST_PAGE:
            todo = [(s.task, "true" if s.op == "update" else None) for s in m.steps if s.op != "delete"]
        elif m.op in ("reorder", "group"):
            todo = [(t, None) for t in await asyncio.to_thread(self.store.tasks)][:LIST_PAGE]
        else:
            return
        for start in range(0, len(todo), CHUNK):
            for t, swap in todo[start:start + CHUNK]:
                self.row(t, swap)
            await asyncio.sleep(0)

    def step(self, op: str, t: TaskRow, before_id: int = 0) -> str:
        """One task's change, in place."""
        if op == "delete":
            return to_html(Li(id=f"task-{t.id}", hx_swap_oob="delete"))
        if op == "update":
            return self.row(t, "true")
        where = f"beforebegin:#task-{before_id}" if before_id else "beforeend:#task-list"
        # An insert in front of a row this tab hasn't loaded yet is dropped: it comes with that row.
        return f'<div hx-swap-oob="{where}">{self.row(t)}</div>'

    def group(self, m: c.TaskChanged) -> str:
        if not m.steps or len(m.steps) > LIST_PAGE:  # a big group comes without its steps
            return self.list_swap()
        return "".join(self.step(s.op, s.task, s.before_id) for s in m.steps)

    def list_swap(self, tasks: list[TaskRow] | None = None) -> str:
        """The list's first page as an out-of-band swap, and a row that loads the rest when seen."""
        tasks = self.store.tasks() if tasks is None else tasks
        shell = to_html(task_list([], swap="true"))  # the list's own element, from its one home
        head, _, tail = shell.rpartition("</ul>")
        return head + self._rows(tasks, 0) + "</ul>" + tail

    def into_page(self, page, tasks: list[TaskRow]) -> None:
        """Fill the list of a page built with no tasks: its first page of rows, already HTML (the whole
        list as elements took seconds to serialise on the event loop at 5,000 tasks), and the row that
        loads the rest."""
        found = _find(page, "task-list")
        if found is None:
            raise ValueError("the page has no #task-list")
        found(NotStr(self._rows(tasks, 0)))

    def _rows(self, tasks: list[TaskRow], start: int) -> str:
        shown = tasks[start:start + LIST_PAGE]
        html = "".join(self.row(t) for t in shown)
        if start + LIST_PAGE < len(tasks):
            left = len(tasks) - start - LIST_PAGE
            html += to_html(Li(f"{left:,} more tasks: loading…", id=MORE_ID, cls="more",
                                  hx_get=f"/tasks/rows?after={start + LIST_PAGE}", hx_trigger="intersect once",
                                  hx_swap="outerHTML"))
        return html

    def more(self, start: int) -> str:
        """The rows from `start` on (and the row loading the next page). A row this tab already holds (a
        task added at the end while the rest was unloaded) is removed first, so it shows once, in place."""
        tasks = self.store.tasks()
        shown = tasks[start:start + LIST_PAGE]
        gone = "".join(to_html(Div(id=f"task-{t.id}", hx_swap_oob="delete")) for t in shown)
        return gone + self._rows(tasks, start)


def _find(node, element_id: str):
    """The element of an FT tree with this id (None if none)."""
    if isinstance(node, (list, tuple)):
        return next((f for n in node if (f := _find(n, element_id)) is not None), None)
    if not isinstance(node, FT):
        return None
    if node.attrs.get("id") == element_id:
        return node
    return _find(node.children, element_id)
