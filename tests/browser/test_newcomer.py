"""A newcomer's first ten minutes, in a real browser on the real processes with the demo model (what
`make run` gives without Ollama): README's "Try it" walked at 1280×800 and at 390×844 with touch, and what
broke or confused the first time — !help and !test, a stopped reply's figures, a long paste, empty views,
the drawer and Escape, the favicon, htmx's own errors, and every outage said where the person acted.
Screenshots of each size in tests/browser/artifacts/."""

from __future__ import annotations

import json

import httpx

import pytest

from tests.browser.artifacts import shot
from tests.browser.test_phone import box
from tests.stack import Stack
from tests.util import wait_for

pytestmark = pytest.mark.browser

# UTC+5:30: a time shown in UTC can't pass for local; Copy may use the clipboard
ZONE = {"timezone_id": "Asia/Kolkata", "permissions": ["clipboard-read", "clipboard-write"]}
SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}, **ZONE},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2,
              **ZONE},
}


@pytest.fixture(scope="module")
def demo():
    s = Stack(LLM_BACKEND="demo")  # the demo's own pace (40 tokens/s), so Stop has a reply to stop
    try:
        yield s.start()
    finally:
        s.stop()


def open_tab(browser, stack, size: str):
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    page.problems = []  # page errors, htmx's own errors in the console, any 404 the page asked for
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" and "htmx:" in m.text else None)
    page.on("response", lambda r: page.problems.append(f"{r.status} {r.url}") if r.status == 404 else None)
    page.add_init_script("""let lastPath = '';
      document.addEventListener('htmx:beforeRequest', (e) => { lastPath = e.detail.pathInfo.requestPath; });
      document.addEventListener('htmx:oobErrorNoTarget', (e) => console.error('htmx: no target for '
        + e.detail.content.outerHTML.slice(0, 160) + ' (after ' + lastPath + ')'));""")  # which one
    page.goto(stack.url)
    page.wait_for_selector("html[data-sse=open]", state="attached")
    return page


def show(page, view: str) -> None:
    """At phone size, the Chat or List tab; at desktop size both are always shown."""
    if page.viewport_size["width"] <= 600:
        page.tap(f"#view-{view}")


def press(page, selector: str) -> None:
    (page.tap if page.viewport_size["width"] <= 600 else page.click)(selector)


def send(page, text: str) -> None:
    show(page, "chat")
    page.fill("#msg", text)
    page.press("#msg", "Enter")


def idle(stack) -> None:
    def ended() -> bool:
        with stack.db() as db:
            return db.execute("SELECT count(*) FROM messages WHERE role = 'assistant' AND status IN"
                              " ('queued', 'streaming')").fetchone()[0] == 0
    wait_for(ended, 20, what="the model idle")


def overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_readme_try_it(demo, browser, size, tmp_path):
    idle(demo)
    page, other = open_tab(browser, demo, size), open_tab(browser, demo, "desktop")
    apples = f"buy apples {size}"
    send(page, f"add {apples}")  # the reply streams, no JSON shows, a chip confirms, every tab has the task
    chip = page.locator(".msg.assistant.done .chip.ok", has_text=f"Added '{apples}'")
    chip.wait_for()
    assert '"action"' not in page.inner_text("#chat-log")
    other.wait_for_selector(f"#task-list .name-text >> text={apples}")
    idle(demo)
    copy = page.locator(".msg.assistant.done button.copy").last  # Copy says it copied
    press(page, f"#{copy.get_attribute('id')}")
    said = wait_for(lambda: copy.get_attribute("data-copied") is not None and copy.inner_text(), what="Copy answers")
    assert said == "Copied", said

    show(page, "list")  # tick it by hand: the model comments
    page.locator("#task-list li", has_text=apples).locator("input.toggle").click()
    page.wait_for_selector(f"#chat-log .msg.event >> text=You ticked off '{apples}'", state="attached")
    show(page, "chat")
    page.locator(".msg.assistant.comment.done", has_text=apples).wait_for()
    idle(demo)

    replies, cards = page.locator(".msg.assistant").count(), page.locator(".card.help").count()
    send(page, "!help")  # one answer: the card heads the model's reply, and stays after a reload
    page.locator(".msg.assistant.help.done .card.help").nth(cards).wait_for()
    assert page.locator(".msg.assistant").count() == replies + 1 and page.locator(".card.help").count() == cards + 1
    idle(demo)
    page.reload()
    page.wait_for_selector(".msg.assistant.help .card.help")

    send(page, "!test")  # the alert, off the buttons
    toast = page.locator(".toast", has_text="Self-test")
    toast.wait_for()
    for button in ("#chat-form button.primary", "#chat-form button[hx-post='/poke']"):
        assert not overlaps(box(page, ".toast"), box(page, button)), f"the toast covers {button}"

    send(page, "hello there")  # Stop ends a reply mid-stream; its figures say nothing unknown
    page.locator(".msg.assistant.streaming button.stop, .msg.assistant.queued button.stop").last.wait_for()
    press(page, ".msg.assistant button.stop >> nth=-1")
    stopped = page.locator(".msg.assistant.cancelled").last
    stopped.wait_for()
    wait_for(lambda: stopped.locator(".reply-meta").inner_text().strip() != "", what="its figures")
    assert "?" not in stopped.locator(".reply-meta").inner_text(), stopped.locator(".reply-meta").inner_text()
    idle(demo)

    press(page, "#chat-form button:has-text('Poke')")  # a nudge
    page.wait_for_selector("#chat-log .msg.event >> text=You poked the ghost", state="attached")
    page.locator(".msg.assistant.comment.done", has_text="poke").last.wait_for()
    idle(demo)

    press(page, "#conversations > summary")  # ☰ Chats opens; Escape closes it
    page.wait_for_selector("#new-chat", state="visible")
    page.keyboard.press("Escape")
    page.wait_for_selector("#new-chat", state="hidden")

    retry_and_edit(page, demo)
    shot(page, f"try-it-{size}-conversation")
    press(page, "#conversations > summary")  # + New chat: a fresh conversation, the same list
    press(page, "#new-chat")
    wait_for(lambda: page.locator("#chat-log > *").count() == 0, what="a new, empty chat")
    show(page, "list")
    page.wait_for_selector(f"#task-list .name-text >> text={apples}")

    file = tmp_path / "tasks.json"  # the list as a file: Import, Undo import
    file.write_text(json.dumps({"format": "ghostwire.tasks", "version": 1,
                                "tasks": [{"name": f"imported one {size}"}, {"name": f"imported two {size}"}]}))
    show(page, "list")
    page.set_input_files("#import-file", str(file))
    page.wait_for_selector("#import-result >> text=Imported 2 tasks.")
    assert not overlaps(box(page, ".list-controls"), box(page, ".transfer")), "the import's note squeezed the controls"
    press(page, "#import-result button")
    page.wait_for_selector("#import-result >> text=Import undone")
    wait_for(lambda: not any(t[1].startswith("imported") for t in demo.tasks()), what="the import undone")
    idle(demo)
    show(page, "chat")
    shot(page, f"try-it-{size}")
    show(page, "list")
    shot(page, f"try-it-{size}-list")
    page.goto(demo.url + "/changes")
    shot(page, f"changes-{size}", full_page=True)
    table = page.inner_text("#changes-table")
    assert "POST /" not in table and "(reply " not in table and "/undo/" not in table, "no internals"
    assert all(h.strip() for h in page.eval_on_selector_all("#changes-table th", "hs => hs.map(h => h.innerText)"))
    first = page.locator("#changes-table time").first
    local = page.evaluate("(iso) => new Date(iso).toLocaleTimeString()", first.get_attribute("datetime"))
    assert first.inner_text() == local and first.get_attribute("datetime")[11:19] != local[:8], "the reader's time"
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")
    assert not page.problems, page.problems
    other.context.close()
    page.context.close()


def retry_and_edit(page, stack) -> None:
    """↻ Retry asks again, ✎ Edit puts the newest message back in the box; each keeps a "‹ 1/2 ›" switcher.
    The speed line is under each finished reply."""
    show(page, "chat")
    send(page, "add pears")
    page.locator(".msg.assistant.done .chip.ok", has_text="Added 'pears'").last.wait_for()
    idle(stack)
    assert "tok/s" in page.locator(".msg.assistant.done .reply-meta").last.inner_text()
    press(page, ".attempt-bar.reply .retry-button >> nth=-1")
    page.locator(".attempt-bar.reply .switcher .count", has_text="2/2").last.wait_for()
    wait_for(lambda: sum(t[1] == "pears" for t in stack.tasks()) == 1, what="one pears: the first attempt undone")
    idle(stack)
    press(page, ".attempt-bar.user .edit >> nth=-1")
    assert page.input_value("#msg") == "add pears"
    page.fill("#msg", "add plums")
    page.press("#msg", "Enter")
    page.locator(".attempt-bar.user .switcher .count", has_text="2/2").last.wait_for()
    wait_for(lambda: "plums" in [t[1] for t in stack.tasks()] and "pears" not in [t[1] for t in stack.tasks()],
             what="the edit's reply in place of the first")
    idle(stack)
    # The edit redraws the whole log (a new element, scrolled to its top): the newest reply is still in view.
    at_end = "() => { const l = document.getElementById('chat-log'); return l.scrollHeight - l.scrollTop - l.clientHeight < 2; }"
    wait_for(lambda: page.evaluate(at_end), what="the chat log at its end after the edit")


