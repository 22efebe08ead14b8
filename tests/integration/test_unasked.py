"""The ghost does what it is asked, and nothing else — through HTTP, the bus and SQLite, with scripted
replies: a command in a reply nobody asked for (a comment on a click or an import) is a suggestion
waiting for Allow / Deny whatever the policy says, while the person's own request and its follow-ups
keep theirs; a reply that says it changed the list when nothing changed is flagged, and when the
person asked, the model is told so and can write the command it forgot."""

from __future__ import annotations

import json

import pytest

from crud_worker.prompts import NO_COMMAND_WRITTEN
from tests.fakes import Script
from tests.fixtures import stack_fixtures
from tests.integration.test_undo import cmd, command_rows, person_add, task
from tests.util import settle, wait_for

fake_ollama, stack = stack_fixtures("module")  # every policy auto: the model's commands run at once


def last_message(body: dict) -> str:
    return (body.get("messages") or [{}])[-1].get("content", "")


def answer_once(fake, marker: str, script: Script) -> None:
    """The first request whose newest message holds `marker` gets `script` (others: the queue)."""
    taken = []

    def pick(body: dict) -> Script | None:
        if not taken and marker in last_message(body):
            taken.append(body)
            return script
        return None
    fake.pick = pick


def reply_where(stack, sql: str, *args) -> str:
    with stack.db() as db:
        row = db.execute(f"SELECT id FROM messages WHERE role = 'assistant' AND {sql} ORDER BY created_at DESC"
                         " LIMIT 1", args).fetchone()
    return row[0] if row else ""


def comment_suggesting(stack, fake, clicked: str, command: str) -> tuple[str, str]:
    """The person adds `clicked`; the model's comment on it writes `command`. Returns (comment id, command id)
    once the command's chip waits."""
    text = f"Nice, {clicked}. Also: "
    answer_once(fake, clicked, Script(tokens=[text, command, " there."]))
    person_add(stack, clicked)
    comment = wait_for(lambda: reply_where(stack, "kind = 'comment' AND content = ?", f"{text}{command} there."), 20,
                       what="the comment stored")
    rows = wait_for(lambda: command_rows(stack, comment), what="the comment's command row")
    return comment, rows[0][0]


@pytest.fixture(autouse=True)
def settled(stack, fake_ollama):
    """Comments and follow-ups of the test before never take this test's scripts."""
    settle(stack, fake_ollama, 1.0)
    yield
    fake_ollama.pick = None


def test_a_comments_command_is_a_suggestion_even_when_the_policy_runs_it_at_once(stack, fake_ollama):
    comment, command_id = comment_suggesting(stack, fake_ollama, "unasked click",
                                             cmd("insert", name="unasked invented"))
    assert command_rows(stack, comment)[0][2:] == ("Suggests: add 'unasked invented'", "asking")
    assert not [t for t in stack.tasks() if t[1] == "unasked invented"], "nothing ran without an answer"
    r = stack.http.post(f"/approve/{command_id}", data={"decision": "allow"})
    assert r.status_code == 200 and r.json()["done"] == ["Added 'unasked invented'"]
    assert [t[1] for t in stack.tasks()].count("unasked invented") == 1


def test_deny_of_a_suggestion_changes_nothing_and_the_model_is_told(stack, fake_ollama):
    before = stack.tasks()
    sent = len(fake_ollama.requests)
    comment, command_id = comment_suggesting(stack, fake_ollama, "unasked deny", cmd("delete", id=before[0][0]))
    told = len(fake_ollama.requests)
    assert stack.http.post(f"/approve/{command_id}", data={"decision": "deny"}).status_code == 200
    fake_ollama.wait_for(lambda: len(fake_ollama.requests) > told, timeout=15)
    assert "the person declined your suggestion to delete" in last_message(fake_ollama.requests[told])
    assert command_rows(stack, comment)[0][3] == "denied"
    assert {t[0] for t in before} <= {t[0] for t in stack.tasks()}, "the suggested delete never ran"
    assert sent < told


