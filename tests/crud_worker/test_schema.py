import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.schema import (
    COMMAND_LANGUAGE, Delete, Insert, List, Refusal, Toggle, Update, describe, from_tool_call,
    parse_block, tool_call_of, tool_definitions,
)
from commands.splitter import Block, split_all


def cmd(action: str, args=None, **top) -> str:
    obj = {"action": action, "target": "task", **top}
    if args is not None:
        obj["args"] = args
    return json.dumps(obj)


@pytest.mark.parametrize("raw, expected", [
    (cmd("insert", {"name": "Buy apples"}), Insert("Buy apples")),
    (cmd("update", {"id": 3, "name": "Buy oat milk"}), Update(3, "Buy oat milk")),
    (cmd("update", {"id": 3, "done": True}), Update(3, None, True)),
    (cmd("update", {"id": 3, "name": "x", "done": False}), Update(3, "x", False)),
    (cmd("toggle", {"id": 3}), Toggle(3)),
    (cmd("delete", {"id": 3}), Delete(3)),
    (cmd("list", {"done": False}), List(False)),
    (cmd("list", {}), List()),
    (cmd("list"), List()),
])
def test_each_action(raw, expected):
    assert parse_block(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ('{"operation": "insert", "target": "task", "args": {"name": "a"}}', Insert("a")),
    ('{"action": " INSERT ", "args": {"name": "a"}}', Insert("a")),
    (cmd("add", {"name": "a"}), Insert("a")),
    (cmd("Create", {"name": "a"}), Insert("a")),
    (cmd("edit", {"id": 1, "done": True}), Update(1, None, True)),
    (cmd("rename", {"id": 1, "name": "b"}), Update(1, "b")),
    (cmd("remove", {"id": 1}), Delete(1)),
    ('{"action": "list", "target": "todo"}', List()),
    ('{"action": "list", "target": "Todos"}', List()),
    ('{"action": "list", "target": "tasks"}', List()),
    ('{"action": "list", "args": null}', List()),
])
def test_aliases(raw, expected):
    assert parse_block(raw) == expected


@pytest.mark.parametrize("args, expected", [
    ({"id": "3"}, Toggle(3)),
    ({"id": " Buy milk "}, Toggle("Buy milk")),
    ({"name": "milk"}, Toggle("milk")),
    ({"name": "42"}, Toggle("42")),
])
def test_task_references(args, expected):
    assert parse_block(cmd("toggle", args)) == expected
    assert parse_block(cmd("update", {"id": "Buy milk", "done": True})) == Update("Buy milk", None, True)


def test_names_are_stripped_and_html_kept():
    assert parse_block(cmd("insert", {"name": "  <b>bold</b> & co \n"})) == Insert("<b>bold</b> & co")


@pytest.mark.parametrize("raw, reason", [
    (cmd("fly"), "unknown action 'fly' (use insert, update, toggle, delete or list)"),
    (cmd("complete", {"id": 1}), "unknown action 'complete' (use insert, update, toggle, delete or list)"),
    ('{"action": "list", "target": "user"}', "unknown target 'user'"),
    (cmd("list", {}, extra=1), "unknown field 'extra'"),
    (cmd("insert", {"name": "a", "priority": 1}), "unknown field 'priority' in args"),
    ('{"action": "insert", "name": "a"}', "unknown field 'name'"),
    (cmd("insert", {"name": 5}), "'name' must be text"),
    (cmd("toggle", {"id": 1.5}), "'id' must be a task number or name"),
    (cmd("toggle", {"id": True}), "'id' must be a task number or name"),
    (cmd("update", {"id": 1, "done": "yes"}), "'done' must be true or false"),
    (cmd("insert", [1]), "'args' must be an object"),
    ('{"action": 3}', "'action' and 'target' must be text"),
    ('{"action": "list", "operation": "list"}', "give 'action' or 'operation', not both"),
    ('{"target": "task"}', "missing 'action'"),
    ("[1, 2]", "a command must be a JSON object"),
    (cmd("insert", {"name": " \t "}), "the name is empty"),
    (cmd("insert", {}), "missing 'name' in args"),
    (cmd("insert", {"name": "x" * 501}), "name is over 500 characters"),
    (cmd("toggle", {"id": "y" * 501}), "name is over 500 characters"),
    (cmd("toggle", {}), "no task given: add its id or name"),
    (cmd("delete"), "no task given: add its id or name"),
    (cmd("update", {"name": "x"}), "no task given: add its id or name"),
    (cmd("toggle", {"id": " "}), "no task given: add its id or name"),
    (cmd("delete", {"id": 1, "name": "a"}), "give the task's id or its name, not both"),
    (cmd("update", {"id": 1}), "nothing to update: give a new name or done"),
    (cmd("toggle", {"id": 0}), "the task id must be a positive number"),
    (cmd("toggle", {"id": 2**64}), "the task id is out of range"),
    (cmd("toggle", {"id": "9" * 5000}), "the task id is out of range"),
    ("not json at all", "the JSON is malformed"),
    ('{"action": ' + "[" * 5000, "the JSON is malformed"),
])
def test_refusals(raw, reason):
    assert parse_block(raw) == Refusal(reason)


