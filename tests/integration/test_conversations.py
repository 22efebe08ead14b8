"""Conversations and attempts on the real four processes: new, list, open, rename, delete, export;
the model's context is the current conversation only; a reply keeps streaming into a conversation no
tab shows; retry and edit keep the earlier attempt beside the new one and never do a command twice."""

from __future__ import annotations

import re

import httpx
import pytest

from bus import contract as c
from tests.bustap import BusTap
from tests.fakes import FakeOllama, Script
from tests.fakes.ollama import tag
from tests.util import SseReader, wait_for

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def fake_ollama():
    """Two chat models, so a retry can pick the other one (the module's stack talks to this fake)."""
    with FakeOllama(models=[tag("llama3.2:3b"), tag("qwen3:4b", size=2_500_000_000)]) as fake:
        yield fake
INSERT = '{{"action": "insert", "target": "task", "args": {{"name": "{name}"}}}}'


def new_conversation(stack) -> str:
    r = stack.http.post("/conversations", headers=JSON)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def listed(stack) -> dict[str, dict]:
    r = stack.http.get("/conversations", headers=JSON)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    return {item["id"]: item for item in r.json()["conversations"]}


def chat(stack, conversation_id: str, text: str, **extra) -> tuple[str, str]:
    r = stack.http.post("/chat", data={"msg": text, "conversation_id": conversation_id, **extra})
    assert r.status_code == 200, r.text
    return r.headers["ghostwire-message-id"], r.headers["ghostwire-reply-id"]


def named(stack, name: str) -> int:
    return sum(1 for t in stack.tasks() if t[1] == name)


def test_new_list_open_rename_and_delete(stack, fake_ollama):
    first = new_conversation(stack)
    assert listed(stack)[first]["title"] == "New chat"
    fake_ollama.enqueue(Script(tokens=["Sure. ", INSERT.format(name="kept after delete")]))
    _, reply = chat(stack, first, "Plan   the garden party for Saturday afternoon with the neighbours and their dogs")
    stack.wait_message(reply)
    wait_for(lambda: named(stack, "kept after delete") == 1, what="the model's task")
    item = listed(stack)[first]
    assert item["title"] == "Plan the garden party for Saturday afternoon with the…", "first message, shortened"
    second = new_conversation(stack)
    assert list(listed(stack))[0] == second, "the newest activity first"

    opened = stack.http.post(f"/conversations/{first}/open", headers=JSON)
    assert opened.status_code == 200 and opened.json()["id"] == first
    assert "ghostwire_conversation=" in opened.headers["set-cookie"]
    page = stack.http.get(f"/?c={first}", headers={})
    assert "Plan the garden party" in page.text and f'"Ghostwire-Conversation": "{first}"' in page.text.replace(
        "&quot;", '"')
    assert stack.http.get("/conversations").text.count("/?c=") >= 2, "without JSON: a page"

    r = stack.http.post(f"/conversations/{first}/rename", data={"title": "  Garden   party "}, headers=JSON)
    assert r.status_code == 200 and listed(stack)[first]["title"] == "Garden party"
    assert stack.http.post(f"/conversations/{first}/rename", data={"title": " "}).status_code == 422

    assert stack.http.delete(f"/conversations/{first}", headers=JSON).status_code == 200
    assert first not in listed(stack)
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", [first]).fetchone() == (0,)
    assert named(stack, "kept after delete") == 1, "deleting a conversation never deletes a task"
    assert stack.http.post("/chat", data={"msg": "anyone?", "conversation_id": first}).status_code == 404


def test_unknown_conversations_are_404_with_a_message(stack):
    for method, path in [("GET", "/?c=cvnothere"), ("POST", "/conversations/cvnothere/open"),
                         ("POST", "/conversations/cvnothere/rename"), ("DELETE", "/conversations/cvnothere"),
                         ("GET", "/conversations/cvnothere/export.md"), ("POST", "/conversations/cvnothere/retry"),
                         ("POST", "/conversations/cvnothere/attempts/a1"), ("POST", "/conversations/c%C3%A9/open")]:
        r = stack.http.request(method, path, data={"title": "x"} if method == "POST" else None)
        assert r.status_code == 404 and "no conversation" in r.text, (method, path, r.status_code, r.text)
    r = stack.http.post("/chat", data={"msg": "to nowhere", "conversation_id": "cvnothere"})
    assert r.status_code == 404 and "no conversation 'cvnothere'" in r.text
    conv = new_conversation(stack)
    assert stack.http.post(f"/conversations/{conv}/attempts/anothere", headers=JSON).status_code == 404