def test_an_import_comment_that_re_adds_or_invents_tasks_changes_nothing(stack, fake_ollama):
    re_add = " ".join(cmd("insert", name=n) for n in ("imported one", "organise the office"))
    answer_once(fake_ollama, "imported 2 tasks", Script(tokens=["Welcome back. ", re_add, " Added them."]))
    body = {"format": "ghostwire.tasks", "version": 1,
            "tasks": [{"name": "imported one", "done": False}, {"name": "imported two", "done": False}]}
    r = stack.http.post("/tasks/import", files={"file": ("list.json", json.dumps(body), "application/json")})
    assert r.status_code == 200, r.text
    comment = wait_for(lambda: reply_where(stack, "kind = 'comment' AND content LIKE '%Added them.'"), 20,
                       what="the comment on the import")
    rows = wait_for(lambda: len(command_rows(stack, comment)) == 2 and command_rows(stack, comment),
                    what="its two command rows")
    assert [r[1:] for r in rows] == [
        (0, "couldn't apply: 'imported one' is on the list already (#%d); to mark it done or rename it, use update"
         % next(t[0] for t in stack.tasks() if t[1] == "imported one"), "done"),
        (1, "Suggests: add 'organise the office'", "asking")], "a duplicate is refused, an invention only suggested"
    names = [t[1] for t in stack.tasks()]
    assert names.count("imported one") == 1 and "organise the office" not in names
    with stack.db() as db:
        stats = json.loads(db.execute("SELECT stats FROM messages WHERE id = ?", [comment]).fetchone()[0])
    assert not stats.get("unbacked_claim"), "a claim next to suggestions waiting for Allow is not flagged"


def test_an_unasked_undo_is_refused(stack, fake_ollama):
    comment, _ = comment_suggesting(stack, fake_ollama, "unasked undo", cmd("undo"))
    assert command_rows(stack, comment)[0][1:] == (0, "couldn't apply: undo runs only when the person asks for it",
                                                   "done")


def test_the_persons_request_and_its_follow_up_keep_their_policy(stack, fake_ollama):
    fake_ollama.enqueue(Script(tokens=["Let me look. ", json.dumps({"action": "list"})]),
                        Script(tokens=["Adding it. ", cmd("insert", name="asked follow-up add")]))
    reply = stack.chat("look, then add one")
    wait_for(lambda: [t for t in stack.tasks() if t[1] == "asked follow-up add"], 15,
             what="the follow-up's insert ran at once")
    assert command_rows(stack, reply + "-f")[0][2:] == ("Added 'asked follow-up add'", "done")


def test_a_claim_without_a_change_is_flagged_and_the_model_may_write_the_command(stack, fake_ollama):
    sent = len(fake_ollama.requests)
    fake_ollama.enqueue(Script(tokens=["Done! ", "I've added it."]),
                        Script(tokens=["Sorry: ", cmd("insert", name="claimed then added")]))
    reply = stack.chat("add claimed then added")
    stack.wait_message(reply)
    wait_for(lambda: [t for t in stack.tasks() if t[1] == "claimed then added"], 15,
             what="the follow-up wrote the command")
    assert NO_COMMAND_WRITTEN in last_message(fake_ollama.requests[sent + 1])
    with stack.db() as db:
        flags = dict(db.execute("SELECT id, json_extract(stats, '$.unbacked_claim') FROM messages WHERE id IN (?, ?)",
                                [reply, reply + "-f"]).fetchall())
    assert flags == {reply: 1, reply + "-f": None}, "the claim is flagged; the follow-up that made the change isn't"
    page = stack.http.get("/").text
    assert f'id="stats-{reply}"' in page and "no change was made" in page.split(f'id="stats-{reply}"')[1][:400]


