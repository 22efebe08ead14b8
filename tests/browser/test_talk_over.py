"""The person starts typing while the model's comment on their click still streams: the comment stops
(on a one-slot engine it would hold up the answer to what they are writing), what they typed stays, and
the message they then send is answered."""

from __future__ import annotations

import pytest

from tests.browser.artifacts import shot
from tests.browser.test_two_tabs import open_tab
from tests.fakes import Script
from tests.util import settle

pytestmark = pytest.mark.browser


def test_typing_a_message_stops_a_comment_still_streaming(stack, fake_ollama, browser):
    settle(stack, fake_ollama, 1.2)
    a = open_tab(browser, stack.url)
    a.set_viewport_size({"width": 1280, "height": 800})
    slow = Script(tokens=["Ooh, "] + ["a task, "] * 300, delay=0.05)  # 15 s of comment unless stopped
    fake_ollama.pick = lambda body: slow if "talk over base" in body["messages"][-1]["content"] else None
    try:
        a.fill("#new-task", "talk over base")
        a.press("#new-task", "Enter")
        a.locator(".msg.assistant.comment .text.stream", has_text="Ooh").wait_for(timeout=15_000)
    finally:
        fake_ollama.pick = None
    a.locator("#msg").press_sequentially("how many are done", delay=40)
    stopped = a.locator(".msg.assistant.comment.cancelled", has_text="Ooh")
    stopped.wait_for(timeout=5_000)
    assert stopped.locator(".meta", has_text="stopped").count() == 1
    assert a.locator("#msg").input_value() == "how many are done", "what the person typed stays"
    shot(a, "talk-over-desktop")
    fake_ollama.enqueue(Script(tokens=["One ", "is done."]))
    a.press("#msg", "Enter")
    a.locator(".msg.assistant.chat.done", has_text="One is done.").wait_for(timeout=15_000)
    settle(stack, fake_ollama)
    assert not a.errors
