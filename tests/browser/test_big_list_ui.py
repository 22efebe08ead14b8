"""The list over the event stream in a real browser (#25): a task brought back by undo lands in its
place; a list sent bounded to its first page loads the rest as the person scrolls to it, every task
once and in order."""

from __future__ import annotations

import json

import pytest

from tests.util import wait_for
from web.tasks.rows import LIST_PAGE

pytestmark = pytest.mark.browser
MANY = 2 * LIST_PAGE + 100


def open_tab(browser, url):
    page = browser.new_context().new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("html[data-sse=open]", state="attached")
    return page


def shown(page) -> list[str]:
    return page.eval_on_selector_all("#task-list li.task input.name", "els => els.map(e => e.value)")


def stored(stack) -> list[str]:
    return [t[1] for t in stack.tasks()]


def test_an_undone_delete_comes_back_in_its_place(stack, browser):
    for name in ("first in place", "middle in place", "last in place"):
        assert stack.http.post("/tasks", data={"name": name}).status_code == 200
    wait_for(lambda: "last in place" in stored(stack), what="three tasks")
    page = open_tab(browser, stack.url)
    middle = next(t[0] for t in stack.tasks() if t[1] == "middle in place")
    assert stack.http.delete(f"/tasks/{middle}").status_code == 200
    wait_for(lambda: "middle in place" not in shown(page), what="the delete shown")
    assert stack.http.post("/undo/last", data={"by": "person"}).status_code == 200
    wait_for(lambda: shown(page) == stored(stack), what="the task back in its place, without a reload")
    assert shown(page).index("middle in place") == shown(page).index("first in place") + 1
    assert not page.errors


def test_a_bounded_list_loads_the_rest_as_it_is_scrolled_to(stack, browser):
    file = json.dumps({"format": "ghostwire.tasks", "version": 1,
                       "tasks": [{"name": f"row {k:04d}"} for k in range(MANY)]})
    assert stack.http.post("/tasks/import", files={"file": ("t.json", file, "application/json")}).status_code == 200
    wait_for(lambda: len(stack.tasks()) >= MANY, what="the import")
    page = open_tab(browser, stack.url)
    assert len(shown(page)) == LIST_PAGE and page.locator("#task-more").count() == 1, "the page: its first page"
    ids = [t[0] for t in stack.tasks()]
    # a reorder goes to every tab as the list's first page and a row that loads the rest
    assert stack.http.post("/tasks/order", data={"ids": [str(ids[-1])]}).status_code == 200
    wait_for(lambda: page.locator("#task-more").count() == 1, what="the list's first page")
    assert len(shown(page)) == LIST_PAGE
    assert stack.http.post("/tasks", data={"name": "added at the end meanwhile"}).status_code == 200
    wait_for(lambda: "added at the end meanwhile" in shown(page), what="the new task shown at once")

    def scrolled_in() -> bool:
        """Scroll the row that loads more into view, as a person does, until there is none."""
        return page.evaluate("() => { const more = document.getElementById('task-more');"
                             " if (more) more.scrollIntoView(); return !more; }")

    wait_for(scrolled_in, 30, interval=0.2, what="every page loaded")
    assert shown(page) == stored(stack), "every task once, in the list's order"
    assert not page.errors
