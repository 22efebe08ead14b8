"""A reply nobody asked for suggests its changes (Allow / Deny); what would change nothing is no question.
In-process, on the real migrations' in-memory database."""

from __future__ import annotations

from commands.spec import Update
from crud_worker import tasks
from crud_worker.changelog import Actor
from crud_worker.executor import execute
from tests.crud_worker.rig import memory_db

PERSON = Actor(kind="person", route="POST /tasks")


def suggest(db, n: int, command: Update):
    return execute(db, msg_id="r1", command_id=f"c{n}", ordinal=n, raw="{}", command=command, ask_timeout=60,
                   suggest=True)


def test_an_update_that_changes_nothing_is_kept_not_suggested():
    db = memory_db()
    task = tasks.add(db, "llamar a Ana", by=PERSON).task
    same_name = suggest(db, 0, Update(ref="llamar a Ana", name="llamar a Ana"))
    same_state = suggest(db, 1, Update(ref=task.id, done=False))
    assert same_name.result.summary == "Kept 'llamar a Ana'", same_name.result
    assert same_state.result.summary == "Kept 'llamar a Ana': not done already", "never 'Marked' when it wasn't"
    for outcome in (same_name, same_state):
        assert outcome.result.state == "kept" and not outcome.changes, outcome
    assert db.execute("SELECT count(*) FROM approvals").fetchone()[0] == 0, "nothing for the person to decide"


def test_a_suggestion_names_only_what_would_change():
    db = memory_db()
    tasks.add(db, "call grandma", by=PERSON)
    outcome = suggest(db, 0, Update(ref="call grandma", name="call grandma", done=True))
    assert outcome.result.state == "asking", outcome.result
    assert outcome.result.summary == "Suggests: mark 'call grandma' done"
    assert tasks.named(db, "call grandma")[0].done is False, "it waits for Allow"
