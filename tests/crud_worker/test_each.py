"""One command for many tasks ({"tasks": "done"}): every task of the selection changes, under one command id,
with one chip, one message to the tabs, one undo; as a suggestion it is pinned to the tasks it named.
In-process, on the real migrations' in-memory database."""

from __future__ import annotations

import asyncio

from bus import contract as c
from commands.spec import Each
from crud_worker import tasks
from crud_worker.changelog import Actor
from crud_worker.executor import execute
from tests.crud_worker.rig import memory_db, rig

PERSON = Actor(kind="person", route="POST /tasks")
DELETE_DONE = '{"action": "delete", "args": {"tasks": "done"}}\n'
ALL_DONE = '{"action": "update", "args": {"tasks": "all", "done": true}}\n'


def seeded(r, *names_done: tuple[str, bool]) -> None:
    for name, done in names_done:
        tasks.add(r.db, name, by=PERSON, done=done)


async def asked(r, text: str, *reply: str) -> None:
    await r.handlers.on_chat(c.ChatUser(req_id="q1", msg_id="u1", reply_id="a1", text=text))
    await r.stream("a1", *reply)


def test_delete_what_is_done_is_one_command_one_chip_one_message_and_one_undo():
    r = rig()
    seeded(r, ("milk", False), ("bread", True), ("eggs", True))
    milk_done = '{"action": "update", "args": {"task": "milk", "done": true}}\n'
    asyncio.run(asked(r, "delete what's done, and milk is bought", DELETE_DONE, milk_done, "Tidied."))
    assert r.tasks() == [(1, "milk", True)], "the delete ran first, so milk, done after it, stayed"
    first, second = r.bus.of(c.CommandResult)
    assert (first.command_id, first.summary, first.action) == ("a1:0", "Removed 'bread' and 'eggs'", "delete")
    assert second.summary == "Marked 'milk' done"
    [both, milk] = r.bus.of(c.TaskChanged)
    assert both.op == "group" and [(s.op, s.task.name) for s in both.steps] == [("delete", "bread"),
                                                                                  ("delete", "eggs")]
    assert milk.op == "update"
    logged = r.db.execute("SELECT count(*) FROM changes WHERE command_id = 'a1:0'").fetchone()[0]
    assert logged == 2, "each task's change is logged under the one command"

    asyncio.run(r.trust.on_undo(c.UndoRequest(req_id="q2", scope="command", target="a1:0")))
    assert r.tasks() == [(1, "milk", True), (2, "bread", True), (3, "eggs", True)]


def test_mark_everything_done_changes_only_the_open_ones_and_says_so_when_none_is_left():
    r = rig()
    seeded(r, ("milk", False), ("bread", True), ("eggs", False))
    asyncio.run(asked(r, "mark everything as done", ALL_DONE, "All done."))
    assert [done for _, _, done in r.tasks()] == [True, True, True]
    [result] = r.bus.of(c.CommandResult)
    assert result.summary == "Marked 'milk' and 'eggs' done", "bread was done already: not named"

    again = execute(r.db, msg_id="a2", command_id="a2:0", ordinal=0, raw=ALL_DONE, command=Each("update", "all", True),
                    ask_timeout=60)
    assert (again.result.ok, again.result.state, again.result.summary, again.changes) == (
        True, "kept", "Kept 'milk', 'bread' and 'eggs': done already", [])


def test_an_empty_selection_is_refused_with_the_reason_for_the_model():
    db = memory_db()
    tasks.add(db, "milk", by=PERSON)
    outcome = execute(db, msg_id="a1", command_id="a1:0", ordinal=0, raw=DELETE_DONE, command=Each("delete", "done"),
                      ask_timeout=60)
    assert (outcome.result.ok, outcome.result.summary) == (False, "couldn't apply: no task is done")
    assert outcome.feedback.endswith(": no task is done")
    assert [t.name for t in tasks.all_tasks(db)] == ["milk"]


def test_a_long_selection_names_five_and_counts_the_rest():
    db = memory_db()
    for n in range(30):
        tasks.add(db, f"chore {n}", by=PERSON, done=True)
    outcome = execute(db, msg_id="a1", command_id="a1:0", ordinal=0, raw=DELETE_DONE, command=Each("delete", "done"),
                      ask_timeout=60)
    assert outcome.result.summary == "Removed 'chore 0', 'chore 1', 'chore 2', 'chore 3', 'chore 4' and 25 more"
    assert not tasks.all_tasks(db) and len(outcome.changes) == 30


def test_as_a_suggestion_it_is_pinned_to_the_tasks_it_named():
    r = rig()
    seeded(r, ("milk", False), ("bread", True), ("eggs", True))
    outcome = execute(r.db, msg_id="x1", command_id="x1:0", ordinal=0, raw=DELETE_DONE, command=Each("delete", "done"),
                      ask_timeout=60, suggest=True)
    assert (outcome.result.state, outcome.result.summary) == ("asking", "Suggests: delete 'bread' and 'eggs'")
    assert len(r.tasks()) == 3, "it waits for Allow"
    tasks.update(r.db, 1, by=PERSON, done=True)  # milk is done meanwhile: the suggestion never named it

    asyncio.run(r.trust.on_approve(c.ApproveRequest(req_id="q1", command_id="x1:0", decision="allow")))
    assert r.tasks() == [(1, "milk", True)]
    [result] = [m for m in r.bus.of(c.CommandResult) if m.command_id == "x1:0"]
    assert result.summary == "Removed 'bread' and 'eggs'"
