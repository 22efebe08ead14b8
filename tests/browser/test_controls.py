"""Every control of the list, used the way a person does — typing and Enter, a click, a drag with the mouse,
the keyboard's Ctrl+Z — and afterwards the list and the change log say exactly what was done. A control that
posts more than its own fields (the rename once carried the whole list and took the last task's name) shows
here as a wrong list or a wrong log line."""

from __future__ import annotations

import pytest

from tests.browser.test_phone import box, open_page, put_tasks
from tests.util import wait_for

pytestmark = pytest.mark.browser


def names(stack) -> list[tuple[str, bool]]:
    return [(t[1], bool(t[2])) for t in stack.tasks()]


def shown(page) -> list[tuple[str, bool]]:
    return [tuple(r) for r in page.eval_on_selector_all(
        "#task-list li", "els => els.map(li => [li.querySelector('input.name').value,"
                         " li.querySelector('input.toggle').checked])")]


def log_lines(page, stack, since: int) -> list[str]:
    """The changes page's "what" column for changes after `since`, oldest first, read as a person reads it."""
    page.goto(stack.url + "/changes")
    rows = page.eval_on_selector_all("#changes-table tbody tr.change", "rs => rs.map(r => [+r.dataset.seq,"
                                     " r.querySelector('.what').innerText])")
    return [what for seq, what in reversed(rows) if seq > since]


def newest_seq(stack) -> int:
    with stack.db() as db:
        return db.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]


def posted(page) -> list[tuple[str, str, str]]:
    return page.evaluate("() => window.__posted || []")


SPY = """() => { window.__posted = []; const send = XMLHttpRequest.prototype.send, open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (m, u) { this.__m = m; this.__u = u; return open.apply(this, arguments); };
  XMLHttpRequest.prototype.send = function (body) {
    window.__posted.push([this.__m, this.__u, typeof body === 'string' ? body : '']);
    return send.apply(this, arguments); };
}"""


def drag(page, handle_sel: str, target_sel: str) -> None:
    handle, target = box(page, handle_sel), box(page, target_sel)
    x, y = handle["left"] + handle["width"] / 2, handle["top"] + handle["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, target["top"] + 3, steps=12)
    page.mouse.up()


def test_every_list_control_as_a_person_uses_it(stack, fake_ollama, page):
    ids = put_tasks(stack, ["walk the dog", "buy grapes", "call mum"], fake_ollama)
    since = newest_seq(stack)
    open_page(page, stack)
    page.evaluate(SPY)

    page.fill("#new-task", "water plants")  # type and Enter
    page.press("#new-task", "Enter")
    wait_for(lambda: len(shown(page)) == 4, what="the new task shown")
    assert page.input_value("#new-task") == ""

    page.click(f"#task-{ids[1]} input.toggle")  # a click ticks it
    wait_for(lambda: names(stack)[1] == ("buy grapes", True), what="grapes done")

    page.click(f"#task-{ids[0]} .name-text")  # click the text, edit, Enter
    name = page.locator(f"#task-{ids[0]} input.name")
    wait_for(lambda: page.evaluate("() => document.activeElement.classList.contains('name')"), what="its field")
    name.fill("walk the cat")
    name.press("Enter")
    wait_for(lambda: names(stack)[0][0] != "walk the dog", what="the rename stored")
    assert names(stack)[:3] == [("walk the cat", False), ("buy grapes", True), ("call mum", False)]

    drag(page, f"#task-{ids[2]} .handle", f"#task-{ids[0]}")  # the mouse drags "call mum" to the top
    wait_for(lambda: [n for n, _ in names(stack)][:2] == ["call mum", "walk the cat"], what="the move stored")

    added = stack.tasks()[-1][0]
    page.click(f"#task-{added} button.delete")
    wait_for(lambda: len(stack.tasks()) == 3, what="the delete stored")

    page.locator("body").click(position={"x": 5, "y": 5})  # out of any field: the keyboard's undo
    page.keyboard.press("Control+z")
    wait_for(lambda: len(stack.tasks()) == 4, what="Ctrl+Z brings the deleted task back")
    page.keyboard.press("Control+Shift+z")
    wait_for(lambda: len(stack.tasks()) == 3, what="Ctrl+Shift+Z deletes it again")
    page.click("#list-controls .undo-last")
    wait_for(lambda: len(stack.tasks()) == 4, what="↶ Undo brings it back")
    final = [("call mum", False), ("walk the cat", False), ("buy grapes", True), ("water plants", False)]
    wait_for(lambda: shown(page) == final, what="the tab shows the list as stored")
    assert names(stack) == final

    bodies = {(m, u.split("?")[0]): b for m, u, b in posted(page)}
    assert bodies[("PUT", f"/tasks/{ids[0]}")] == "name=walk%20the%20cat", "a rename posts its name only"
    assert bodies[("POST", f"/tasks/{ids[1]}/toggle")] == "", "a toggle posts nothing"
    assert sorted(bodies[("POST", "/tasks/order")].split("&")) == [f"before={ids[0]}", f"id={ids[2]}"], \
        "a drag posts the moved task and where it went"

    assert log_lines(page, stack, since) == [
        "Added 'water plants'", "Marked 'buy grapes' done", "Renamed 'walk the dog' to 'walk the cat'",
        "Reordered the list", "Removed 'water plants'", "Brought back 'water plants'", "Removed 'water plants'",
        "Brought back 'water plants'"]
    assert not page.errors


def test_a_request_the_edge_refuses_is_said_in_the_page(stack, page):
    """Over Starlette's 1,000 form fields: refused before any route (the edge answers it as a 422 in plain
    words, web/edge.py). The page once showed nothing."""
    open_page(page, stack)
    page.evaluate("""() => htmx.ajax('POST', '/tasks/order', {source: '#task-order', target: '#task-error',
        swap: 'innerHTML', values: {ids: Array.from({length: 1200}, (_, i) => String(i + 1))}})""")
    page.wait_for_selector("#task-error >> text=the request's form can't be read")
    assert "too many fields" in page.inner_text("#task-error"), "said in words, not the parser's"
