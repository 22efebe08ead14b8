"""Undo and redo through HTTP, the bus and SQLite: of every action, by the model and by the person,
of a whole reply, refused on a conflict, and told to the model."""

from __future__ import annotations

import json
import threading

from tests.fakes import Script
from tests.util import SseReader, wait_for


def cmd(action: str, **args) -> str:
    return json.dumps({"action": action, "target": "task", "args": args})


def model_says(stack, fake, *commands: str, text: str = "On it.") -> str:
    """A scripted reply with these commands; returns its id once it and its commands are stored."""
    fake.enqueue(Script(tokens=[text + " ", *[c + " " for c in commands]]))
    reply = stack.chat(f"please ({len(commands)} commands)")
    stack.wait_message(reply)
    wait_for(lambda: command_rows(stack, reply) and len(command_rows(stack, reply)) == len(commands),
             what="the reply's commands")
    return reply


def command_rows(stack, reply: str) -> list[tuple]:
    with stack.db() as db:
        return db.execute("SELECT id, ok, result, state FROM commands WHERE msg_id = ? ORDER BY id", [reply]).fetchall()


def person_add(stack, name: str) -> int:
    assert stack.http.post("/tasks", data={"name": name}).status_code == 200
    return wait_for(lambda: [t[0] for t in stack.tasks() if t[1] == name], what=name)[0]


def task(stack, task_id: int) -> tuple | None:
    return next((t for t in stack.tasks() if t[0] == task_id), None)


def undo(stack, path: str, **data):
    return stack.http.post(path, data=data or None)


def test_undo_of_each_model_action_flips_its_chip_in_every_tab(stack, fake_ollama):
    milk = person_add(stack, "milk")
    with SseReader(stack.url, tab="a") as a, SseReader(stack.url, tab="b") as b:
        for command, check in [
            (cmd("insert", name="model apples"), lambda: "model apples" not in [t[1] for t in stack.tasks()]),
            (cmd("update", id=milk, name="buy milk"), lambda: task(stack, milk)[1] == "milk"),
            (cmd("toggle", id=milk), lambda: task(stack, milk)[2] == 0),
            (cmd("delete", id=milk), lambda: task(stack, milk) == (milk, "milk", 0, task(stack, milk)[3])),
        ]:
            reply = model_says(stack, fake_ollama, command)
            command_id = f"{reply}:0"
            r = undo(stack, f"/undo/command/{command_id}")
            assert r.status_code == 200, r.text
            assert len(r.json()["done"]) == 1
            assert wait_for(check, what=f"{command} reverted in the database")
            chip = f'id="chip-{command_id.replace(":", "-")}" class="chip undone"'
            for tab in (a, b):
                wait_for(lambda: tab.matching(chip), what=f"the chip flipped to undone in tab {tab.url}")
            assert command_rows(stack, reply)[0][3] == "undone"
    assert task(stack, milk)[1:3] == ("milk", 0)


def test_delete_what_is_done_leaves_every_tab_at_once_and_its_undo_brings_all_back(stack, fake_ollama):
    ids = [person_add(stack, f"chore {n}") for n in range(3)]
    for done in ids[:2]:
        assert stack.http.post(f"/tasks/{done}/toggle").status_code == 200
    wait_for(lambda: [task(stack, i)[2] for i in ids] == [1, 1, 0], what="two chores done")
    with SseReader(stack.url, tab="a") as a:
        reply = model_says(stack, fake_ollama, '{"action": "delete", "args": {"tasks": "done"}}')
        gone = [f'hx-swap-oob="delete" id="task-{i}"' for i in ids[:2]]
        wait_for(lambda: all(a.matching(g) for g in gone), what="both done chores out of the watching tab")
        assert len({e.id for g in gone for e in a.matching(g)}) == 1, "one event took both out"
    [(command_id, ok, result, state)] = command_rows(stack, reply)
    assert (ok, result, state) == (1, "Removed 'chore 0' and 'chore 1'", "done")
    assert [task(stack, i) is None for i in ids] == [True, True, False]
    assert len(undo(stack, f"/undo/command/{command_id}").json()["done"]) == 2
    assert [task(stack, i)[2] for i in ids] == [1, 1, 0], "one undo brought both back, done"


def test_a_command_that_changed_nothing_is_shown_kept_with_no_undo(stack, fake_ollama):
    chore = person_add(stack, "kept chore")
    with SseReader(stack.url, tab="a") as a:
        reply = model_says(stack, fake_ollama, cmd("update", id=chore, done=False))
        [(command_id, ok, result, state)] = command_rows(stack, reply)
        assert (ok, result, state) == (1, "Kept 'kept chore': not done already", "kept")
        chip = wait_for(lambda: a.matching(f'id="chip-{command_id.replace(":", "-")}" class="chip kept"'),
                        what="the kept chip")
    assert "/undo/command/" not in chip[-1].data, "nothing to undo, so no Undo"
    r = undo(stack, f"/undo/command/{command_id}")
    assert (r.status_code, r.json()["error"]) == (409, "this command changed nothing on the list")


