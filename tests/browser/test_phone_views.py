"""A phone (390×844, touch): the chat and the list each get the whole screen, one tap apart, and a dot on the
other tab says when it changed; the input stays above the keyboard; the status and the demo banner say what
they mean in the width there is; the changes page fits. Screenshots of each in tests/browser/artifacts/."""

from __future__ import annotations

import pytest

from tests.browser.artifacts import shot
from tests.browser.test_phone import box, on_screen, open_page, put_tasks
from tests.fakes import Script
from tests.util import wait_for

pytestmark = pytest.mark.browser


def visible(page, selector: str) -> bool:
    return page.evaluate("(s) => { const e = document.querySelector(s); return !!e && e.getClientRects().length > 0"
                         " && getComputedStyle(e).display !== 'none'; }", selector)


def test_chat_and_list_each_get_the_whole_screen_one_tap_apart(stack, fake_ollama, phone):
    put_tasks(stack, [f"phone task {i}" for i in range(1, 25)], fake_ollama)
    fake_ollama.enqueue(Script(tokens=["Here you go. " * 8, '{"action": "insert", "target": "task", "args": '
                                       '{"name": "phone task new"}}', " Anything else?"]))
    open_page(phone, stack)
    assert visible(phone, ".panel.chat") and not visible(phone, ".panel.todo"), "the chat first"
    assert box(phone, ".panel.chat")["height"] > 600, box(phone, ".panel.chat")
    phone.fill("#msg", "add one for me")
    phone.press("#msg", "Enter")
    phone.wait_for_selector(".msg.assistant.done .chip.ok")
    reply = box(phone, ".msg.assistant.done .text")
    assert on_screen(phone, reply), f"the reply's text is on screen, not just its buttons: {reply}"
    wait_for(lambda: phone.get_attribute("#view-list", "data-changed") is not None, what="the List tab's dot")
    assert on_screen(phone, box(phone, "#view-list .badge"))
    shot(phone, "phone-chat")

    phone.tap("#view-list")
    assert visible(phone, ".panel.todo") and not visible(phone, ".panel.chat")
    assert box(phone, ".panel.todo")["height"] > 600, box(phone, ".panel.todo")
    assert phone.get_attribute("#view-list", "data-changed") is None, "seen: the dot goes"
    phone.fill("#new-task", "phone task typed")
    phone.press("#new-task", "Enter")
    last = "#task-list li:last-child"
    wait_for(lambda: phone.inner_text(last + " .name-text") == "phone task typed", what="the new task")
    wait_for(lambda: on_screen(phone, box(phone, last)), what="the new task scrolled into view")
    wait_for(lambda: phone.get_attribute("#view-chat", "data-changed") is not None,
             what="the Chat tab's dot (the event line, the model's comment)")
    shot(phone, "phone-list")
    phone.tap("#view-chat")
    assert visible(phone, ".panel.chat") and phone.get_attribute("#view-chat", "data-changed") is None
    assert phone.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth"), "no sideways scroll"
    assert not phone.errors, phone.errors


def test_the_input_stays_above_the_keyboard(stack, phone):
    open_page(phone, stack)
    meta = phone.get_attribute("meta[name=viewport]", "content")
    assert "interactive-widget=resizes-content" in meta, "the keyboard shrinks the page, not covers it"
    phone.tap("#msg")
    phone.set_viewport_size({"width": 390, "height": 844 - 336})  # what a keyboard leaves
    wait_for(lambda: on_screen(phone, box(phone, "#msg")) and on_screen(phone, box(phone, "#chat-form button.primary")),
             what="the input and Send above the keyboard")
    assert box(phone, "#chat-log")["height"] > 150, "and some of the chat"
    shot(phone, "phone-keyboard")


def test_the_header_says_what_it_means_in_the_width_there_is(stack, phone):
    open_page(phone, stack)
    assert phone.get_attribute("#msg", "placeholder") == "Talk to the ghost…", "short, and no keys a phone lacks"
    fits = "(s) => { const e = document.querySelector(s); return e.scrollWidth <= e.clientWidth + 1; }"
    assert phone.evaluate(fits, "#msg")
    assert phone.inner_text("#status .procs-summary") == "all running", "the lights say something in words"
    assert on_screen(phone, box(phone, "#status .procs-summary"))
    assert not visible(phone, "#msg-hint"), "Enter and Shift+Enter: not on a phone"
    stack.ctl("stop", "crud_worker")
    try:
        wait_for(lambda: "down: crud_worker" in phone.inner_text("#status .procs-summary"), 20,
                 what="what is down, named")
        shot(phone, "phone-crud-down")
    finally:
        stack.ctl("start", "crud_worker")
        wait_for(stack.healthy, 30, what="the stack healthy again")


def test_the_changes_page_fits_a_phone(stack, phone):
    put_tasks(stack, ["changed on a phone"])
    phone.goto(stack.url + "/changes")
    assert phone.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth"), "no sideways scroll"
    for selector in ("#ask-delete", ".changes-page h1 a"):
        assert on_screen(phone, box(phone, selector)), f"{selector}: {box(phone, selector)}"
    shot(phone, "phone-changes", full_page=True)