def test_name_of_exactly_500_characters_is_accepted():
    assert parse_block(cmd("insert", {"name": " " + "x" * 500 + " "})) == Insert("x" * 500)


@pytest.mark.parametrize("raw, expected", [
    ('{"action": "insert", "args": {"name": "a",},}', Insert("a")),
    ('{"action": "insert", "target": "task", "args": {"name": "a"}', Insert("a")),
    ("{'action': 'delete', 'args': {'id': 2}}", Delete(2)),
    ("{'action': 'insert', 'args': {'name': \"Bob's\"}}", Insert("Bob's")),
])
def test_near_json_is_repaired_once(raw, expected):
    assert parse_block(raw) == expected


def test_repair_does_not_bypass_validation():
    assert parse_block('{"action": "insert", "args": {"name": ') == Refusal("the name is empty")


def test_from_tool_call_with_dict_and_string_arguments():
    assert from_tool_call("insert_task", {"name": " a "}) == Insert("a")
    assert from_tool_call("update_task", '{"id": 2, "done": true}') == Update(2, None, True)
    assert from_tool_call("toggle_task", '{"id": "milk"}') == Toggle("milk")
    assert from_tool_call("delete_task", "{'id': 4") == Delete(4)
    assert from_tool_call("list_tasks", "") == List()
    assert from_tool_call("list_tasks", {"done": True}) == List(True)


@pytest.mark.parametrize("name, args, reason", [
    ("fly_task", {}, "unknown tool 'fly_task'"),
    ("insert", {"name": "a"}, "unknown tool 'insert'"),
    ("toggle_task", "[3]", "tool arguments must be a JSON object"),
    ("toggle_task", "nonsense", "the JSON is malformed"),
    ("insert_task", {"name": ""}, "the name is empty"),
    ("insert_task", {"name": "a", "x": 1}, "unknown field 'x' in args"),
])
def test_from_tool_call_refusals(name, args, reason):
    assert from_tool_call(name, args) == Refusal(reason)


def conforms(value, schema: dict) -> bool:
    """The small subset of JSON Schema the tool definitions use."""
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        kinds = {"object": dict, "string": str, "boolean": bool, "integer": int}
        if not any(isinstance(value, kinds[t]) and (t == "boolean") == isinstance(value, bool)
                   for t in types):
            return False
    if isinstance(value, str) and not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 10**9):
        return False
    if isinstance(value, dict):
        props = schema.get("properties", {})
        if any(k not in value for k in schema.get("required", [])):
            return False
        if schema.get("additionalProperties") is False and any(k not in props for k in value):
            return False
        return all(conforms(v, props[k]) for k, v in value.items() if k in props)
    return True


def test_tool_definitions_are_well_formed():
    tools = tool_definitions()
    assert [t["function"]["name"] for t in tools] == [
        "insert_task", "update_task", "toggle_task", "delete_task", "list_tasks", "undo_last_reply"]
    for t in tools:
        assert t["type"] == "function"
        fn = t["function"]
        assert fn["description"]
        params = fn["parameters"]
        assert params["type"] == "object" and params["additionalProperties"] is False
        assert set(params["required"]) <= set(params["properties"])
        json.dumps(t)
    by_name = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    assert not conforms({"name": ""}, by_name["insert_task"])
    assert not conforms({"id": True}, by_name["toggle_task"])
    assert not conforms({"id": 1, "x": 2}, by_name["delete_task"])


names = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30).map(str.strip).filter(bool)
refs = st.integers(1, 2**63 - 1) | names.filter(lambda n: not n.isascii() or not n.isdigit())
commands = st.one_of(
    st.builds(Insert, names),
    st.builds(Update, refs, names, st.none() | st.booleans()),
    st.builds(Update, refs, st.none(), st.booleans()),
    st.builds(Toggle, refs | names),
    st.builds(Delete, refs | names),
    st.builds(List, st.none() | st.booleans()),
)


@settings(max_examples=300, deadline=None)
@given(commands)
def test_describe_round_trips(command):
    assert parse_block(describe(command)) == command


@settings(max_examples=300, deadline=None)
@given(commands)
def test_tool_calls_round_trip_and_conform_to_their_definitions(command):
    name, args = tool_call_of(command)
    params = {t["function"]["name"]: t["function"]["parameters"] for t in tool_definitions()}[name]
    if not isinstance(command, (Toggle, Delete)) or "id" in args:
        assert conforms(args, params)
    assert from_tool_call(name, args) == command
    assert from_tool_call(name, json.dumps(args)) == command


def test_command_language_examples_are_valid_commands_of_every_kind():
    blocks = [p for p in split_all(COMMAND_LANGUAGE) if isinstance(p, Block)]
    parsed = [parse_block(b.raw) for b in blocks]
    assert {type(c) for c in parsed} == {Insert, Update, Toggle, Delete, List}
    assert len(COMMAND_LANGUAGE.split()) < 250
