"""A phone, in a real browser: at 390×800 with touch the page is usable — the input, the list and a long
task name in full on screen with no sideways scroll, 40 px touch targets, a finger drags a task to a
new place; the page follows the system's light or dark preference and its reduced motion; the chat is
a polite live region that reads a reply once; every control has a name; Copy puts a reply's text on
the clipboard."""

from __future__ import annotations


import pytest

from tests.fakes import Script
from tests.util import settle, wait_for

pytestmark = pytest.mark.browser

LONG_NAME = ("Call the landlord about the dripping kitchen tap, then book the plumber for Thursday morning "
             "and tell the neighbours downstairs")


def put_tasks(stack, names: list[str], fake=None) -> list[int]:
    """The list as `names`; with `fake`, also wait until the model's comments on it have come and gone."""
    for task_id, *_ in stack.tasks():
        assert stack.http.delete(f"/tasks/{task_id}").status_code == 200
    for name in names:
        assert stack.http.post("/tasks", data={"name": name}).status_code == 200
    ids = wait_for(lambda: [[t[0] for t in stack.tasks()]] if [t[1] for t in stack.tasks()] == names else None,
                   what="the tasks")[0]
    if fake is not None:
        settle(stack, fake, 1.2)
    return ids


def open_page(page, stack) -> None:
    page.goto(stack.url)
    page.wait_for_selector("html[data-sse=open]", state="attached")


