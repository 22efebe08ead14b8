"""The list over the event stream: a change as the change, a group as one event, a list sent whole
bounded to a page (the rest loads when scrolled to), at 5,000 tasks."""

from __future__ import annotations

import re

from bus import contract as c
from bus.contract import TaskRow, TaskStep
from web.tasks.rows import LIST_PAGE, MORE_ID, Rows

FULL = 5_000


class Tasks:
    def __init__(self, n: int):
        self.rows = [TaskRow(id=k, name=f"task {k}", done=k % 3 == 0, priority=k) for k in range(1, n + 1)]

    def tasks(self) -> list[TaskRow]:
        return list(self.rows)


def ids_in(html: str) -> list[str]:
    return re.findall(r'<li[^>]* id="(task-\d+)"', html)


def test_a_list_sent_whole_is_its_first_page_and_a_row_that_loads_the_rest():
    rows = Rows(Tasks(FULL))
    html = rows.list_swap()
    assert ids_in(html) == [f"task-{k}" for k in range(1, LIST_PAGE + 1)]
    assert f'id="{MORE_ID}"' in html and f"/tasks/rows?after={LIST_PAGE}" in html
    assert len(html.encode()) < 400_000, "a stale tab's snapshot is bounded, not the whole 5,000"


def test_the_rest_loads_page_by_page_each_row_once():
    rows = Rows(Tasks(FULL))
    more = rows.more(FULL - 100)
    shown = ids_in(more)
    assert shown == [f"task-{k}" for k in range(FULL - 99, FULL + 1)]
    assert MORE_ID not in more, "the last page loads nothing more"
    # a row the tab may hold already (added at the end while the rest was unloaded) goes first
    assert more.count('hx-swap-oob="delete"') == 100


def test_a_group_is_one_event_of_its_steps_each_in_place():
    rows = Rows(Tasks(10))
    group = c.TaskChanged(op="group", origin="user", change_seq=12, first_seq=11, steps=[
        TaskStep(op="insert", task=TaskRow(id=20, name="back", done=False, priority=3), before_id=3),
        TaskStep(op="insert", task=TaskRow(id=21, name="at the end", done=False, priority=99)),
        TaskStep(op="update", task=TaskRow(id=5, name="renamed", done=True, priority=5)),
        TaskStep(op="delete", task=TaskRow(id=6, name="task 6", done=False, priority=6))])
    html = rows.group(group)
    assert 'hx-swap-oob="beforebegin:#task-3"' in html and 'hx-swap-oob="beforeend:#task-list"' in html
    assert re.search(r'<li[^>]*id="task-5"[^>]*hx-swap-oob="true"|<li[^>]*hx-swap-oob="true"[^>]*id="task-5"', html)
    assert re.search(r'id="task-6"[^>]*hx-swap-oob="delete"|hx-swap-oob="delete"[^>]*id="task-6"', html)
    assert 'id="task-list"' not in html.replace("#task-list", ""), "no whole-list render"


def test_a_group_bigger_than_a_page_is_sent_as_the_lists_first_page():
    rows = Rows(Tasks(FULL))
    steps = [TaskStep(op="insert", task=t) for t in Tasks(FULL).rows[:1_000]]
    html = rows.group(c.TaskChanged(op="group", origin="user", change_seq=1_000, first_seq=1, steps=steps))
    assert len(ids_in(html)) == LIST_PAGE and MORE_ID in html


def test_a_group_without_its_steps_is_sent_as_the_lists_first_page():
    rows = Rows(Tasks(FULL))
    html = rows.group(c.TaskChanged(op="group", origin="user", change_seq=4_000, first_seq=1))
    assert len(ids_in(html)) == LIST_PAGE and MORE_ID in html