def test_undo_and_redo_of_each_action_by_the_person(stack):
    first, second = person_add(stack, "p first"), person_add(stack, "p second")
    start = stack.tasks()
    steps = [("POST", f"/tasks/{first}/toggle", None), ("PUT", f"/tasks/{first}", {"name": "p renamed"}),
             ("POST", "/tasks/order", {"ids": [str(second), str(first)]}), ("DELETE", f"/tasks/{second}", None),
             ("POST", "/tasks", {"name": "p third"})]
    states = []
    for method, path, data in steps:
        assert stack.http.request(method, path, data=data).status_code == 200
        states.append(wait_for(lambda: stack.tasks() != (states[-1] if states else start) and stack.tasks(),
                               what=f"{method} {path}"))
    for expected in [*reversed(states[:-1]), start]:
        r = undo(stack, "/undo/last", by="person")
        assert r.status_code == 200, r.text
        assert stack.tasks() == expected, f"after undoing: {r.json()}"
    for expected in states:
        r = undo(stack, "/redo/last", by="person")
        assert r.status_code == 200, r.text
        assert stack.tasks() == expected
    with stack.db() as db:
        routes = [r[0] for r in db.execute("SELECT route FROM changes WHERE kind = 'change' AND actor = 'person'"
                                           " ORDER BY seq DESC LIMIT 5")]
    assert routes[0] == "POST /tasks" and f"DELETE /tasks/{second}" in routes


def test_undo_all_of_a_mixed_reply_restores_the_list_and_redo_all_brings_it_back(stack, fake_ollama):
    keep, gone = person_add(stack, "mixed keep"), person_add(stack, "mixed gone")
    before = stack.tasks()
    reply = model_says(stack, fake_ollama, cmd("insert", name="mixed new"),
                       cmd("update", id="mixed new", name="mixed newer"), cmd("toggle", id=keep),
                       cmd("delete", id=gone), cmd("list"))
    after = stack.tasks()
    r = undo(stack, f"/undo/reply/{reply}")
    assert r.status_code == 200, r.text
    assert r.json()["done"] == ["Removed 'mixed gone'", "Marked 'mixed keep' done",
                                "Renamed 'mixed new' to 'mixed newer'", "Added 'mixed new'"], "newest first"
    assert stack.tasks() == before, "ids, names, states and positions as before the reply"
    again = undo(stack, f"/undo/reply/{reply}")
    assert again.status_code == 409 and "undone already" in again.json()["error"]
    assert undo(stack, f"/redo/reply/{reply}").status_code == 200
    assert stack.tasks() == after


def test_a_conflicting_undo_is_refused_with_what_changed_since(stack, fake_ollama):
    milk = person_add(stack, "milk carton")
    reply = model_says(stack, fake_ollama, cmd("update", id=milk, name="buy milk"))
    assert stack.http.put(f"/tasks/{milk}", data={"name": "oat milk"}).status_code == 200
    wait_for(lambda: task(stack, milk)[1] == "oat milk", what="the person's rename")
    r = undo(stack, f"/undo/reply/{reply}")
    assert r.status_code == 409
    assert r.json()["error"] == "'buy milk' was renamed after this reply; undo that first"
    assert task(stack, milk)[1] == "oat milk", "never a silent overwrite"
    assert undo(stack, "/undo/last", by="person").status_code == 200
    assert undo(stack, f"/undo/reply/{reply}").status_code == 200
    assert task(stack, milk)[1] == "milk carton"


def test_undo_all_is_all_or_none(stack, fake_ollama):
    other = person_add(stack, "whole other")
    reply = model_says(stack, fake_ollama, cmd("insert", name="whole new"), cmd("update", id=other, name="whole renamed"))
    assert stack.http.post(f"/tasks/{other}/toggle").status_code == 200
    assert stack.http.put(f"/tasks/{other}", data={"name": "whole mine"}).status_code == 200
    wait_for(lambda: task(stack, other)[1] == "whole mine", what="the person's rename")
    before = stack.tasks()
    r = undo(stack, f"/undo/reply/{reply}")
    assert r.status_code == 409 and r.json()["error"] == "'whole renamed' was renamed after this reply; undo that first"
    assert stack.tasks() == before, "the insert the reply made is not undone on its own"
    assert [row[3] for row in command_rows(stack, reply)] == ["done", "done"]