def box(page, selector: str) -> dict:
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height}; }""",
                         selector)


def on_screen(page, b: dict) -> bool:
    size = page.viewport_size
    return b["width"] > 0 and b["height"] > 0 and b["left"] >= 0 and b["top"] >= 0 \
        and b["right"] <= size["width"] and b["bottom"] <= size["height"]


def list_view(page) -> None:
    """At phone widths the list has a screen of its own, a tap on its tab away (test_phone_views.py)."""
    page.tap("#view-list")
    page.wait_for_selector("#task-list", state="visible")


def test_at_390_px_the_input_the_list_and_a_whole_long_name_are_on_screen(stack, phone, tmp_path):
    ids = put_tasks(stack, ["milk", LONG_NAME, "bread"])
    open_page(phone, stack)
    for selector in ("#msg", "#chat-form button[type=submit]"):
        assert on_screen(phone, box(phone, selector)), f"{selector} is not on screen: {box(phone, selector)}"
    list_view(phone)
    for selector in ("#new-task", "#task-list"):
        assert on_screen(phone, box(phone, selector)), f"{selector} is not on screen: {box(phone, selector)}"
    name = f"#task-{ids[1]} .name-text"
    shown = box(phone, name)
    assert on_screen(phone, shown), shown
    list_box = box(phone, "#task-list")
    assert list_box["top"] <= shown["top"] and shown["bottom"] <= list_box["bottom"], "inside the list's window"
    assert phone.inner_text(name) == LONG_NAME, "the whole name is shown"
    assert phone.evaluate("(sel) => { const e = document.querySelector(sel); return e.scrollWidth <= e.clientWidth"
                          " && e.scrollHeight <= e.clientHeight + 1; }", name), "not cut off"
    assert shown["height"] >= 2 * box(phone, f"#task-{ids[0]} .name-text")["height"] * 0.9, "it wraps"
    assert phone.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth"), "no sideways scroll"
    header = box(phone, "header")
    assert header["height"] <= 60, f"the header is compact: {header}"
    widths = "() => [...document.querySelectorAll('#status .proc')].map(e => e.getBoundingClientRect().width)"
    assert max(phone.evaluate(widths)) < 16, "the processes fold to their lights"
    phone.tap("#status-toggle")
    assert phone.get_attribute("#status-toggle", "aria-expanded") == "true"
    wait_for(lambda: min(phone.evaluate(widths)) > 40, what="the whole status shown, names and all")
    assert phone.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")
    assert not phone.errors


def test_at_390_px_every_control_is_a_40_px_target(stack, fake_ollama, phone):
    put_tasks(stack, ["touch me"], fake_ollama)
    fake_ollama.enqueue(Script(tokens=["Sure, I will add that for you right now. " * 6,
                                       '{"action": "insert", "target": "task", "args": {"name": "tap"}}']))
    open_page(phone, stack)
    phone.fill("#msg", "add tap")
    phone.press("#msg", "Enter")
    phone.wait_for_selector(".msg.assistant.done .chip-action", timeout=15_000)
    small = phone.evaluate("""() => [...document.querySelectorAll(
            'button, input:not([type=hidden]), select, textarea, a, label, .handle')]
        .filter(e => !e.closest('.md') || e.matches('.chip-action'))  // links in a reply's prose are text
        .map(e => [e, e.getBoundingClientRect()])
        .filter(([e, r]) => r.width > 0 && r.height > 0 && getComputedStyle(e).opacity !== '0')
        .filter(([e, r]) => r.width < 40 || r.height < 40)
        .map(([e, r]) => `${e.outerHTML.slice(0, 80)} ${Math.round(r.width)}×${Math.round(r.height)}`)""")
    assert small == [], small
    # A reply's bubble holds its Copy button and speed line (a message's kind is also a class: `.chat`
    # once squeezed every chat reply to the panel's flex basis, its tail spilling over the Retry bar).
    spilled = phone.evaluate("""() => [...document.querySelectorAll('.msg.assistant.done')].flatMap(m => {
            const box = m.getBoundingClientRect();
            return [...m.querySelectorAll('.copy, .reply-meta')].filter(e => e.getBoundingClientRect().bottom > box.bottom + 1)
                .map(e => e.className); })""")
    assert spilled == [], spilled


def test_a_finger_drags_a_task_to_the_top(stack, phone):
    ids = put_tasks(stack, ["drag one", "drag two", "drag three"])
    open_page(phone, stack)
    list_view(phone)
    handle, target = box(phone, f"#task-{ids[2]} .handle"), box(phone, f"#task-{ids[0]}")
    cdp = phone.context.new_cdp_session(phone)
    x, y = handle["left"] + handle["width"] / 2, handle["top"] + handle["height"] / 2
    to_y = target["top"] + 4

    def touch(kind: str, at_y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": at_y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", y)
    steps = 12
    for i in range(1, steps + 1):
        touch("touchMove", y + (to_y - y) * i / steps)
        phone.wait_for_timeout(16)  # a finger's pace, one frame a step: Sortable reads the moves as they come
    touch("touchEnd", to_y)
    wait_for(lambda: [t[0] for t in stack.tasks()] == [ids[2], ids[0], ids[1]], what="the new order stored")
    wait_for(lambda: phone.eval_on_selector_all("#task-list li", "els => els.map(e => +e.dataset.id)")
             == [ids[2], ids[0], ids[1]], what="the new order shown")
    assert not phone.errors


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_the_page_follows_the_systems_colour_scheme(stack, browser, scheme):
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    try:
        open_page(page, stack)
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        level = sum(int(v) for v in background[background.index("(") + 1:-1].split(",")[:3]) / 3
        assert (level < 60) if scheme == "dark" else (level > 200), (scheme, background)
        assert page.evaluate("() => getComputedStyle(document.documentElement).colorScheme") == scheme
    finally:
        context.close()


def test_reduced_motion_stops_the_cursor_blinking_and_the_drag_animation(stack, fake_ollama, browser):
    context = browser.new_context(reduced_motion="reduce")
    page = context.new_page()
    try:
        put_tasks(stack, ["still"], fake_ollama)
        fake_ollama.enqueue(Script(tokens=[f"slow{i} " for i in range(60)], delay=0.05))
        open_page(page, stack)
        assert page.evaluate("() => document.querySelector('.tasks').sortable.options.animation") == 0
        page.fill("#msg", "take your time")
        page.press("#msg", "Enter")
        page.wait_for_selector(".msg.assistant.queued .stream", state="attached")  # live until it ends
        assert page.evaluate("() => getComputedStyle(document.querySelector('.msg.queued .stream'), '::after')"
                             ".animationName") == "none"
        page.wait_for_selector(".msg.assistant.done", timeout=15_000)
    finally:
        context.close()


def test_a_streaming_reply_is_announced_once_politely(stack, fake_ollama, page):
    """The chat is a polite log of additions; the streaming reply is aria-busy (a screen reader holds its
    tokens) until its final bubble replaces it, which is then read once."""
    settle(stack, fake_ollama, 1.2)
    fake_ollama.enqueue(Script(tokens=[f"word{i} " for i in range(40)], delay=0.04))
    open_page(page, stack)
    log = page.evaluate("() => { const l = document.getElementById('chat-log'); return [l.getAttribute('role'),"
                        " l.getAttribute('aria-live'), l.getAttribute('aria-relevant')]; }")
    assert log == ["log", "polite", "additions"]
    assert page.evaluate("() => document.querySelectorAll('[aria-live]:not(#chat-log):not(#toasts)"
                         ":not(#import-result)').length") == 0, "no other live region re-reads the chat"
    page.fill("#msg", "announce me")
    page.press("#msg", "Enter")
    live = page.locator(".msg.assistant.chat").last
    wait_for(lambda: "word3" in live.inner_text(), what="tokens streaming")
    assert live.get_attribute("aria-busy") == "true"
    page.wait_for_selector(".msg.assistant.done", timeout=15_000)
    assert page.get_attribute(".msg.assistant.done >> nth=-1", "aria-busy") is None


CONTROL_ROLES = {"button", "textbox", "checkbox", "combobox", "link", "listbox", "menuitem", "slider", "switch",
                 "radio", "spinbutton", "searchbox", "tab"}


def test_every_control_has_an_accessible_name(stack, fake_ollama, phone):
    put_tasks(stack, ["named"], fake_ollama)
    fake_ollama.enqueue(Script(tokens=["Done: ", '{"action": "toggle", "target": "task", "args": {"id": 1}}']))
    open_page(phone, stack)
    phone.fill("#msg", "name everything")
    phone.press("#msg", "Enter")
    phone.wait_for_selector(".msg.assistant.done", timeout=15_000)
    tree = phone.context.new_cdp_session(phone).send("Accessibility.getFullAXTree")["nodes"]
    controls = [n for n in tree if not n.get("ignored") and n.get("role", {}).get("value") in CONTROL_ROLES]
    assert len(controls) >= 10, "found the page's controls"
    nameless = [(n["role"]["value"], n.get("backendDOMNodeId")) for n in controls
                if not (n.get("name", {}).get("value") or "").strip()]
    assert nameless == []


def test_copy_puts_the_replys_text_on_the_clipboard(stack, fake_ollama, browser):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        put_tasks(stack, [], fake_ollama)
        fake_ollama.enqueue(Script(tokens=["Here is **bold** advice.\n\n", '{"action": "insert", "target": "task",'
                                           ' "args": {"name": "copied"}}', "\n\n- one\n- two\n"]))
        open_page(page, stack)
        page.fill("#msg", "copy me")
        page.press("#msg", "Enter")
        bubble = page.locator(".msg.assistant.done").last
        bubble.wait_for(timeout=15_000)
        bubble.locator(".chip.ok").wait_for()
        bubble.locator("button.copy").click()
        wait_for(lambda: bubble.locator("button.copy").inner_text() == "Copied", what="the button to say so")
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied.split() == "Here is bold advice. one two".split(), repr(copied)
        assert "Added" not in copied and "action" not in copied, "no chip, no command"
    finally:
        context.close()


def test_the_page_imports_a_file_and_undoes_the_import(stack, phone, tmp_path):
    put_tasks(stack, ["already here"])
    file = tmp_path / "tasks.json"
    file.write_text('{"format": "ghostwire.tasks", "version": 1, "tasks": [{"name": "from the file"},'
                    ' {"name": "done in the file", "done": true}]}')
    open_page(phone, stack)
    list_view(phone)
    phone.set_input_files("#import-file", str(file))
    phone.wait_for_selector("#import-result >> text=Imported 2 tasks.")
    wait_for(lambda: phone.eval_on_selector_all("#task-list .name-text", "els => els.map(e => e.innerText)")
             == ["already here", "from the file", "done in the file"], what="the imported tasks shown")
    assert phone.locator("#task-list li.done .name-text").inner_text() == "done in the file"
    phone.tap("#import-result button")
    wait_for(lambda: [t[1] for t in stack.tasks()] == ["already here"], what="the whole import undone")
    other = tmp_path / "other.json"
    other.write_text('{"tasks": []}')
    phone.set_input_files("#import-file", str(other))
    phone.wait_for_selector("#task-error >> text=Nothing was imported: that file is not a Ghostwire task export"
                            " (Object missing required field `format`)")
    assert phone.inner_text("#import-result") == "", "the earlier import's note is gone"
    huge = tmp_path / "huge.json"  # over the edge's 256 KB
    huge.write_text('{"format": "ghostwire.tasks", "version": 1, "tasks": [' +
                    ", ".join(f'{{"name": "huge {i} {"y" * 200}"}}' for i in range(1_500)) + "]}")
    phone.set_input_files("#import-file", str(huge))
    phone.wait_for_selector("#task-error >> text=Nothing was imported: the file is too large (request too large")
    assert [t[1] for t in stack.tasks()] == ["already here"]
    assert not phone.errors