def test_the_models_context_is_the_current_conversation_only(stack, fake_ollama):
    a, b = new_conversation(stack), new_conversation(stack)
    fake_ollama.enqueue(Script(tokens=["Noted the ", "zebra password."]))
    _, reply_a = chat(stack, a, "remember the zebra password")
    stack.wait_message(reply_a)
    with BusTap.of(stack, topics=[b"reply.queued", b"health."]) as tap:
        fake_ollama.enqueue(Script(tokens=["Hello from B."]))
        sent = len(fake_ollama.requests)
        _, reply_b = chat(stack, b, "what do you know?")
        stack.wait_message(reply_b)
        queued = [m for _, m in tap.messages() if isinstance(m, c.ReplyQueued) and m.msg_id == reply_b]
    assert queued and queued[0].conversation_id == b
    job = fake_ollama.requests[sent]  # what the model was sent for B: the job's whole context
    context = " ".join(m["content"] for m in job["messages"])
    assert "what do you know?" in context
    assert "zebra" not in context and "zebra" not in job["messages"][0]["content"], "nothing of A"


def test_a_reply_keeps_streaming_into_a_conversation_the_tab_left(stack, fake_ollama):
    a, b = new_conversation(stack), new_conversation(stack)
    tokens = [f"story{i} " for i in range(40)]
    fake_ollama.enqueue(Script(tokens=tokens, delay=0.04))
    with SseReader(stack.url, tab="on-a", conversation=a) as on_a, SseReader(stack.url, tab="on-b",
                                                                           conversation=b) as on_b:
        _, reply = chat(stack, a, "tell a long story")
        wait_for(lambda: len(on_a.matching(f"beforeend:#body-{reply}")) >= 3, what="the reply streaming in A")
        # the tab switches to B mid-reply: its page is B's, and A's reply goes on
        page_b = stack.http.get(f"/?c={b}", headers={})
        assert f"msg-{reply}" not in page_b.text
        mid = stack.http.get(f"/?c={a}", headers={})
        assert f"msg-{reply}" in mid.text and "story0" in mid.text, "coming back mid-reply shows it so far"
        stack.wait_message(reply)
        wait_for(lambda: on_a.matching(f'msg-{reply}"[^>]*class="msg assistant chat done|'
                                       f'class="msg assistant chat done"[^>]*msg-{reply}'), what="A's final bubble")
        # watched from before the reply began until A's tab had its final bubble: B's tab got none of it
        assert not on_b.matching(reply), "tab B never sees A's reply"
    assert stack.message(reply)[2] == "".join(tokens), "stored whole"
    assert "story39" in stack.http.get(f"/?c={a}", headers={}).text


def test_deleting_a_conversation_stops_its_reply_first(stack, fake_ollama):
    doomed = new_conversation(stack)
    fake_ollama.enqueue(Script(tokens=[f"w{i} " for i in range(300)], delay=0.03))
    before = fake_ollama.disconnects
    with BusTap.of(stack, topics=[b"llm.done", b"health."]) as tap, \
            SseReader(stack.url, tab="doomed", conversation=doomed) as sse:
        _, reply = chat(stack, doomed, "go on and on")
        wait_for(lambda: len(sse.matching(f"beforeend:#body-{reply}")) >= 2, what="the reply streaming")
        assert stack.http.delete(f"/conversations/{doomed}", headers=JSON).status_code == 200
        fake_ollama.wait_for(lambda: fake_ollama.disconnects > before, timeout=5)
        wait_for(lambda: [m for _, m in tap.messages() if isinstance(m, c.LlmDone) and m.msg_id == reply],
                 what="the reply's end")
        wait_for(lambda: sse.matching("This conversation was deleted"), what="the tab told")
    # the crud_worker handles the end before anything it receives later: a later message's reply stored
    # proves the cancelled one was handled, and not stored
    _, later = chat(stack, new_conversation(stack), "still there?")
    stack.wait_message(later)
    assert stack.message(reply) is None


