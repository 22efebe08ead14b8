"""Conversations and attempts in a real browser: two conversations in one tab, a second tab on another
conversation unaffected by the first's reply, and Retry's "‹ 1/2 ›" switcher flipping between attempts."""

from __future__ import annotations

import pytest

from tests.fakes import Script
from tests.util import wait_for

pytestmark = pytest.mark.browser


def opened(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-sse=open]", state="attached")


def send(page, text: str) -> None:
    page.fill("#msg", text)
    page.press("#msg", "Enter")
    page.wait_for_selector(f".msg.user >> text={text}")


def shown(page) -> str:
    return page.get_attribute("main", "data-conversation")


def new_chat(page) -> str:
    before = shown(page)
    page.click("#conversations > summary")
    page.click("#new-chat")
    # Playwright's own wait: page.url only moves while Playwright dispatches events, not in a sleep
    page.wait_for_url(lambda url: "?c=" in url and not url.endswith(f"?c={before}"))
    page.wait_for_selector("html[data-sse=open]", state="attached")
    return shown(page)


def test_two_conversations_in_one_tab(stack, fake_ollama, page):
    fake_ollama.enqueue(Script(tokens=["answer ", "in A"]))
    opened(page, stack.url)
    first = new_chat(page)
    send(page, "hello from A")
    page.wait_for_selector(".msg.assistant.done >> text=answer in A")
    assert page.inner_text("#current-title") == "hello from A", "the first message names it"

    second = new_chat(page)
    assert second != first and page.locator(".msg.user").count() == 0, "a new chat starts empty"
    fake_ollama.enqueue(Script(tokens=["answer ", "in B"]))
    send(page, "hello from B")
    page.wait_for_selector(".msg.assistant.done >> text=answer in B")
    assert "hello from A" not in page.inner_text("#chat-log")

    page.click("#conversations > summary")
    page.click(f"#conv-{first} button.open")
    page.wait_for_url(f"**/?c={first}")
    page.wait_for_selector(".msg.assistant.done >> text=answer in A")
    log = page.inner_text("#chat-log")
    assert "hello from A" in log and "hello from B" not in log
    assert page.locator(f"#conv-{first}.current").count() == 1 and page.locator(f"#conv-{second}").count() == 1
    assert not page.errors


def test_a_second_tab_on_another_conversation_is_unaffected(stack, fake_ollama, browser):
    a_id = stack.http.post("/conversations", headers={"Accept": "application/json"}).json()["id"]
    b_id = stack.http.post("/conversations", headers={"Accept": "application/json"}).json()["id"]
    tabs = []
    for conv in (a_id, b_id):
        tab = browser.new_context().new_page()
        tab.errors = []
        tab.on("pageerror", lambda e, t=tab: t.errors.append(str(e)))
        opened(tab, f"{stack.url}/?c={conv}")
        tabs.append(tab)
    a, b = tabs
    fake_ollama.enqueue(Script(tokens=[f"only-in-A{i} " for i in range(30)], delay=0.03))
    send(a, "a long one, in A")
    a.wait_for_selector(".msg.assistant.done >> text=only-in-A29")
    # watched for the whole of A's reply, from before it was sent to its final bubble in tab A
    assert b.locator(".msg").count() == 0 and "only-in-A" not in b.inner_text("#chat-log")
    fake_ollama.enqueue(Script(tokens=["B is fine"]))
    send(b, "and B?")
    b.wait_for_selector(".msg.assistant.done >> text=B is fine")
    assert "B is fine" not in a.inner_text("#chat-log") and "and B?" not in a.inner_text("#chat-log")
    assert not a.errors and not b.errors
    for tab in tabs:
        tab.context.close()


