"""A comment nobody asked for only suggests: the person adds a task by hand, the model's comment on it
writes a command, and both tabs show it as a chip with Allow / Deny instead of a change. Deny in one
tab leaves the list as it was in both, and the model is told; a claim without a change is flagged."""

from __future__ import annotations

import json

import pytest

from tests.browser.artifacts import shot
from tests.browser.test_two_tabs import open_tab
from tests.browser.test_undo_ui import cmd, shown
from tests.fakes import Script
from tests.util import settle

pytestmark = pytest.mark.browser


def test_a_comments_command_waits_for_allow_or_deny_in_both_tabs_and_deny_changes_nothing(
        stack, fake_ollama, browser):
    settle(stack, fake_ollama, 1.2)
    a, b = open_tab(browser, stack.url), open_tab(browser, stack.url)
    suggestion = Script(tokens=["Nice one. While we're at it: ", cmd("insert", name="suggested groceries")])
    fake_ollama.pick = lambda body: suggestion if "ui suggestion base" in body["messages"][-1]["content"] else None
    try:
        a.fill("#new-task", "ui suggestion base")
        a.press("#new-task", "Enter")
        for page in (a, b):
            chip = page.locator(".chip.asking", has_text="Suggests: add 'suggested groceries'")
            chip.wait_for(timeout=15_000)
            assert chip.locator("button.allow").is_visible() and chip.locator("button.deny").is_visible()
    finally:
        fake_ollama.pick = None
    before = shown(b)
    assert not [t for t in before if t[1] == "suggested groceries"], "a suggestion changes nothing by itself"

    sent = len(fake_ollama.requests)
    fake_ollama.enqueue(Script(tokens=["Fine, ", "no groceries."]))
    b.locator(".chip.asking button.deny").last.click()
    for page in (a, b):
        page.locator(".chip.denied", has_text="Denied: add 'suggested groceries'").wait_for()
        assert page.locator(".chip.denied button").count() == 0, "a denied suggestion has no Allow / Deny left"
    fake_ollama.wait_for(lambda: len(fake_ollama.requests) > sent, timeout=15)
    told = fake_ollama.requests[sent]["messages"][-1]["content"]
    assert "declined your suggestion to add 'suggested groceries'" in told
    settle(stack, fake_ollama)
    assert shown(a) == before and shown(b) == before, "the list is untouched in both tabs"
    assert not a.errors and not b.errors


def test_a_reply_claiming_a_change_it_did_not_make_says_so_on_its_bubble(stack, fake_ollama, browser):
    settle(stack, fake_ollama, 1.2)
    a = open_tab(browser, stack.url)
    fake_ollama.enqueue(Script(tokens=["Done! ", "Marked it."]), Script(tokens=["Which task do you mean?"]))
    a.fill("#msg", "mark the thing done")
    a.press("#msg", "Enter")
    flagged = a.locator(".msg.assistant .reply-meta .no-change")
    flagged.wait_for(timeout=15_000)
    assert flagged.inner_text().strip() == "⚠ no change was made"
    settle(stack, fake_ollama)
    assert a.locator(".msg.assistant .reply-meta .no-change").count() == 1, "the honest follow-up isn't flagged"
    assert not a.errors and json.dumps(a.errors) == "[]"


def test_a_command_answering_a_question_waits_for_allow_and_allow_runs_it(stack, fake_ollama, browser):
    settle(stack, fake_ollama, 1.2)
    a = open_tab(browser, stack.url)
    a.fill("#new-task", "ui question task")
    a.press("#new-task", "Enter")
    settle(stack, fake_ollama, 1.2)  # the comment on the add, out of the way
    fake_ollama.enqueue(Script(tokens=["It is now. ", cmd("update", task="ui question task", done=True)]))
    a.fill("#msg", "is 'ui question task' done?")
    a.press("#msg", "Enter")
    chip = a.locator(".chip.asking", has_text="Suggests: mark 'ui question task' done")
    chip.wait_for(timeout=15_000)
    a.set_viewport_size({"width": 390, "height": 844})  # a narrow window, a mouse: the hint shows, under the box
    assert a.locator("#msg").bounding_box()["width"] > 200, "the message box is not squeezed by its hint"
    chip.scroll_into_view_if_needed()
    shot(a, "question-suggests-narrow")
    assert [t for t in shown(a) if t[1] == "ui question task"][0][2] is False, "a question changed nothing"
    chip.locator("button.allow").click()
    a.locator(".chip", has_text="Marked 'ui question task' done").wait_for(timeout=10_000)
    settle(stack, fake_ollama)
    assert [t for t in shown(a) if t[1] == "ui question task"][0][2] is True
    assert not a.errors