def test_retry_keeps_the_first_attempt_and_does_nothing_twice(stack, fake_ollama):
    conv = new_conversation(stack)
    fake_ollama.enqueue(Script(tokens=["Adding. ", INSERT.format(name="retry apples")]))
    user, first = chat(stack, conv, "add retry apples")
    stack.wait_message(first)
    wait_for(lambda: named(stack, "retry apples") == 1, what="the first attempt's task")

    fake_ollama.enqueue(Script(tokens=["Again: ", INSERT.format(name="retry apples")]))
    sent = len(fake_ollama.requests)
    with SseReader(stack.url, tab="retry", conversation=conv) as sse:
        r = stack.http.post(f"/conversations/{conv}/retry", data={"target": first}, headers=JSON)
        assert r.status_code == 200, r.text
        second = r.json()["reply_id"]
        assert r.json()["undone"] == ["added 'retry apples'"] or r.json()["undone"], r.json()
        stack.wait_message(second)
        wait_for(lambda: sse.matching(f'id="switch-{second}"'), what="the switcher")
    wait_for(lambda: named(stack, "retry apples") == 1, what="one task, not two")
    with stack.db() as db:
        assert db.execute("SELECT state FROM commands WHERE msg_id = ?", [first]).fetchall() == [("undone",)]
        assert db.execute("SELECT hidden FROM messages WHERE id IN (?, ?) ORDER BY id = ?",
                          [first, second, second]).fetchall() == [(1,), (0,)]
    context = [m["content"] for m in fake_ollama.requests[sent]["messages"]]
    assert sum(m.endswith("add retry apples") for m in context) == 1 and not any("Adding." in m for m in context), \
        "the retry's context: the question, not the earlier answer"

    # flipping back shows the first attempt and sends it next time; it runs and undoes nothing
    assert stack.http.post(f"/conversations/{conv}/attempts/{first}", headers=JSON).status_code == 200
    with stack.db() as db:
        assert db.execute("SELECT id FROM messages WHERE conversation_id = ? AND hidden = 0 ORDER BY created_at",
                          [conv]).fetchall() == [(user,), (first,)]
    assert named(stack, "retry apples") == 1
    page = stack.http.get(f"/?c={conv}", headers={}).text
    assert "1/2" in page and f"msg-{second}" not in page


def test_retry_with_another_model(stack, fake_ollama):
    conv = new_conversation(stack)
    fake_ollama.enqueue(Script(tokens=["first"]))
    _, first = chat(stack, conv, "which model are you")
    stack.wait_message(first)
    pick = wait_for(lambda: stack_models(stack), what="the model picker")[-1]
    sent = len(fake_ollama.requests)
    r = stack.http.post(f"/conversations/{conv}/retry", data={"model": pick}, headers=JSON)
    assert r.status_code == 200, r.text
    stack.wait_message(r.json()["reply_id"])
    assert fake_ollama.requests[sent]["model"] == pick


def stack_models(stack) -> list[str]:
    """The models the page's picker offers (more than one, or there is no picker)."""
    page = stack.http.get("/", headers={}).text
    if 'id="model-picker"' not in page:
        return []
    picker = page.split('id="model-picker"', 1)[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]+)"', picker)


def test_edit_resends_and_undoes_the_earlier_attempts_changes(stack, fake_ollama):
    conv = new_conversation(stack)
    fake_ollama.enqueue(Script(tokens=["Ok. ", INSERT.format(name="edit pairs")]))
    user, first = chat(stack, conv, "add edit pairs")
    stack.wait_message(first)
    wait_for(lambda: named(stack, "edit pairs") == 1, what="the typo'd task")
    fake_ollama.enqueue(Script(tokens=["Ok. ", INSERT.format(name="edit pears")]))
    sent = len(fake_ollama.requests)
    edited, second = chat(stack, conv, "add edit pears", edit_of=user)
    stack.wait_message(second)
    wait_for(lambda: named(stack, "edit pears") == 1 and named(stack, "edit pairs") == 0,
             what="the earlier attempt's task undone, the new one added once")
    context = [m["content"] for m in fake_ollama.requests[sent]["messages"]]
    assert context[-1].endswith("add edit pears") and "add edit pairs" not in " ".join(context)
    with stack.db() as db:
        shown = db.execute("SELECT id FROM messages WHERE conversation_id = ? AND hidden = 0 ORDER BY created_at",
                           [conv]).fetchall()
        assert shown == [(edited,), (second,)]
        assert db.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", [conv]).fetchone() == (4,), \
            "the earlier attempt is kept"
    # only the newest message can be edited
    r = stack.http.post("/chat", data={"msg": "again", "conversation_id": conv, "edit_of": user})
    assert r.status_code == 422 and "newest" in r.text
    # an edit of no such message is a 404 (web/respond.py's table), the conversation being there
    r = stack.http.post("/chat", data={"msg": "again", "conversation_id": conv, "edit_of": "unothere"})
    assert r.status_code == 404 and "no message 'unothere'" in r.json()["error"], r.text


