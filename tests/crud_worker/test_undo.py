"""The change log and undo/redo on a real SQLite file, without the other processes."""

from __future__ import annotations

import pytest

from commands.ids import command_id
from commands.parse import parse_block, parse_command
from crud_worker import approvals, changelog, db as store, tasks, undo
from crud_worker.changelog import Actor
from crud_worker.executor import execute

PERSON = Actor(kind="person", route="POST /tasks")


@pytest.fixture
def db(tmp_path):
    d = store.connect(tmp_path / "ghostwire.db")
    with store.write(d):
        approvals.publish_effective(d, "")
    yield d
    d.close()


def run(db, reply: str, n: int, json_text: str):
    return execute(db, msg_id=reply, command_id=command_id(reply, n), ordinal=n, raw=json_text,
                   command=parse_command(json_text), ask_timeout=60)


def cmd(action: str, **args) -> str:
    import json
    return json.dumps({"action": action, "target": "task", "args": args})


def names(db) -> list[tuple]:
    return [(t.id, t.name, t.done, t.priority) for t in tasks.all_tasks(db)]


def add(db, name: str) -> int:
    with store.write(db):
        return tasks.add(db, name, by=PERSON).task.id


def test_every_change_is_logged_with_before_after_and_who(db):
    milk = add(db, "milk")
    run(db, "a1", 0, cmd("update", id=milk, name="buy milk"))
    run(db, "a1", 1, cmd("toggle", id=milk))
    with store.write(db):
        tasks.reorder(db, [milk], by=PERSON)
    run(db, "a1", 2, cmd("delete", id=milk))
    rows = changelog.where(db, "1 ORDER BY seq", [])
    assert [r.op for r in rows] == ["insert", "update", "update", "reorder", "delete"]
    assert rows[0].actor == PERSON and rows[0].before is None and rows[0].after.name == "milk"
    assert rows[1].actor == Actor(kind="model", reply_id="a1", command_id="a1:0")
    assert (rows[1].before.name, rows[1].after.name) == ("milk", "buy milk")
    assert rows[4].after is None and rows[4].before.done is True
    assert [r.seq for r in rows] == list(range(rows[0].seq, rows[0].seq + 5))


def test_undo_all_reverts_a_mixed_reply_newest_first_and_redo_puts_it_back(db):
    keep = add(db, "keep")
    gone = add(db, "gone")
    before = names(db)
    for n, text in enumerate([cmd("insert", name="new one"), cmd("update", id="new one", name="renamed new"),
                              cmd("toggle", id=keep), cmd("delete", id=gone)]):
        assert run(db, "a2", n, text).result.ok
    with store.write(db):
        done = undo.run(db, "reply", "a2", by=PERSON)
    assert names(db) == before, "the list is exactly as before the reply: ids, names, states, positions"
    assert len(done.reverted) == 4 and {r.state for r in done.results} == {"undone"}
    with store.write(db):
        undo.run(db, "reply", "a2", by=PERSON, redo=True)
    assert [n for _, n, _, _ in names(db)] == ["keep", "renamed new"]


def test_an_undo_never_overwrites_a_later_change(db):
    milk = add(db, "milk")
    run(db, "a3", 0, cmd("update", id=milk, name="buy milk"))
    with store.write(db):
        tasks.update(db, milk, name="oat milk", by=PERSON)
    with pytest.raises(undo.Refused) as err, store.write(db):
        undo.run(db, "reply", "a3", by=PERSON)
    assert str(err.value) == "'buy milk' was renamed after this reply; undo that first"
    assert err.value.code == "conflict"
    with store.write(db):
        undo.run(db, "last", "", by=PERSON)  # the person's rename
        undo.run(db, "reply", "a3", by=PERSON)
    assert names(db)[0][1] == "milk"


