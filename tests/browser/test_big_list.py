"""At the list's limit, 5,000 tasks: rename, toggle, drag and delete from the page each post a few bytes
(their own fields) and work; posting the whole list's form once made them fail at ~500 tasks (400, too many
fields) and the drag at ~4,900 (413). Its own stack: a list this long would slow every other test."""

from __future__ import annotations

import json

import pytest

from crud_worker.tasks import MAX_TASKS
from tests.browser.test_controls import SPY, drag, posted
from tests.fixtures import stack_fixtures
from tests.util import wait_for

pytestmark = pytest.mark.browser

fake_ollama, stack = stack_fixtures("module")


def test_every_control_works_at_the_lists_limit(stack, browser, tmp_path):
    file = tmp_path / "big.json"
    file.write_text(json.dumps({"format": "ghostwire.tasks", "version": 1,
                                "tasks": [{"name": f"big {i}"} for i in range(MAX_TASKS)]}))
    with file.open("rb") as f:
        assert stack.http.post("/tasks/import", files={"file": ("big.json", f, "application/json")},
                               timeout=120).status_code == 200
    ids = [t[0] for t in stack.tasks()]
    assert len(ids) == MAX_TASKS
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(60_000)
    page.goto(stack.url, timeout=120_000)
    page.wait_for_selector("html[data-sse=open]", state="attached", timeout=120_000)
    page.evaluate(SPY)
    middle = ids[250]  # among the rows the page holds at first (the rest load as the list scrolls: test_big_list_ui)

    page.click(f"#task-{middle} .name-text")
    page.locator(f"#task-{middle} input.name").fill("big renamed")
    page.locator(f"#task-{middle} input.name").press("Enter")
    wait_for(lambda: [t[1] for t in stack.tasks() if t[0] == middle] == ["big renamed"], 60, what="the rename")

    page.click(f"#task-{middle} input.toggle")
    wait_for(lambda: [t[2] for t in stack.tasks() if t[0] == middle] == [1], 60, what="the toggle")

    page.locator(f"#task-{ids[1]}").scroll_into_view_if_needed()
    drag(page, f"#task-{ids[1]} .handle", f"#task-{ids[0]}")
    wait_for(lambda: [t[0] for t in stack.tasks()][:2] == [ids[1], ids[0]], 60, what="the move")

    page.click(f"#task-{ids[299]} button.delete")  # the last row the page holds at first
    wait_for(lambda: len(stack.tasks()) == MAX_TASKS - 1, 60, what="the delete")
    assert ids[299] not in [t[0] for t in stack.tasks()]

    sizes = {f"{m} {u.split('?')[0]}": len(b) for m, u, b in posted(page)}
    assert max(sizes.values()) < 100, f"each control posts its own few fields: {sizes}"
    assert page.inner_text("#task-error") == "", "nothing refused"
    page.context.close()