def test_words_backed_by_a_change_and_plain_talk_are_not_flagged(stack, fake_ollama):
    fake_ollama.enqueue(Script(tokens=["Done: ", cmd("insert", name="backed claim"), " I've added it."]),
                        Script(tokens=["You have a few tasks; shall I add one?"]))
    backed = stack.chat("add backed claim")
    stack.wait_message(backed)
    talk = stack.chat("how is my list?")
    stack.wait_message(talk)
    with stack.db() as db:
        rows = db.execute("SELECT json_extract(stats, '$.unbacked_claim') FROM messages WHERE id IN (?, ?)",
                          [backed, talk]).fetchall()
        followups = db.execute("SELECT count(*) FROM messages WHERE id IN (?, ?)",
                               [backed + "-f", talk + "-f"]).fetchone()[0]
    assert rows == [(None,), (None,)] and followups == 0


def test_a_comment_that_runs_on_is_cut_short(stack, fake_ollama):
    from crud_worker.reply import UNASKED_MAX_CHARS

    rambling = ["Person: and then?\nYou: more words. "] * 200  # 7,000 characters of a made-up dialogue
    answer_once(fake_ollama, "unasked rambler", Script(tokens=rambling))
    person_add(stack, "unasked rambler")
    comment = wait_for(lambda: reply_where(stack, "kind = 'comment' AND content LIKE 'Person: and then?%'"), 20,
                       what="the comment stored")
    with stack.db() as db:
        content = db.execute("SELECT content FROM messages WHERE id = ?", [comment]).fetchone()[0]
    assert 0 < len(content) <= UNASKED_MAX_CHARS < len("".join(rambling))


def test_a_comments_refused_command_gets_no_follow_up(stack, fake_ollama):
    comment, _ = comment_suggesting(stack, fake_ollama, "unasked refused", cmd("delete", id=99_999))
    assert command_rows(stack, comment)[0][1] == 0, "refused: there is no such task"
    # The follow-up's note would be stored in the same step that stores the comment; settle() then watches
    # for 1 s that no model request is left unanswered, so a follow-up queued late would be seen too.
    settle(stack, fake_ollama, 1.0)
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM messages WHERE id IN (?, ?)",
                          [comment + "-r", comment + "-f"]).fetchone() == (0,)


def test_the_model_never_adds_a_task_that_is_on_the_list_already_and_is_told_to_update_it(stack, fake_ollama):
    existing = person_add(stack, "unasked duplicate")
    settle(stack, fake_ollama, 1.0)
    fake_ollama.enqueue(Script(tokens=["Adding. ", cmd("insert", name="Unasked 'duplicate'".replace("'", ""))]),
                        Script(tokens=[cmd("update", task="unasked duplicate", done=True)]))
    reply = stack.chat("done with unasked duplicate")
    wait_for(lambda: [t for t in stack.tasks() if t[0] == existing and t[2]], 15, what="the follow-up's update")
    assert command_rows(stack, reply)[0][1:3] == (
        0, f"couldn't apply: 'unasked duplicate' is on the list already (#{existing}); to mark it done or rename "
           "it, use update")
    assert [t[1] for t in stack.tasks()].count("unasked duplicate") == 1


def test_a_reply_to_a_question_only_suggests_and_a_request_asked_as_a_question_runs(stack, fake_ollama):
    asked_about = person_add(stack, "question bread")
    answer_once(fake_ollama, "is 'question bread' done?",
                Script(tokens=["Now it is. ", cmd("update", task="question bread", done=True)]))
    reply = stack.chat("is 'question bread' done?")
    rows = wait_for(lambda: command_rows(stack, reply), 15, what="the reply's command row")
    assert rows[0][2:] == ("Suggests: mark 'question bread' done", "asking"), "a question asks for words"
    assert not task(stack, asked_about)[2], "nothing ran without an answer"
    answer_once(fake_ollama, "can you add question milk?", Script(tokens=["Sure. ", cmd("insert", name="question milk")]))
    request = stack.chat("can you add question milk?")
    wait_for(lambda: [t for t in stack.tasks() if t[1] == "question milk"], 15,
             what="the request asked as a question ran at once")
    assert command_rows(stack, request)[0][2:] == ("Added 'question milk'", "done")
