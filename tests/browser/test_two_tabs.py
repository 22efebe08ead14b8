"""Two tabs, one list: a command from the model and a click by the person show in both, once, live."""

from __future__ import annotations

import pytest

from tests.fakes import Script
from tests.util import wait_for

pytestmark = pytest.mark.browser


def open_tab(browser, url):
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("html[data-sse=open]", state="attached")
    return page


def count(page, name: str) -> int:
    return page.locator(f"#task-list li input.name[value='{name}']").count()


def test_model_commands_and_clicks_show_in_both_tabs_once(stack, fake_ollama, browser):
    a, b = open_tab(browser, stack.url), open_tab(browser, stack.url)
    command = '{"action": "insert", "target": "task", "args": {"name": "two-tab apples"}}'
    fake_ollama.enqueue(Script(tokens=["On it. ", *[command[i:i + 5] for i in range(0, len(command), 5)]],
                               delay=0.01))
    a.fill("#msg", "add two-tab apples")
    a.press("#msg", "Enter")
    for page in (a, b):
        page.wait_for_selector(".chip.ok >> text=Added 'two-tab apples'")
        wait_for(lambda: count(page, "two-tab apples") == 1, what="the task in each tab")
        assert '"action"' not in page.inner_text("#chat-log"), "command JSON never shows"
    assert b.locator(".msg.user >> text=add two-tab apples").count() == 1, "tab b sees the message too"
    assert a.locator(".msg.user >> text=add two-tab apples").count() == 1, "tab a shows it once"

    item = b.locator("#task-list li", has=b.locator("input.name[value='two-tab apples']"))
    item.locator("input.toggle").check()
    for page in (a, b):
        wait_for(lambda: page.locator("#task-list li.done input.name[value='two-tab apples']").count() == 1,
                 what="the tick in each tab")
        page.wait_for_selector(".msg.event >> text=You ticked off 'two-tab apples'")
        page.wait_for_selector(".msg.assistant.comment.done", timeout=10_000)

    a.fill("#new-task", "typed by hand")
    a.press("#new-task", "Enter")
    for page in (a, b):
        wait_for(lambda: count(page, "typed by hand") == 1, what="the hand-typed task in each tab")
    assert a.input_value("#new-task") == ""

    name = a.locator("#task-list li input.name[value='typed by hand']")
    name.fill("renamed in place")
    name.press("Enter")
    for page in (a, b):
        wait_for(lambda: count(page, "renamed in place") == 1 and count(page, "typed by hand") == 0,
                 what="the rename in each tab")

    b.locator("#task-list li", has=b.locator("input.name[value='renamed in place']")).locator("button.delete").click()
    for page in (a, b):
        wait_for(lambda: count(page, "renamed in place") == 0, what="the delete in each tab")
    assert not a.errors and not b.errors


def test_dragging_a_task_reorders_it_for_everyone_and_persists(stack, browser):
    for name in ("first", "second", "third"):
        assert stack.http.post("/tasks", data={"name": f"drag {name}"}).status_code == 200
    wait_for(lambda: sum(t[1].startswith("drag ") for t in stack.tasks()) == 3, what="three tasks")
    a, b = open_tab(browser, stack.url), open_tab(browser, stack.url)

    def order(page):
        return [v for v in page.eval_on_selector_all("#task-list input.name", "els => els.map(e => e.value)")
                if v.startswith("drag ")]

    assert order(a) == ["drag first", "drag second", "drag third"]
    handle = a.locator("#task-list li", has=a.locator("input.name[value='drag third']")).locator(".handle")
    target = a.locator("#task-list li", has=a.locator("input.name[value='drag first']"))
    box = target.bounding_box()
    handle.hover()
    a.mouse.down()
    a.mouse.move(box["x"] + 20, box["y"] + 4, steps=12)
    a.mouse.move(box["x"] + 20, box["y"] + 2, steps=4)
    a.mouse.up()
    wait_for(lambda: [n for _, n, _, _ in stack.tasks() if n.startswith("drag ")][0] == "drag third",
             what="the new order stored")
    for page in (a, b):
        wait_for(lambda: order(page)[0] == "drag third", what="the new order in each tab")
    fresh = open_tab(browser, stack.url)
    assert order(fresh)[0] == "drag third", "the order persists across a reload"