def test_a_long_paste_is_kept_whole_and_refused_in_words(demo, browser):
    page = open_tab(browser, demo, "desktop")
    long = "x" * 12_000
    page.fill("#msg", long)
    assert len(page.input_value("#msg")) == len(long), "the box keeps the whole paste: nothing cut silently"
    page.press("#msg", "Enter")
    page.wait_for_selector("#chat-error >> text=That message is 12,000 characters; the limit is 8,000")
    assert page.input_value("#msg") == long, "and the text is still there to shorten"
    page.context.close()


def test_an_empty_list_and_an_empty_chat_say_so(demo, browser):
    for task_id, *_ in demo.tasks():
        assert demo.http.delete(f"/tasks/{task_id}").status_code == 200
    idle(demo)
    page = open_tab(browser, demo, "desktop")
    page.click("#conversations > summary")
    page.click("#new-chat")
    page.wait_for_url("**/?c=*")  # the new chat opens as a page of its own (HX-Redirect)
    page.wait_for_selector("html[data-sse=open]", state="attached")
    before = ("(s) => { const e = document.querySelector(s);"
              " return e && !e.children.length ? getComputedStyle(e, '::before').content : ''; }")
    wait_for(lambda: "Nothing said yet" in page.evaluate(before, "#chat-log"), what="the empty chat's note")
    wait_for(lambda: "No tasks yet" in page.evaluate(before, "#task-list"), what="the empty list's note")
    shot(page, "empty-desktop")
    page.context.close()


def test_a_send_that_cant_reach_the_web_says_so_and_keeps_the_text(demo, browser):
    page = open_tab(browser, demo, "desktop")
    demo.ctl("stop", "web")
    try:
        page.fill("#msg", "are you there?")
        page.press("#msg", "Enter")
        page.wait_for_selector("#chat-error >> text=Couldn't reach Ghostwire")
        assert page.input_value("#msg") == "are you there?"
        page.fill("#new-task", "offline task")
        page.press("#new-task", "Enter")
        page.wait_for_selector("#task-error >> text=Couldn't reach Ghostwire")
    finally:
        demo.ctl("start", "web")
        wait_for(demo.healthy, 30, what="the web back")
    page.context.close()


def test_a_message_the_database_never_stored_leaves_nothing_behind(demo, browser):
    idle(demo)
    page = open_tab(browser, demo, "desktop")
    before = page.locator("#chat-log .msg").count()
    demo.ctl("stop", "crud_worker")
    try:
        page.fill("#msg", "nobody will store this")
        page.press("#msg", "Enter")
        page.wait_for_selector("#chat-error >> text=not sent", timeout=30_000)
        assert page.input_value("#msg") == "nobody will store this", "the text is kept"
        page.click("#chat-form button[hx-post='/poke']")  # Poke, too, says it where it was pressed
        page.wait_for_selector("#chat-error >> text=crud_worker")
        wait_for(lambda: page.locator("#chat-log .msg").count() == before, what="no bubble left in this tab")
        page.reload()
        page.wait_for_selector("html[data-sse=open]", state="attached")
        assert "nobody will store this" not in page.inner_text("#chat-log")
        assert page.locator("#chat-log .msg.assistant.failed").count() == 0, "no error bubble with a Retry"
    finally:
        demo.ctl("start", "crud_worker")
        wait_for(demo.healthy, 30, what="the crud_worker back")
    page.context.close()


def test_the_favicon_is_served(demo):
    assert demo.http.get("/static/favicon.svg").status_code == 200
    asked_the_old_way = httpx.get(f"{demo.url}/favicon.ico", follow_redirects=True)
    assert asked_the_old_way.status_code == 200 and asked_the_old_way.headers["content-type"] == "image/svg+xml"
    assert 'rel="icon"' in httpx.get(demo.url).text  # the whole page (the stack's client asks as htmx)