def test_a_retry_that_would_overwrite_a_later_change_is_refused(stack, fake_ollama):
    conv = new_conversation(stack)
    fake_ollama.enqueue(Script(tokens=[INSERT.format(name="conflicted plums")]))
    _, first = chat(stack, conv, "add conflicted plums")
    stack.wait_message(first)
    task = wait_for(lambda: [t[0] for t in stack.tasks() if t[1] == "conflicted plums"], what="the task")[0]
    assert stack.http.put(f"/tasks/{task}", data={"name": "plums, renamed by hand"}).status_code == 200
    wait_for(lambda: named(stack, "plums, renamed by hand") == 1, what="the rename")
    sent = len(fake_ollama.requests)
    r = stack.http.post(f"/conversations/{conv}/retry", headers=JSON)
    assert r.status_code == 409 and "undo that first" in r.json()["error"], r.text
    assert named(stack, "plums, renamed by hand") == 1 and len(fake_ollama.requests) == sent


def test_export_is_markdown_of_the_shown_attempts(stack, fake_ollama):
    conv = new_conversation(stack)
    fake_ollama.enqueue(Script(tokens=["**Bold** answer."]))
    _, reply = chat(stack, conv, "export me")
    stack.wait_message(reply)
    r = stack.http.get(f"/conversations/{conv}/export.md")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert "attachment" in r.headers["content-disposition"]
    text = r.text
    assert text.startswith("# export me\n") and "## You · " in text and "\nexport me\n" in text
    assert "**Bold** answer." in text, "the model's markdown as it wrote it"


def test_new_chat_from_the_chat_box(stack):
    before = set(listed(stack))
    r = stack.http.post("/chat", data={"msg": "!new"})
    assert r.status_code == 204 and r.headers["hx-redirect"].startswith("/?c=")
    made = r.headers["hx-redirect"].removeprefix("/?c=")
    assert set(listed(stack)) - before == {made}
    with httpx.Client(base_url=stack.url, timeout=10) as browser_like:
        r = browser_like.post("/conversations", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/?c=")


def test_a_retry_withdraws_the_earlier_attempts_commands_still_asking(stack, fake_ollama):
    assert stack.http.post("/settings/ask", data={"action": "insert", "policy": "ask"}).status_code == 200
    try:
        conv = new_conversation(stack)
        fake_ollama.enqueue(Script(tokens=["May I? ", INSERT.format(name="asked plums")]))
        _, first = chat(stack, conv, "add asked plums")
        stack.wait_message(first)
        command_id = f"{first}:0"
        with stack.db() as db:
            assert db.execute("SELECT state FROM commands WHERE id = ?", [command_id]).fetchone() == ("asking",)
        fake_ollama.enqueue(Script(tokens=["Never mind."]))
        r = stack.http.post(f"/conversations/{conv}/retry", headers=JSON)
        assert r.status_code == 200, r.text
        stack.wait_message(r.json()["reply_id"])
        late = stack.http.post(f"/approve/{command_id}", data={"decision": "allow"})
        assert late.status_code == 409, "withdrawn: allowing it now would do what the retry asks again"
        assert named(stack, "asked plums") == 0
        with stack.db() as db:
            assert db.execute("SELECT state FROM commands WHERE id = ?", [command_id]).fetchone() == ("denied",)
    finally:
        stack.http.post("/settings/ask", data={"action": "insert", "policy": "auto"})
