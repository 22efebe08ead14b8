"""Ask first, through HTTP, the bus and SQLite: a command waits for Allow / Deny in every tab, the first
answer wins, it runs exactly once (even across a crud_worker killed around the answer), unanswered
ones expire, `off` refuses; each outcome reaches the model in a follow-up turn."""

from __future__ import annotations

import json

import pytest

from tests.faults.helpers import ready_count, sigkill, wait_restarted
from tests.fakes import Script
from tests.fixtures import stack_fixtures
from tests.integration.test_undo import cmd, command_rows, person_add, task
from tests.util import SseReader, wait_for

ASK_TIMEOUT_S = 6  # long enough for the tests that answer, short enough for the one that waits it out
fake_ollama, stack = stack_fixtures("module", GHOSTWIRE_ASK="delete", GHOSTWIRE_ASK_TIMEOUT=str(ASK_TIMEOUT_S))


@pytest.fixture(autouse=True)
def policies_as_configured(stack):
    """Each test starts from GHOSTWIRE_ASK=delete: deletes ask, the rest run at once."""
    for action, policy in (("insert", "auto"), ("update", "auto"), ("toggle", "auto"), ("delete", "ask")):
        assert stack.http.post("/settings/ask", data={"action": action, "policy": policy}).status_code == 200


def ask_to_delete(stack, fake, task_id: int) -> tuple[str, str]:
    """The model deletes a task under `ask`: returns (reply id, command id) once its chip is waiting."""
    fake.enqueue(Script(tokens=["Deleting it. ", cmd("delete", id=task_id), " Done asking."]))
    reply = stack.chat("delete it")
    stack.wait_message(reply)
    rows = wait_for(lambda: command_rows(stack, reply), what="the command's row")
    assert rows[0][3] == "asking", rows
    return reply, rows[0][0]


def followup_text(fake, sent: int) -> str:
    fake.wait_for(lambda: len(fake.requests) > sent, timeout=15)
    return fake.requests[sent]["messages"][-1]["content"]


def test_allow_runs_the_command_once_and_the_model_hears_it(stack, fake_ollama):
    doomed = person_add(stack, "ask doomed")
    with SseReader(stack.url, tab="a") as a, SseReader(stack.url, tab="b") as b:
        reply, command_id = ask_to_delete(stack, fake_ollama, doomed)
        chip = f'id="chip-{command_id.replace(":", "-")}" class="chip asking"'
        for tab in (a, b):
            wait_for(lambda: tab.matching(chip + r'.*Allow.*Deny'), what="Allow / Deny in every tab")
        assert task(stack, doomed) is not None, "nothing runs before the answer"
        sent = len(fake_ollama.requests)
        fake_ollama.enqueue(Script(tokens=["Gone, ", "as you wished."]))
        r = stack.http.post(f"/approve/{command_id}", data={"decision": "allow"})
        assert r.status_code == 200 and r.json()["done"] == ["Removed 'ask doomed'"]
        assert task(stack, doomed) is None
        for tab in (a, b):
            wait_for(lambda: tab.matching(f'id="chip-{command_id.replace(":", "-")}" class="chip ok"'),
                     what="the chip shows it ran")
        second = stack.http.post(f"/approve/{command_id}", data={"decision": "deny"})
        assert second.status_code == 409 and "allowed already" in second.json()["error"]
    assert "the person allowed you to delete 'ask doomed': Removed 'ask doomed'" in followup_text(fake_ollama, sent)
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM changes WHERE command_id = ?", [command_id]).fetchone() == (1,)
    assert stack.http.post(f"/undo/command/{command_id}").status_code == 200, "an allowed command can be undone"
    assert task(stack, doomed) is not None


def test_deny_keeps_the_task_and_tells_the_model(stack, fake_ollama):
    spared = person_add(stack, "ask spared")
    reply, command_id = ask_to_delete(stack, fake_ollama, spared)
    sent = len(fake_ollama.requests)
    fake_ollama.enqueue(Script(tokens=["Fine, ", "kept."]))
    r = stack.http.post(f"/approve/{command_id}", data={"decision": "deny"})
    assert r.status_code == 200
    assert command_rows(stack, reply)[0][3] == "denied" and task(stack, spared) is not None
    assert "the person denied your command to delete 'ask spared'" in followup_text(fake_ollama, sent)


