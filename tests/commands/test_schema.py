import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bus.contract import clean_name
from commands.parse import from_tool_call, parse_block, parse_command
from commands.schema import tool_definitions
from commands.spec import COMMAND_LANGUAGE, Delete, Each, Insert, List, Refusal, Toggle, Update
from commands.splitter import Block, split_all
from tests.commands.wire import any_command, array, bare_tool, describe, hermes, pythonic, tool_call_of


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
    assert parse_command(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (cmd("delete", {"tasks": "done"}), Each("delete", "done")),
    (cmd("remove", {"tasks": " All "}), Each("delete", "all")),
    (cmd("update", {"tasks": "all", "done": True}), Each("update", "all", True)),
    (cmd("update", {"tasks": "done", "done": False}), Each("update", "done", False)),
    (cmd("delete", {"tasks": "walk the dog"}), Delete("walk the dog")),  # the 1.5B's plural of "task"
    (cmd("update", {"tasks": "#3", "done": True}), Update(3, None, True)),
    (cmd("delete", {"tasks": "milk", "task": "milk"}), Refusal("give the task's id or its name, not both")),
    (cmd("delete", {"tasks": True}), Refusal("'tasks' must be a task number or name")),
    (cmd("delete", {"tasks": "done", "task": "milk"}), Refusal("give one task or 'tasks', not both")),
    (cmd("delete", {"tasks": "done", "name": "milk"}), Refusal("give one task or 'tasks', not both")),
    (cmd("update", {"tasks": "all", "id": 3, "done": True}), Refusal("give one task or 'tasks', not both")),
    (cmd("update", {"tasks": "all"}), Refusal("nothing to update: give done")),
    (cmd("update", {"tasks": "open", "name": "x", "done": True}),
     Refusal("several tasks can't all get one name: rename them one by one")),
    (cmd("delete", {"tasks": "all", "done": True}), Each("delete", "done")),  # the 0.5B's "delete what's done"
    (cmd("delete", {"tasks": "all", "done": False}), Each("delete", "open")),
    (cmd("delete", {"tasks": "done", "done": True}), Each("delete", "done")),
    (cmd("delete", {"tasks": "open", "done": True}), Refusal("'tasks': 'open' and 'done': true pick no task")),
    (cmd("delete", {"task": "milk", "done": True}),
     Refusal('a delete takes \'done\' only with "tasks": to delete the done tasks, give "tasks": "done"')),
    (cmd("toggle", {"tasks": "done"}), Refusal("unknown field 'tasks' in args")),
    (cmd("insert", {"tasks": "all"}), Refusal("unknown field 'tasks' in args")),
])
def test_tasks_names_every_task_of_a_selection_instead_of_one(raw, expected):
    assert parse_command(raw) == expected


def test_the_selection_is_taught_in_the_prompt_but_offered_in_no_tool():
    assert all("tasks" not in t["function"]["parameters"]["properties"] for t in tool_definitions())
    assert from_tool_call("delete_task", {"tasks": "done"}) == Each("delete", "done")  # read alike, if written


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
    assert parse_command(raw) == expected


@pytest.mark.parametrize("args, expected", [
    ({"id": "3"}, Toggle(3)),
    ({"id": " Buy milk "}, Toggle("Buy milk")),
    ({"name": "milk"}, Toggle("milk")),
    ({"name": "42"}, Toggle("42")),
])
def test_task_references(args, expected):
    assert parse_command(cmd("toggle", args)) == expected
    assert parse_command(cmd("update", {"id": "Buy milk", "done": True})) == Update("Buy milk", None, True)


def test_names_are_cleaned_by_the_one_rule_and_html_kept():
    assert parse_command(cmd("insert", {"name": "  <b>bold</b> &\t\x00 co \n"})) == Insert("<b>bold</b> & co")
    assert clean_name("  <b>bold</b> &\t\x00 co \n") == "<b>bold</b> & co"


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
    (cmd("insert", {"name": "x" * 501}), "the name is over 500 characters"),
    (cmd("toggle", {"id": "y" * 501}), "the name is over 500 characters"),
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
    ('{"action": ' + "[" * 5000, "a command is incomplete: its brackets never closed"),
    ('{"action": "list"]', "a command is incomplete: its brackets don't match"),
])
def test_refusals(raw, reason):
    assert parse_command(raw) == Refusal(reason)


