"""Undo in a real browser: the model adds three tasks and deletes one; Undo all in one tab puts the
list back exactly as it was before the reply, in the other tab too. Ctrl+Z undoes the person's own."""

from __future__ import annotations

import json

import pytest

from tests.browser.test_two_tabs import open_tab
from tests.fakes import Script
from tests.util import settle, wait_for

pytestmark = pytest.mark.browser


def shown(page) -> list[tuple[str, str, bool]]:
    """The list as the tab shows it: (id, name, ticked), in order."""
    return [tuple(row) for row in page.eval_on_selector_all(
        "#task-list li", "els => els.map(li => [li.dataset.id, li.querySelector('input.name').value,"
                         " li.querySelector('input.toggle').checked])")]


def cmd(action: str, **args) -> str:
    return json.dumps({"action": action, "target": "task", "args": args})


def test_undo_all_in_one_tab_restores_the_list_in_both(stack, fake_ollama, browser):
    for name in ("ui keep", "ui doomed", "ui last"):
        assert stack.http.post("/tasks", data={"name": name}).status_code == 200
    wait_for(lambda: sum(t[1].startswith("ui ") for t in stack.tasks()) == 3, what="three tasks")
    settle(stack, fake_ollama, 1.2)  # the model's comment on those adds must not take the reply's script
    doomed = next(t[0] for t in stack.tasks() if t[1] == "ui doomed")
    a, b = open_tab(browser, stack.url), open_tab(browser, stack.url)
    before = shown(b)
    assert shown(a) == before and len(before) >= 3

    reply_text = ["Three new, one gone. ", cmd("insert", name="ui new 1"), " ", cmd("insert", name="ui new 2"), " ",
                  cmd("insert", name="ui new 3"), " ", cmd("delete", id=doomed), " There."]
    fake_ollama.enqueue(Script(tokens=reply_text, delay=0.01))
    a.fill("#msg", "shuffle my list")
    a.press("#msg", "Enter")
    for page in (a, b):
        page.wait_for_selector(".msg.assistant.done .undo-all-button")
        wait_for(lambda: len(shown(page)) == len(before) + 2, what="three added and one deleted in each tab")

    a.locator(".msg.assistant.done .undo-all-button").last.click()
    wait_for(lambda: shown(b) == before, what="tab b shows the list exactly as before the reply")
    wait_for(lambda: shown(a) == before, what="and so does tab a")
    for page in (a, b):
        wait_for(lambda: page.locator(".msg.assistant.done .chip.undone").count() == 4, what="four chips undone")
        page.wait_for_selector(".msg.assistant.done .redo-all-button")
        page.locator(".msg.event", has_text="You undid:").filter(has_text="Added 'ui new 1'").wait_for()
        assert "Don't make" not in page.inner_text("#chat-log"), "the model's instruction is not the person's line"
    assert [t[0] for t in stack.tasks()] == [int(i) for i, _, _ in before]
    assert not a.errors and not b.errors


def test_ctrl_z_undoes_the_persons_own_last_change_and_a_refusal_is_shown(stack, fake_ollama, browser):
    a = open_tab(browser, stack.url)
    a.fill("#new-task", "ui ctrl z")
    a.press("#new-task", "Enter")
    wait_for(lambda: any(name == "ui ctrl z" for _, name, _ in shown(a)), what="the typed task")
    a.locator("#task-list li", has=a.locator("input.name[value='ui ctrl z']")).locator("input.toggle").check()
    wait_for(lambda: ("ui ctrl z", True) in [(n, d) for _, n, d in shown(a)], what="the tick")
    a.locator("h2").first.click()  # focus out of any text field: there Ctrl+Z is the field's own undo
    a.keyboard.press("Control+z")
    wait_for(lambda: ("ui ctrl z", False) in [(n, d) for _, n, d in shown(a)], what="Ctrl+Z unticks it")
    a.keyboard.press("Control+Shift+z")
    wait_for(lambda: ("ui ctrl z", True) in [(n, d) for _, n, d in shown(a)], what="Ctrl+Shift+Z ticks it again")

    # A model rename, then the person's rename: the model's Undo is refused, and the page says why.
    task_id = next(t[0] for t in stack.tasks() if t[1] == "ui ctrl z")
    fake_ollama.enqueue(Script(tokens=["Renaming. ", cmd("update", id=task_id, name="ui by model")]))
    a.fill("#msg", "rename it")
    a.press("#msg", "Enter")
    wait_for(lambda: any(n == "ui by model" for _, n, _ in shown(a)), what="the model's rename")
    field = a.locator(f"#task-{task_id} input.name")
    field.fill("ui by person")
    field.press("Enter")
    wait_for(lambda: stack.tasks() and any(t[1] == "ui by person" for t in stack.tasks()), what="the person's rename")
    a.locator(".msg.assistant.done").last.locator("button.chip-action.undo").click()
    a.wait_for_selector("#task-error >> text='ui by model' was renamed after this reply; undo that first")
    assert not a.errors
