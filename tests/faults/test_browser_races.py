"""A real browser tab through faults: its live stream drops (offline) or the web process is killed
and comes back; and the race between a POST's response and the SSE stream on another connection."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from tests.faults.helpers import ready_count, sigkill, wait_restarted
from tests.report import STATS
from tests.fakes import Script
from tests.util import wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def tab(stack, browser):
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(stack.url)
    page.wait_for_selector("html[data-sse=open]", state="attached")
    yield page
    context.close()


def duplicate_ids(page) -> list[str]:
    return page.evaluate("""() => { const seen = {}; document.querySelectorAll('[id]').forEach(e => {
        seen[e.id] = (seen[e.id] || 0) + 1; }); return Object.keys(seen).filter(k => seen[k] > 1); }""")


def names(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('#task-list input.name')].map(i => i.value)")


def cut_connections(port: int) -> bool:
    """Reset every TCP connection the web server has (ss -K, needs root and INET_DIAG_DESTROY)."""
    out = subprocess.run(["ss", "-K", "-t", "state", "established", "sport", "=", f":{port}"],
                         capture_output=True, text=True)
    return out.returncode == 0 and len(out.stdout.strip().splitlines()) > 1


def test_a_tab_whose_stream_drops_catches_up_exactly_once(stack, tab):
    assert stack.http.post("/tasks", data={"name": "seen live"}).status_code == 200
    wait_for(lambda: "seen live" in names(tab), what="the live task")
    if shutil.which("ss") is None or not cut_connections(stack.port):
        pytest.skip("cannot reset TCP connections here (ss -K needs root)")
    wait_for(lambda: tab.evaluate("() => document.documentElement.dataset.sse") == "closed", 10,
             what="the tab to notice the dropped stream")
    missed = [f"added while away {i}" for i in range(5)]
    for name in missed:  # while the tab reconnects
        assert stack.http.post("/tasks", data={"name": name}).status_code == 200
    wait_for(lambda: all(n in names(tab) for n in missed), 20, what="the missed tasks after reconnecting")
    tab.wait_for_selector("html[data-sse=open]", state="attached")
    assert stack.http.post("/tasks", data={"name": "live again"}).status_code == 200
    wait_for(lambda: "live again" in names(tab), what="live updates after reconnecting")
    shown = names(tab)
    assert all(shown.count(n) == 1 for n in [*missed, "seen live", "live again"]), shown
    assert not duplicate_ids(tab) and not tab.errors
    STATS["reconnects"]["browser stream drops"] += 1


def test_a_tab_survives_a_web_restart_without_doubling_or_rerunning(stack, fake_ollama, tab):
    fake_ollama.enqueue(Script(tokens=["before ", "the ", "restart"], delay=0.01))
    tab.fill("#msg", "hello before the restart")
    tab.press("#msg", "Enter")
    tab.wait_for_selector(".msg.assistant.done >> text=before the restart")
    pid, ready = stack.pid("web"), ready_count(stack, "web")
    sigkill(stack, "web", pid)
    wait_restarted(stack, "web", pid, ready)
    assert stack.http.post("/tasks", data={"name": "after the web restart"}).status_code == 200
    wait_for(lambda: "after the web restart" in names(tab), 20, what="live again after the restart")
    assert tab.locator(".msg.user >> text=hello before the restart").count() == 1
    assert tab.locator(".msg.assistant >> text=before the restart").count() == 1
    assert not duplicate_ids(tab)
    # (the added task may draw a comment from the model: that is a new reply, not a re-run)
    asked = [r["messages"][-1]["content"] for r in fake_ollama.requests]  # (events before it may be merged in)
    assert sum(a.endswith("hello before the restart") for a in asked) == 1, f"coming back re-ran a reply: {asked}"
    fake_ollama.enqueue(Script(tokens=["after ", "it"]))
    tab.fill("#msg", "and after")
    tab.press("#msg", "Enter")
    tab.wait_for_selector(".msg.assistant.done >> text=after it")
    STATS["reconnects"]["browser web restarts"] += 1


def slow_chat_responses(page, seconds: float = 0.3) -> None:
    """The POST /chat answer reaches the tab a little after the SSE events (another connection)."""
    def handler(route):
        response = route.fetch()
        time.sleep(seconds)
        route.fulfill(response=response)

    page.route("**/chat", handler)


@pytest.mark.parametrize("script", ["instant failure", "instant reply"])
def test_the_sending_tab_shows_the_end_of_a_reply_that_beat_the_post_response(stack, fake_ollama, tab, script):
    """The POST's answer comes late; the reply's events, on the tab's event stream, must still land."""
    slow_chat_responses(tab)
    if script == "instant failure":
        fake_ollama.enqueue(Script(error_status=500, error_message="boom"))
    else:
        fake_ollama.enqueue(Script(tokens=["quick ", "answer"]))
    tab.fill("#msg", f"race: {script}")
    tab.press("#msg", "Enter")
    wait_for(lambda: tab.input_value("#msg") == "", what="the message sent")
    STATS["races"][script] += 1
    final = ".msg.assistant.failed" if script == "instant failure" else ".msg.assistant.done >> text=quick answer"
    tab.wait_for_selector(final, timeout=3_000)
