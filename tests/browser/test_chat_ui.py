"""A person types a message and watches the reply grow, in a real browser."""

from __future__ import annotations

import pytest

from tests.fakes import Script
from tests.util import wait_for

pytestmark = pytest.mark.browser


def test_reply_grows_on_the_page_then_completes(stack, fake_ollama, page):
    tokens = [f"piece{i} " for i in range(40)]
    fake_ollama.enqueue(Script(tokens=tokens, delay=0.04))
    page.goto(stack.url)
    page.wait_for_selector("html[data-sse=open]", state="attached")
    wait_for(lambda: page.evaluate("() => !!document.querySelector('#status .backend')"), what="status line")
    assert "ollama · llama3.2:3b" in page.inner_text("#status")

    page.fill("#msg", "hello from the browser")
    page.press("#msg", "Enter")
    page.wait_for_selector(".msg.user >> text=hello from the browser")
    bubble = page.locator(".msg.assistant").last
    lengths = []

    def grown():
        lengths.append(len(bubble.inner_text()))
        return len(set(lengths)) >= 4

    wait_for(grown, timeout=10, interval=0.05, what="the reply to grow in several steps")
    page.wait_for_selector(".msg.assistant.done", timeout=15_000)
    assert bubble.locator(".md").inner_text().strip() == "".join(tokens).strip()
    assert page.input_value("#msg") == "", "the input is cleared after sending"
    assert page.evaluate("() => document.activeElement.id") == "msg", "the input keeps focus"
    assert not page.errors


def test_empty_message_shows_an_inline_error(stack, page):
    page.goto(stack.url)
    page.wait_for_selector("html[data-sse=open]", state="attached")
    before = page.locator(".msg").count()
    page.click("#chat-form button[type=submit]")
    page.wait_for_selector("#chat-error >> text=Type a message first")
    assert page.locator(".msg").count() == before, "nothing was added to the conversation"
    assert not page.errors
