"""No reply can push the controls off-screen: a 2,000-character unbroken line in prose and in a code
block leaves Send and the task panel's Add button inside the viewport, at desktop and narrow widths."""

from __future__ import annotations

import pytest

from tests.fakes import Script

pytestmark = pytest.mark.browser

LONG = "x" * 2_000
VIEWPORTS = [(1300, 800), (1024, 700), (700, 800)]


def inside(page, selector: str) -> bool:
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; }""", selector)


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_a_long_unbroken_line_keeps_send_and_add_on_screen(stack, fake_ollama, browser, width, height):
    fake_ollama.enqueue(Script(tokens=[f"Here: {LONG}\n\n```\n{LONG}\n```\n", "done."]))
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(stack.url)
        page.wait_for_selector("html[data-sse=open]", state="attached")
        page.fill("#msg", f"a long line at {width} px")
        page.press("#msg", "Enter")
        page.wait_for_selector(".msg.assistant.done >> text=done.", timeout=15_000)
        for selector in ("#chat-form button[type=submit]", "#add-task button[type=submit]", "#msg"):
            assert inside(page, selector), f"{selector} is off-screen at {width}×{height}"
        assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth"), \
            f"the page scrolls sideways at {width}×{height}"
    finally:
        context.close()