def test_undoing_twice_refuses_and_unknown_ids_are_unknown(db):
    run(db, "a4", 0, cmd("insert", name="once"))
    with store.write(db):
        undo.run(db, "command", "a4:0", by=PERSON)
    for scope, target, code in [("command", "a4:0", "conflict"), ("reply", "nope", "unknown"),
                                ("command", "nope:0", "unknown"), ("change", "999999", "unknown")]:
        with pytest.raises(undo.Refused) as err, store.write(db):
            undo.run(db, scope, target, by=PERSON)
        assert err.value.code == code, (scope, target, str(err.value))


def test_a_deleted_task_comes_back_with_its_id_and_place(db):
    ids = [add(db, n) for n in ("one", "two", "three")]
    with store.write(db):
        tasks.reorder(db, [ids[2], ids[0], ids[1]], by=PERSON)
    before = names(db)
    run(db, "a5", 0, cmd("delete", id=ids[0]))
    later = add(db, "added later")
    assert later not in ids, "ids are never reused"
    with store.write(db):
        undo.run(db, "reply", "a5", by=PERSON)
    assert [t for t in names(db) if t[0] != later] == before


def test_the_model_undoes_its_own_last_reply(db):
    run(db, "a6", 0, cmd("insert", name="oops"))
    out = run(db, "a7", 0, '{"action": "undo"}')
    assert out.result.ok and "Added 'oops'" in out.result.summary
    assert [r.command_id for r in out.flipped] == ["a6:0"]
    assert names(db) == []
    again = run(db, "a8", 0, '{"action": "undo"}')
    assert not again.result.ok and "none of your replies" in again.result.summary


def test_the_log_keeps_at_least_the_newest_n(db):
    with store.write(db):
        store.set_setting(db, changelog.KEEP_SETTING, "150")
    task = add(db, "flip")
    for _ in range(400):
        with store.write(db):
            tasks.toggle(db, task, by=PERSON)
    count, low, high = db.execute("SELECT count(*), min(seq), max(seq) FROM changes").fetchone()
    assert 150 <= count <= 150 + changelog.PRUNE_EVERY and high - low + 1 == count


def test_the_prompts_undo_example_is_the_undo_command():
    from commands.spec import Undo
    from commands.splitter import Block, split_all
    from crud_worker.prompts import UNDO_LANGUAGE

    blocks = [p for p in split_all(UNDO_LANGUAGE) if isinstance(p, Block)]
    assert [c for b in blocks for c in parse_block(b.raw)] == [Undo()]


def test_ghostwire_ask_names_actions_and_policies():
    assert approvals.parse("delete, update") == {"delete": "ask", "update": "ask"}
    assert approvals.parse("delete=off,toggle=ask,insert=auto") == {"delete": "off", "toggle": "ask", "insert": "auto"}
    assert approvals.parse("") == {}
    for bad in ("fly", "delete=maybe", "list"):
        with pytest.raises(SystemExit, match="GHOSTWIRE_ASK"):
            approvals.parse(bad)


def test_a_page_choice_overrides_the_configured_policy(db):
    with store.write(db):
        approvals.choose(db, "delete", "delete", "off")
    assert approvals.effective(db, "delete,update") == {"insert": "auto", "update": "ask", "toggle": "auto",
                                                        "delete": "off"}


def test_a_request_without_a_route_is_another_client():
    from crud_worker.changelog import person

    assert person("POST /tasks") == Actor(kind="person", route="POST /tasks")
    assert person("") == Actor(kind="client")


def import_(db, n: int, req: str = "i1") -> None:
    from bus.contract import ExportedTask
    with store.write(db):
        tasks.import_all(db, [ExportedTask(name=f"imported {k}") for k in range(n)],
                         by=Actor(kind="person", route="POST /tasks/import", reply_id=req))