def test_undoing_a_delete_brings_the_task_back_in_its_place(stack, fake_ollama):
    ids = [person_add(stack, f"place {n}") for n in ("one", "two", "three")]
    before = stack.tasks()
    with SseReader(stack.url, tab="watcher") as sse:
        reply = model_says(stack, fake_ollama, cmd("delete", id=ids[1]))
        later = person_add(stack, "place later")
        assert later not in ids
        heard = len(sse.snapshot())
        assert undo(stack, f"/undo/reply/{reply}").status_code == 200
        wait_for(lambda: sse.matching(f'id="task-{ids[1]}"'), what="the restored task in the tab")
        assert stack.http.post("/tasks", data={"name": "place control"}).status_code == 200
        wait_for(lambda: sse.matching("place control"), what="a later change: the restore's events are all in")
    since = sse.snapshot()[heard:]
    assert sum(f'id="task-{ids[1]}"' in e.data for e in since) == 1, "the restored task shows once"
    assert [t for t in stack.tasks() if t[1] not in ("place later", "place control")] == before
    order = [t[0] for t in stack.tasks()]
    assert order.index(ids[0]) < order.index(ids[1]) < order.index(ids[2])


def test_double_clicking_undo_reverts_once(stack, fake_ollama):
    reply = model_says(stack, fake_ollama, cmd("insert", name="double click"))
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(undo(stack, f"/undo/command/{reply}:0")))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 409]
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM changes WHERE kind = 'undo' AND target IN"
                          " (SELECT seq FROM changes WHERE command_id = ?)", [f"{reply}:0"]).fetchone() == (1,)


def test_unknown_ids_are_404_and_nothing_to_undo_is_409(stack):
    for path in ("/undo/reply/nosuchreply", "/undo/command/nosuch:0", "/undo/change/99999999", "/approve/nosuch:0"):
        r = stack.http.post(path, data={"decision": "allow"})
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert r.json()["error"]
    # A change's seq is ASCII digits: anything else matches no route at all.
    assert stack.http.post("/redo/change/x").status_code == 404
    assert stack.http.post("/approve/x:0", data={"decision": "maybe"}).status_code == 422


def test_the_model_is_told_of_an_undo_and_can_undo_its_own_reply(stack, fake_ollama):
    reply = model_says(stack, fake_ollama, cmd("insert", name="told apples"))
    sent = len(fake_ollama.requests)
    fake_ollama.enqueue(Script(tokens=["Fine, ", "gone."]))  # its comment on the undo
    assert undo(stack, f"/undo/reply/{reply}").status_code == 200
    fake_ollama.wait_for(lambda: len(fake_ollama.requests) > sent, timeout=10)
    said = "\n".join(m["content"] for m in fake_ollama.requests[sent]["messages"])
    assert "[event] The user undid: Added 'told apples'" in said

    again = model_says(stack, fake_ollama, cmd("insert", name="chat undo"))
    undoer = model_says(stack, fake_ollama, '{"action": "undo"}', text="Taking that back.")
    ok, result = command_rows(stack, undoer)[0][1:3]
    assert ok == 1 and "Added 'chat undo'" in result
    assert "chat undo" not in [t[1] for t in stack.tasks()]
    assert command_rows(stack, again)[0][3] == "undone"


def test_a_concurrent_undo_and_model_command_on_one_task_one_wins(stack, fake_ollama):
    reply = model_says(stack, fake_ollama, cmd("insert", name="race task"))
    race = next(t[0] for t in stack.tasks() if t[1] == "race task")
    fake_ollama.enqueue(Script(tokens=["Renaming. ", cmd("update", id=race, name="race renamed")]))
    answer = []
    racer = threading.Thread(target=lambda: answer.append(undo(stack, f"/undo/reply/{reply}")))
    rename = stack.chat("rename it")
    racer.start()
    racer.join()
    stack.wait_message(rename)
    rows = wait_for(lambda: command_rows(stack, rename), what="the rename's result")
    undone = answer[0].status_code == 200
    renamed = rows[0][1] == 1
    assert undone != renamed, (answer[0].text, rows)
    if undone:
        assert "no task" in rows[0][2] and task(stack, race) is None
    else:
        assert answer[0].status_code == 409 and "renamed after this reply" in answer[0].json()["error"]
        assert task(stack, race)[1] == "race renamed"


def test_the_changes_page_lists_who_did_what_newest_first_with_undo(stack, fake_ollama):
    person_add(stack, "page first")
    reply = model_says(stack, fake_ollama, cmd("insert", name="page second"))
    page = stack.http.get("/changes").text
    first, second = page.index("Added 'page first'"), page.index("Added 'page second'")
    assert second < first, "newest first"
    row = page[page.rfind("<tr", 0, second):page.find("</tr>", second)]
    assert "the model" in row and reply not in row and "/undo/change/" in row, "who, in words: no ids"
    assert undo(stack, f"/undo/reply/{reply}").status_code == 200
    table = stack.http.get("/changes/table").text
    assert "Removed 'page second'" in table and "/redo/change/" in table