def test_name_of_exactly_500_characters_is_accepted():
    assert parse_command(cmd("insert", {"name": " " + "x" * 500 + " "})) == Insert("x" * 500)


@pytest.mark.parametrize("raw, expected", [
    ('{"action": "insert", "args": {"name": "a",},}', Insert("a")),
    ("{'action': 'delete', 'args': {'id': 2}}", Delete(2)),
    ("{'action': 'insert', 'args': {'name': \"Bob's\"}}", Insert("Bob's")),
    ('{"action": "insert", "args": {"name": "say "hi" now"}}', Insert('say "hi" now')),
    ('{"action": "update", "args": {"id": 2, "done": True}}', Update(2, None, True)),
    ('{"action": "list", "args": {"done": None}}', List()),
    ('{"action": "insert" "args": {"name": "a"}}', Insert("a")),
])
def test_syntax_is_repaired_in_a_command_that_closed(raw, expected):
    assert parse_command(raw) == expected


@pytest.mark.parametrize("raw, reason", [
    ('{"action": "insert", "target": "task", "args": {"name": "a"}', "its brackets never closed"),
    ('{"action": "insert", "args": {"name": ', "its brackets never closed"),
    ('{"action": "insert", "args": {"name": "half', "a string in it never closed"),
    ('{"action": "insert", "args": {"name": "half\n}}', "a string in it never closed"),
    ('{"action": "insert", "args": {"name": "half}}', "a string in it never closed"),
])
def test_what_was_cut_off_is_refused_never_completed(raw, reason):
    assert parse_command(raw) == Refusal(f"a command is incomplete: {reason}")


def test_from_tool_call_with_dict_and_string_arguments():
    assert from_tool_call("insert_task", {"name": " a "}) == Insert("a")
    assert from_tool_call("update_task", '{"id": 2, "done": true}') == Update(2, None, True)
    assert from_tool_call("toggle_task", '{"id": "milk"}') == Toggle("milk")
    assert from_tool_call("delete_task", "{'id': 4}") == Delete(4)
    assert from_tool_call("list_tasks", "") == List()
    assert from_tool_call("list_tasks", {"done": True}) == List(True)