def test_the_log_never_keeps_part_of_a_group(db):
    """Pruned history never leaves half an import: kept whole (undone whole) while a row of it is among
    the newest, then forgotten whole (refused as too old), never 70 of 120 undone."""
    with store.write(db):
        store.set_setting(db, changelog.KEEP_SETTING, "150")
    other = add(db, "not imported")
    import_(db, 120)
    for _ in range(100):  # the prune at seq 200 cuts at 50: inside the import
        with store.write(db):
            tasks.toggle(db, other, by=PERSON)
    assert db.execute("SELECT count(*) FROM changes WHERE reply_id = 'i1'").fetchone()[0] == 120
    with store.write(db):
        done = undo.run(db, "reply", "i1", by=PERSON)
    assert len(done.reverted) == 120 and [t[1] for t in names(db)] == ["not imported"]
    import_(db, 120, req="i2")
    for _ in range(400):
        with store.write(db):
            tasks.toggle(db, other, by=PERSON)
    assert db.execute("SELECT count(*) FROM changes WHERE reply_id = 'i2'").fetchone()[0] == 0
    with store.write(db):
        conversation_note(db, "i2")
    with pytest.raises(undo.Refused) as refused, store.write(db):
        undo.run(db, "reply", "i2", by=PERSON)
    assert refused.value.code == "conflict" and "too old to undo whole" in str(refused.value)
    assert len(names(db)) == 121, "nothing undone"


def conversation_note(db, msg_id: str) -> None:
    """The import's event line, as the crud_worker stores it with the import's id."""
    from crud_worker import conversation
    conversation.store(db, msg_id=msg_id, role="user", kind="event", content="The user imported 120 tasks",
                       conversation_id=conversation.current(db))


def test_ctrl_z_after_an_import_takes_back_the_import_and_redo_brings_it_back(db):
    add(db, "before")
    import_(db, 30)
    with store.write(db):
        done = undo.run(db, "last", "", by=PERSON, person_only=True)
    assert len(done.reverted) == 30 and [t[1] for t in names(db)] == ["before"]
    with store.write(db):
        again = undo.run(db, "last", "", by=PERSON, redo=True, person_only=True)
    assert len(again.reverted) == 30 and len(names(db)) == 31


def test_a_group_is_announced_once_with_each_task_in_place(db):
    ids = [add(db, n) for n in ("a", "b", "c", "d")]
    for n, task_id in enumerate(ids[1:3]):
        run(db, "g1", n, cmd("delete", id=task_id))
    with store.write(db):
        done = undo.run(db, "reply", "g1", by=PERSON)
    announced = tasks.group(done.changes)
    assert len(announced) == 1 and announced[0].op == "group"
    steps = announced[0].steps
    assert [(s.op, s.task.name, s.before_id) for s in steps] == [("insert", "c", ids[3]), ("insert", "b", ids[2])]
    assert announced[0].first_seq + 1 == announced[0].change_seq


def test_a_group_of_thousands_travels_without_its_steps(db):
    from bus.contract import MAX_GROUP_STEPS
    import_(db, MAX_GROUP_STEPS + 1)
    with store.write(db):
        done = undo.run(db, "reply", "i1", by=PERSON)
    announced = tasks.group(done.changes)
    assert len(announced) == 1 and announced[0].op == "group" and announced[0].steps == []
    assert announced[0].change_seq - announced[0].first_seq == MAX_GROUP_STEPS
def test_a_move_puts_one_task_above_another_or_last_and_undoes_as_a_reorder(db):
    a, b, c = add(db, "move a"), add(db, "move b"), add(db, "move c")
    with store.write(db):
        tasks.move(db, c, a, by=PERSON)
    assert [t[0] for t in names(db)][:3] == [c, a, b]
    with store.write(db):
        tasks.move(db, c, None, by=PERSON)
    assert [t[0] for t in names(db)][-1] == c
    for bad, above in ((c, c), (c, 10_000), (10_000, a)):
        with pytest.raises(tasks.TaskError), store.write(db):
            tasks.move(db, bad, above, by=PERSON)
    with store.write(db):
        undo.run(db, "last", "", by=PERSON)
    assert [t[0] for t in names(db)][:3] == [c, a, b], "undo puts the order back as it was"