def test_an_unanswered_command_expires_visibly(stack, fake_ollama):
    waiting = person_add(stack, "ask waiting")
    with SseReader(stack.url, tab="watcher") as sse:
        reply, command_id = ask_to_delete(stack, fake_ollama, waiting)
        sent = len(fake_ollama.requests)
        fake_ollama.enqueue(Script(tokens=["Nobody ", "answered."]))
        wait_for(lambda: sse.matching(f'id="chip-{command_id.replace(":", "-")}" class="chip expired"'),
                 ASK_TIMEOUT_S + 10, what="the chip to expire")
    assert command_rows(stack, reply)[0][3] == "expired" and task(stack, waiting) is not None
    assert "nobody answered whether you may delete 'ask waiting'" in followup_text(fake_ollama, sent)
    late = stack.http.post(f"/approve/{command_id}", data={"decision": "allow"})
    assert late.status_code == 409 and "expired" in late.json()["error"]


@pytest.mark.parametrize("kill", ["web", "crud_worker before the answer", "crud_worker right after the answer"])
def test_a_pending_command_survives_a_kill_and_runs_exactly_once(stack, fake_ollama, kill):
    target = person_add(stack, f"ask survivor {kill}")
    reply, command_id = ask_to_delete(stack, fake_ollama, target)
    program = kill.split()[0]
    ready = ready_count(stack, program)
    if kill == "web":
        wait_restarted(stack, "web", sigkill(stack, "web"), ready)
        chip = stack.http.get("/").text.split(f'id="chip-{command_id.replace(":", "-")}"')[1].split("</span>")[0]
        assert 'class="chip asking"' in chip and "Allow" in chip and "Deny" in chip, "the new web shows it waiting"
        assert stack.http.post(f"/approve/{command_id}", data={"decision": "allow"}).status_code == 200
        assert task(stack, target) is None
        return
    if kill == "crud_worker right after the answer":
        # The answer and the kill race: the decision and the delete are one transaction, so either
        # both happened or neither did, and a second answer after the restart settles the rest.
        with SseReader(stack.url, tab="racer"):
            pid = stack.pid("crud_worker")
            first = stack.http.post(f"/approve/{command_id}", data={"decision": "allow"})
            sigkill(stack, "crud_worker", pid)
    else:
        pid = sigkill(stack, "crud_worker")
        first = None
    wait_restarted(stack, "crud_worker", pid, ready)
    again = stack.http.post(f"/approve/{command_id}", data={"decision": "allow"})
    if first is not None and first.status_code == 200:
        assert again.status_code == 409, again.text
    else:
        assert again.status_code == 200, again.text
    assert task(stack, target) is None
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM changes WHERE command_id = ?", [command_id]).fetchone() == (1,)
        assert db.execute("SELECT decision FROM approvals WHERE command_id = ?", [command_id]).fetchone() == ("allow",)


def test_off_refuses_visibly_and_the_choice_survives_a_restart(stack, fake_ollama):
    flip = person_add(stack, "ask off flip")
    assert stack.http.post("/settings/ask", data={"action": "toggle", "policy": "off"}).status_code == 200
    ready = ready_count(stack, "crud_worker")
    wait_restarted(stack, "crud_worker", sigkill(stack, "crud_worker"), ready)
    with stack.db() as db:
        assert json.loads(db.execute("SELECT value FROM settings WHERE key = 'ask'").fetchone()[0])["toggle"] == "off"
    fake_ollama.enqueue(Script(tokens=["Ticking. ", cmd("toggle", id=flip)]))
    fake_ollama.enqueue(Script(tokens=["Oh, ", "I may not."]))
    sent = len(fake_ollama.requests)
    reply = stack.chat("tick it")
    rows = wait_for(lambda: command_rows(stack, reply), what="the refusal")
    assert rows[0][1] == 0 and "toggle is turned off" in rows[0][2]
    assert task(stack, flip)[2] == 0
    assert "toggle is turned off" in followup_text(fake_ollama, sent + 1)
    page = stack.http.get("/changes")
    assert page.status_code == 200 and 'id="ask-toggle"' in page.text
    assert '<option value="off" selected>' in page.text.split('id="ask-toggle"')[1].split("</select>")[0]


def test_bad_policy_requests_are_refused(stack):
    for data in ({"action": "fly", "policy": "ask"}, {"action": "delete", "policy": "maybe"}, {}):
        assert stack.http.post("/settings/ask", data=data).status_code == 422
