"""An outside agent in a real browser: an MCP client adds a task while a tab is open; the tab shows it
at once with a chip naming the agent (escaped), and Undo on that chip takes it back."""

from __future__ import annotations

import threading

import pytest

from tests.browser.test_undo_ui import shown
from tests.browser.test_two_tabs import open_tab
from tests.mcp.client import run, session, text
from tests.util import wait_for

pytestmark = pytest.mark.browser
AGENT = "Claude <i>Desktop</i>"


def in_a_thread(fn, *args):
    """The MCP client on its own event loop: Playwright's sync API keeps one running in this thread."""
    out: list = []
    worker = threading.Thread(target=lambda: out.append(run(fn, *args)))
    worker.start()
    worker.join(60)
    assert out, "the MCP client did not finish"
    return out[0]


def test_an_agents_task_shows_in_the_tab_with_its_name_and_undo_works(stack, browser):
    tab = open_tab(browser, stack.url)

    async def add():
        async with session(stack.url, AGENT) as s:
            return await s.call_tool("insert_task", {"name": "ui from an agent"})

    added = in_a_thread(add)
    assert not added.isError, text(added)
    task_id = added.structuredContent["task"]["id"]
    wait_for(lambda: (str(task_id), "ui from an agent", False) in shown(tab), what="the agent's task in the tab")
    chip = tab.locator(".msg.event.agent .chip.ok", has_text="Added 'ui from an agent'")
    chip.wait_for()
    assert chip.inner_text().startswith("✓ Added 'ui from an agent' — by Claude <i>Desktop</i>")  # as text
    assert tab.locator(".msg.event.agent i").count() == 0, "the agent's name was rendered as HTML"

    chip.locator("button.chip-action.undo").click()
    wait_for(lambda: all(i != str(task_id) for i, _, _ in shown(tab)), what="Undo takes the task out of the tab")
    tab.locator(".msg.event.agent .chip.undone", has_text="(undone)").wait_for()
    tab.wait_for_selector(".msg.event >> text=You undid: Added 'ui from an agent'")
    assert task_id not in [t[0] for t in stack.tasks()]
    assert not tab.errors
