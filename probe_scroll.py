import time
from playwright.sync_api import sync_playwright
from tests.stack import Stack
from tests.util import wait_for

s = Stack().start(timeout=60)
try:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        ctx = b.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=2)
        page = ctx.new_page()
        page.goto(s.url)
        page.wait_for_selector("html[data-sse=open]", state="attached")
        def info(label):
            print(label, page.evaluate("() => { const l = document.getElementById('chat-log'); return [l.scrollTop, l.scrollHeight, l.clientHeight, document.scrollingElement.scrollTop]; }"))
        for i in range(6):
            page.fill("#msg", f"add thing {i}")
            page.press("#msg", "Enter")
            page.locator(".msg.assistant.done").nth(i).wait_for()
        time.sleep(1.5)
        info("after sends")
        page.tap("#view-list"); time.sleep(0.5)
        page.tap("#view-chat"); time.sleep(0.5)
        info("after list->chat")
        page.locator(".attempt-bar.reply .retry-button").last.tap()
        page.locator(".attempt-bar.reply .switcher .count", has_text="2/2").last.wait_for()
        time.sleep(2)
        info("after retry")
        page.locator(".attempt-bar.user .edit").last.tap()
        page.fill("#msg", "add plums"); page.press("#msg", "Enter")
        page.locator(".attempt-bar.user .switcher .count", has_text="2/2").last.wait_for()
        time.sleep(2)
        info("after edit")
        page.screenshot(path="/tmp/probe/phone-after-edit.png")
        b.close()
finally:
    s.stop()
