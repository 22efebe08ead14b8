"""A page on another origin (a second local web server, another port) tries to drive Ghostwire in the
person's own browser: fetch() and a form POST. Nothing it sends may take effect."""

from __future__ import annotations

import http.server
import threading

import pytest

from tests.report import STATS
from tests.stack import free_port
from tests.util import wait_for

pytestmark = pytest.mark.browser

MARK = "EVILMARK"
ATTACK = """<!doctype html><html><body>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="POST" action="{app}/chat" target="sink"><input name="msg" value="form chat {mark}"></form>
<script>
const APP = "{app}";
async function attack() {{
  const writes = [["POST", "/tasks", "name=fetched+task+{mark}"], ["POST", "/tasks/{task}/toggle", ""],
                  ["POST", "/chat", "msg=fetched+chat+{mark}"], ["POST", "/poke", ""],
                  ["POST", "/tasks/order", "ids={task}"], ["PUT", "/tasks/{task}", "name=renamed+{mark}"],
                  ["DELETE", "/tasks/{task}", ""], ["POST", "/conversations", ""],
                  ["DELETE", "/conversations/default", ""],
                  ["POST", "/tasks/import", "file=%7B%22format%22%3A+%22ghostwire.tasks%22%2C+%22version%22%3A+1%2C+%22tasks%22%3A+%5B%7B%22name%22%3A+%22imported+{mark}%22%7D%5D%7D"]];
  const results = [];
  for (const [method, path, body] of writes) {{
    try {{
      const r = await fetch(APP + path, {{method, mode: "no-cors", credentials: "include", body: body || undefined,
        headers: {{"Content-Type": "application/x-www-form-urlencoded"}}}});
      results.push(method + " " + path + " " + r.type);
    }} catch (e) {{ results.push(method + " " + path + " blocked"); }}
  }}
  for (const path of ["/health", "/tasks/export.json"]) {{
    try {{
      const r = await fetch(APP + path);
      results.push("read " + path + " " + r.status);
    }} catch (e) {{ results.push("read " + path + " blocked"); }}
  }}
  window.__results = results;
  document.getElementById("f").submit();
}}
attack();
</script></body></html>"""


class EvilSite:
    """The attacker's origin: http://127.0.0.1:<another port>/ serving one page."""

    def __init__(self, html: str):
        body = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.url = f"http://127.0.0.1:{self.port}/"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def state(stack) -> tuple:
    with stack.db() as db:
        return (db.execute("SELECT id, name, done, priority FROM tasks ORDER BY id").fetchall(),
                db.execute("SELECT count(*) FROM messages WHERE role = 'user'").fetchone()[0],
                db.execute("SELECT id, title FROM conversations ORDER BY id").fetchall())


def test_another_origins_page_cannot_write(stack, fake_ollama, browser):
    assert stack.http.post("/tasks", data={"name": "victim's task"}).status_code == 200
    task = wait_for(lambda: [t[0] for t in stack.tasks() if t[1] == "victim's task"], what="a task")[0]
    before, sent = state(stack), len(fake_ollama.requests)
    context = browser.new_context()
    page = context.new_page()
    try:
        with EvilSite(ATTACK.format(app=stack.url, mark=MARK, task=task)) as evil:
            page.goto(evil.url)
            results = wait_for(lambda: page.evaluate("() => window.__results"), what="the attack to run")
            sink = page.frame(name="sink")
            sink.wait_for_url(f"{stack.url}/chat")  # the form POST landed
            sink.wait_for_load_state()
            landed = sink.content()
    finally:
        context.close()
    STATS["security"]["cross-origin browser writes tried"] += len(results) - 1  # 10 fetches and the form
    assert len(results) == 12, results
    assert "cross-origin request refused" in landed, "the form POST reached the app and was refused"
    assert "read /health blocked" in results, "and the page cannot read the app's answers (no CORS)"
    assert "read /tasks/export.json blocked" in results, "nor the list's export"
    assert state(stack) == before, "nothing the page sent took effect"
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM messages WHERE content LIKE ?", [f"%{MARK}%"]).fetchone() == (0,)
    assert not [r for r in fake_ollama.requests[sent:] if MARK in str(r) or "poked" in str(r)], "nor reached the model"


def test_the_same_requests_from_the_apps_own_page_work(stack, browser):
    """The control: the attack's fetch, run by Ghostwire's own origin, does add the task."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(stack.url)
        status = page.evaluate("""async () => (await fetch("/tasks", {method: "POST", body: "name=own+origin+task",
            headers: {"Content-Type": "application/x-www-form-urlencoded"}})).status""")
    finally:
        context.close()
    assert status == 200
    wait_for(lambda: "own origin task" in [t[1] for t in stack.tasks()], what="the task from the app's own page")