def test_retry_shows_the_switcher_and_flipping_works(stack, fake_ollama, page):
    opened(page, stack.url)
    new_chat(page)
    fake_ollama.enqueue(Script(tokens=["first ", "attempt"]))
    send(page, "answer me twice")
    page.wait_for_selector(".msg.assistant.done >> text=first attempt")
    fake_ollama.enqueue(Script(tokens=["second ", "attempt"]))
    page.click(".attempt-bar.reply .retry-button")
    page.wait_for_selector(".msg.assistant.done >> text=second attempt")
    assert "first attempt" not in page.inner_text("#chat-log"), "the earlier attempt is behind the switcher"
    assert page.inner_text(".attempt-bar.reply .switcher .count") == "2/2"

    page.click(".attempt-bar.reply .switcher button[aria-label='Previous attempt']")
    page.wait_for_selector(".msg.assistant.done >> text=first attempt")
    wait_for(lambda: "second attempt" not in page.inner_text("#chat-log"), what="the second attempt hidden")
    assert page.inner_text(".attempt-bar.reply .switcher .count") == "1/2"
    page.click(".attempt-bar.reply .switcher button[aria-label='Next attempt']")
    page.wait_for_selector(".msg.assistant.done >> text=second attempt")
    assert page.inner_text(".attempt-bar.reply .switcher .count") == "2/2"
    assert page.locator(".msg.user >> text=answer me twice").count() == 1, "the question shows once"
    assert not page.errors


def test_edit_puts_the_message_back_and_resends_it(stack, fake_ollama, page):
    opened(page, stack.url)
    new_chat(page)
    fake_ollama.enqueue(Script(tokens=["to the typo"]))
    send(page, "helo typo")
    page.wait_for_selector(".msg.assistant.done >> text=to the typo")
    page.click(".attempt-bar.user button.edit")
    assert page.input_value("#msg") == "helo typo" and page.is_visible("#editing")
    fake_ollama.enqueue(Script(tokens=["to the fix"]))
    page.fill("#msg", "hello fixed")
    page.press("#msg", "Enter")
    page.wait_for_selector(".msg.assistant.done >> text=to the fix")
    log = page.inner_text("#chat-log")
    assert "hello fixed" in log and "helo typo" not in log and "to the typo" not in log
    assert page.inner_text(".attempt-bar.user .switcher .count") == "2/2"
    assert not page.is_visible("#editing")
    assert not page.errors


def test_at_phone_width_the_conversation_list_is_one_line_until_opened(stack, browser):
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        for _ in range(12):
            stack.http.post("/conversations", headers={"Accept": "application/json"})
        opened(page, stack.url)
        closed = page.eval_on_selector("#conversations", "el => el.getBoundingClientRect().height")
        assert closed < 60, f"the collapsed drawer is {closed}px tall"
        assert page.is_visible("#msg") and page.is_visible("#chat-form button[type=submit]")
        page.click("#conversations > summary")
        page.wait_for_selector("#new-chat", state="visible")
        list_height = page.eval_on_selector("#conversation-list", "el => el.getBoundingClientRect().height")
        assert list_height <= 800 * 0.4 + 1, "open, the list scrolls in at most 40% of the screen"
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"no horizontal scrolling ({width}px)"
    finally:
        context.close()


def test_a_reply_goes_on_while_the_tab_is_elsewhere_and_shows_on_coming_back(stack, fake_ollama, page):
    opened(page, stack.url)
    first = new_chat(page)
    fake_ollama.enqueue(Script(tokens=[f"away{i} " for i in range(60)], delay=0.05))
    send(page, "a slow one")
    page.wait_for_selector(".msg.assistant >> text=away2")
    new_chat(page)  # leaves mid-reply
    assert "away" not in page.inner_text("#chat-log")
    page.click("#conversations > summary")
    page.click(f"#conv-{first} button.open")
    page.wait_for_url(f"**/?c={first}")
    page.wait_for_selector(".msg.assistant.done >> text=away59", timeout=15_000)
    assert page.locator(".msg.assistant").count() == 1, "one bubble: what streamed meanwhile, then the rest"
    assert not page.errors
