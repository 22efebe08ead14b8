"""The task list as a file, through the real four processes: export, import it back (through the
crud_worker and the change log, one group an undo takes back whole), and bad files refused whole."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.util import wait_for

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def script(stack):
    """A client as a script is: no htmx header, so answers come as JSON."""
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client

NAMES = [("export milk", False), ("export bread — «fresh»", True), ("export 🍎 apples", False)]


def names_and_done(stack) -> list[tuple[str, bool]]:
    return [(name, bool(done)) for _, name, done, _ in stack.tasks()]


def change_count(stack) -> int:
    with stack.db() as db:
        return db.execute("SELECT count(*) FROM changes").fetchone()[0]


def put_list(stack, tasks: list[tuple[str, bool]]) -> None:
    for task_id, *_ in stack.tasks():
        assert stack.http.delete(f"/tasks/{task_id}").status_code == 200
    for name, done in tasks:
        assert stack.http.post("/tasks", data={"name": name}).status_code == 200
        task_id = wait_for(lambda: [t[0] for t in stack.tasks() if t[1] == name], what=name)[0]
        if done:
            assert stack.http.post(f"/tasks/{task_id}/toggle").status_code == 200
    wait_for(lambda: names_and_done(stack) == tasks, what="the list as set up")


def test_export_then_import_gives_the_same_list_and_one_undo_takes_it_back(stack, script):
    put_list(stack, NAMES)
    exported = stack.http.get("/tasks/export.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    body = exported.json()
    assert (body["format"], body["version"]) == ("ghostwire.tasks", 1)
    assert [(t["name"], t["done"]) for t in body["tasks"]] == NAMES

    put_list(stack, [])
    r = script.post("/tasks/import", content=exported.content, headers=JSON)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["imported"] == 3
    assert names_and_done(stack) == NAMES, "the import is stored before the answer"

    page = stack.http.get("/changes").text
    assert page.count("you, by import") == 3, "each imported task is in the change log"
    assert stack.http.post(result["undo"]).status_code == 200
    wait_for(lambda: names_and_done(stack) == [], what="the whole import undone")


def test_the_page_imports_an_uploaded_file(stack):
    put_list(stack, [])
    file = json.dumps({"format": "ghostwire.tasks", "version": 1, "tasks": [{"name": "uploaded one"}]})
    r = stack.http.post("/tasks/import", files={"file": ("tasks.json", file, "application/json")})
    assert r.status_code == 200 and "Imported 1 task." in r.text and "Undo import" in r.text
    assert names_and_done(stack) == [("uploaded one", False)]


LONG = "x" * 501
BAD = [
    ("not JSON", b"name,done\nmilk,0\n", "it is not valid JSON"),
    ("another format", json.dumps({"tasks": [{"name": "a"}]}).encode(), "not a Ghostwire task export (Object missing"),
    ("a newer version", json.dumps({"format": "ghostwire.tasks", "version": 2, "tasks": []}).encode(),
     "not a Ghostwire task export (Invalid enum value 2"),
    ("an unknown field", json.dumps({"format": "ghostwire.tasks", "version": 1,
                                     "tasks": [{"name": "a", "priority": 3}]}).encode(), "unknown field `priority`"),
    ("an empty name", json.dumps({"format": "ghostwire.tasks", "version": 1,
                                  "tasks": [{"name": "fine"}, {"name": "   "}]}).encode(), "task 2 of the file"),
    ("a name too long", json.dumps({"format": "ghostwire.tasks", "version": 1,
                                    "tasks": [{"name": "fine"}, {"name": LONG}]}).encode(), "over 500 characters"),
    ("no tasks", json.dumps({"format": "ghostwire.tasks", "version": 1, "tasks": []}).encode(), "holds no tasks"),
]


@pytest.mark.parametrize("what,body,says", BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_is_refused_whole_and_changes_nothing(stack, script, what, body, says):
    put_list(stack, NAMES[:1])
    before = (stack.tasks(), change_count(stack))
    r = script.post("/tasks/import", files={"file": ("tasks.json", body, "application/json")})  # as the page sends it
    assert r.status_code == 422 and says in r.json()["error"], r.text
    assert (stack.tasks(), change_count(stack)) == before


@pytest.mark.parametrize("body,says", [(b"name,done", "it is not valid JSON"), (b"[1, 2]", "must be an object")])
def test_a_json_body_that_is_no_object_is_refused_before_the_route(stack, script, body, says):
    """Sent as the request body with Content-Type application/json, FastHTML would parse it first (a 400
    in its words, a 500 for deep nesting): the edge checks it, a 422 in ours."""
    before = (stack.tasks(), change_count(stack))
    r = script.post("/tasks/import", content=body, headers=JSON)
    assert r.status_code == 422 and says in r.json()["error"]
    assert (stack.tasks(), change_count(stack)) == before


def test_a_huge_file_is_refused_at_the_edge(stack, script):
    put_list(stack, NAMES[:1])
    before = (stack.tasks(), change_count(stack))
    tasks = [{"name": f"huge {i:06d} " + "y" * 200} for i in range(1_500)]  # about 330 KB
    body = json.dumps({"format": "ghostwire.tasks", "version": 1, "tasks": tasks}).encode()
    r = script.post("/tasks/import", content=body, headers=JSON)
    assert r.status_code == 413 and "request too large" in r.text
    assert (stack.tasks(), change_count(stack)) == before


def test_an_import_past_the_lists_limit_is_refused_whole(stack, script):
    """Every name is fine, but the list would pass its 5,000 tasks: the crud_worker's transaction is
    rolled back, not one task added."""
    put_list(stack, NAMES[:1])
    before = (stack.tasks(), change_count(stack))
    body = json.dumps({"format": "ghostwire.tasks", "version": 1,
                       "tasks": [{"name": f"t{i}"} for i in range(5_000)]}).encode()
    r = script.post("/tasks/import", content=body, headers=JSON)
    assert r.status_code == 409 and "the list is full" in r.json()["error"] and "nothing was imported" in r.text
    assert (stack.tasks(), change_count(stack)) == before