@pytest.mark.parametrize("name, args, reason", [
    ("fly_task", {}, "unknown tool 'fly_task'"),
    ("insert", {"name": "a"}, "unknown tool 'insert'"),
    ("toggle_task", "[3]", "tool arguments must be a JSON object"),
    ("toggle_task", "nonsense", "the JSON is malformed"),
    ("delete_task", "{'id': 4", "tool arguments is incomplete: its brackets never closed"),
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


# names as stored: clean (the contract's rule), so a round trip gives them back unchanged
names = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30).map(
    lambda n: " ".join(n.replace("\x00", "").split())).filter(bool)
refs = st.integers(1, 2**63 - 1) | names.filter(lambda n: not n.isascii() or not n.isdigit())
commands = any_command(names, refs)


@settings(max_examples=300, deadline=None)
@given(commands)
def test_describe_round_trips(command):
    assert parse_command(describe(command)) == command


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
    parsed = [parse_command(b.raw) for b in blocks]
    assert {type(c) for c in parsed} == {Insert, Update, Delete, Each}, "toggle is read, never taught; the list is shown"
    assert len(COMMAND_LANGUAGE.split()) < 250


# formats real models write: each reaches the same validation and the same refusals

def test_a_hermes_tool_call_is_a_command():
    assert parse_block('<tool_call>\n{"name": "insert_task", "arguments": {"name": "milk"}}') == [Insert("milk")]
    assert parse_block('<tool_call>{"name": "update_task", "arguments": "{\\"id\\": 2, \\"done\\": true}"}') == [
        Update(2, None, True)]
    assert parse_block('<tool_call>{"name": "list_tasks"}') == [List()]
    assert parse_block("<tool_call>{'name': 'toggle_task', 'arguments': {'id': 3},}") == [Toggle(3)]


@pytest.mark.parametrize("raw, reason", [
    ('<tool_call>{"name": "fly_task", "arguments": {}}', "unknown tool 'fly_task'"),
    ('<tool_call>{"name": "insert_task", "arguments": {"name": ""}}', "the name is empty"),
    ('<tool_call>{"name": "insert_task", "arguments": {"name": "a"}, "id": 1}', "unknown field 'id' in the tool call"),
    ('<tool_call>{"arguments": {"name": "a"}}', "a tool call needs the tool's 'name'"),
    ('<tool_call>{"name": "insert_task", "arguments": {"name": "half}}',
     "a tool call is incomplete: a string in it never closed"),
])
def test_hermes_tool_call_refusals(raw, reason):
    assert parse_block(raw) == [Refusal(reason)]


def test_a_bare_tool_call_is_a_command_with_string_ids_read_as_numbers():
    assert parse_block('{"name": "update_task", "arguments": {"id": "1", "name": "Buy oat milk"}}') == [
        Update(1, "Buy oat milk", None)]
    assert parse_block('{"name": "toggle_task", "arguments": {"id": " 12 "}}') == [Toggle(12)]
    assert parse_block('[{"name": "insert_task", "arguments": {"name": "a"}}, {"action": "delete", "args": {"id": 2}}]'
                       ) == [Insert("a"), Delete(2)]
    assert parse_block('{"name": "list_tasks", "arguments": {}}') == [List()]


@pytest.mark.parametrize("raw, reason", [
    ('{"name": "fly_task", "arguments": {}}', "unknown tool 'fly_task'"),
    ('{"name": "delete_task", "arguments": {"id": "0"}}', "the task id must be a positive number"),
    ('{"name": "delete_task", "arguments": {"id": 2}, "why": "x"}', "unknown field 'why' in the tool call"),
    ('{"name": "update_task", "arguments": {"id": 2}}', "nothing to update: give a new name or done"),
])
def test_bare_tool_call_refusals(raw, reason):
    assert parse_block(raw) == [Refusal(reason)]


def test_pythonic_calls_are_commands():
    assert parse_block('[insert_task(name="Buy milk")]') == [Insert("Buy milk")]
    assert parse_block("[insert_task(name='a'), toggle_task(id=3), update_task(id='b', done=True), list_tasks()]") == [
        Insert("a"), Toggle(3), Update("b", None, True), List()]
    assert parse_block('[ update_task(id=2, done=false) ]') == [Update(2, None, False)]


@pytest.mark.parametrize("raw, reason", [
    ('[insert_task("a")]', "give insert_task's arguments by name (field=value)"),
    ('[insert_task(name=x)]', "call arguments must be text, whole numbers or true/false"),
    ('[insert_task(name=__import__("os").getcwd())]', "call arguments must be text, whole numbers or true/false"),
    ('[insert_task(name=1.5)]', "call arguments must be text, whole numbers or true/false"),
    ('[insert_task(name=None)]', "call arguments must be text, whole numbers or true/false"),
    ('[insert_task(**{"name": "a"})]', "call arguments must be text, whole numbers or true/false"),
    ('[insert_task(name="a", name="b")]', "'name' is given twice"),
    ('[insert_task(name="a") toggle_task(id=1)]', "the list of calls is malformed"),
    ('[insert_task(name="half)]', "the command is incomplete: a string in it never closed"),
    ('[fly_task(x=1)]', "unknown tool 'fly_task'"),
    ('[insert_task(nom="a")]', "unknown field 'nom' in args"),
    ('[os.system("x")]', "write each call as tool_name(field=value)"),
])
def test_pythonic_refusals(raw, reason):
    assert parse_block(raw) == [Refusal(reason)]


def test_one_bad_call_of_several_is_refused_alone():
    assert parse_block('[insert_task(name="a"), fly(x=1), delete_task(id=2)]') == [
        Insert("a"), Refusal("unknown tool 'fly'"), Delete(2)]


def test_a_json_array_of_commands_is_commands():
    raw = '[{"action": "insert", "args": {"name": "a"}}, {"action": "delete", "args": {"id": 2}}, 5]'
    assert parse_block(raw) == [Insert("a"), Delete(2), Refusal("a command must be a JSON object")]
    assert parse_block("[{'action': 'list'},]") == [List()]


def test_command_ids_follow_the_one_rule():
    from commands.ids import command_id, commands_of, is_tool_call_id, tool_call_id

    block = split_all('[insert_task(name="a"), toggle_task(id=1)] and {"action": "list"}')
    blocks = [b for b in block if isinstance(b, Block)]
    assert [[f.command_id for f in commands_of("m", b)] for b in blocks] == [["m:0", "m:0.1"], ["m:1"]]
    assert command_id("m", 1) == "m:1" and command_id("m", 0, 2) == "m:0.2"
    assert tool_call_id("m", 3) == "m:tool3" and is_tool_call_id("m:tool3") and not is_tool_call_id("m:3")


def test_an_unclosed_string_then_prose_is_refused_not_repaired():
    text = '{"action": "insert", "target": "task", "args": {"name": "half\n\nAnd then some prose.'
    from commands.ids import commands_of

    blocks = [b for b in split_all(text) if isinstance(b, Block)]
    assert [f.command for b in blocks for f in commands_of("m", b)] == [
        Refusal("the command is incomplete (it never closed), so it was not run")]


@settings(max_examples=200, deadline=None)
@given(st.lists(commands, min_size=1, max_size=4))
def test_every_format_round_trips_to_the_same_commands(cmds):
    assert parse_block(pythonic(cmds)) == cmds
    assert parse_block(array(cmds)) == cmds
    assert parse_block(hermes(cmds[0])) == cmds[:1]
    assert parse_block(bare_tool(cmds[0])) == cmds[:1]


# the shared rules the command language refers to

@pytest.mark.parametrize("text, expected", [
    ("!help", "Help()"), (" !HELP ", "Help()"), ("!help me", "None"), ("!test now", "SelfTest()"),
    ("!models", "Models()"), ("!model  llama3.2:3b ", "UseModel(name='llama3.2:3b')"), ("!model", "UseModel(name='')"),
    ("!pull qwen3:4b", "Pull(name='qwen3:4b')"), ("!nope", "None"), ("help", "None"), ("say !help", "None"),
])
def test_one_parser_of_bang_commands(text, expected):
    from commands import bang

    assert repr(bang.parse(text)) == expected


def test_the_task_row_and_name_rule_are_the_contracts():
    from bus.contract import MAX_NAME, InvalidName, TaskRow

    assert TaskRow.from_row((3, "milk", 1, 7)) == TaskRow(id=3, name="milk", done=True, priority=7)
    assert TaskRow.COLUMNS == "id, name, done, priority"
    assert clean_name(" a \x00 b\n") == "a b"
    for bad, reason in [("  ", "the name is empty"), ("x" * (MAX_NAME + 1), f"the name is over {MAX_NAME} characters")]:
        with pytest.raises(InvalidName, match=reason):
            clean_name(bad)


def test_the_prompts_examples_are_exact_commands_on_their_own_lines():
    from crud_worker.prompts import EXAMPLES

    lines = [line for line in EXAMPLES.splitlines() if line.startswith("{")]
    assert len(lines) == 5 and all(len(parse_block(line)) == 1 and not isinstance(parse_block(line)[0], Refusal)
                                   for line in lines)


def test_the_task_field_the_prompt_teaches_names_a_task_by_name_or_number():
    assert parse_command('{"action": "update", "args": {"task": "buy bread", "done": true}}') == Update(
        "buy bread", None, True)
    assert parse_command('{"action": "update", "args": {"task": "#4", "name": "x"}}') == Update(4, "x", None)
    assert parse_command('{"action": "delete", "args": {"task": "buy bread"}}') == Delete("buy bread")
    assert parse_command('{"action": "delete", "args": {"task": 7}}') == Delete(7)
    assert parse_command('{"action": "delete", "args": {"task": "a", "id": 2}}') == Refusal(
        "give the task's id or its name, not both")
    assert parse_command('{"action": "update", "args": {"task": "a", "id": 2, "done": true}}') == Refusal(
        "give the task's id or its name, not both")
