"""Command language v1: what the model wrote, read and validated into typed commands (`spec`).

Aliases (kept tight, everything else is refused):
  key "operation" = "action";  action is case-insensitive;
  add, create -> insert;  edit, rename -> update;  remove -> delete;
  target task, tasks, todo, todos (case-insensitive); a missing target means task;
  "args": null is the same as no args.
There is deliberately no alias for complete/check/done: "toggle" flips, and guessing
"complete" means toggle could undo a finished task.

A task reference is an int id, or a str name (exact, case-insensitive at lookup). A
string id made only of digits ("3", or "#3" as the list shows it) is the id 3;
update/toggle/delete also take it as "task" (what the prompt teaches: {"task": "buy bread"}),
and toggle/delete as {"name": ...}, which always names the task. Instead of one task, update
(done only) and delete take "tasks": "all", "done" or "open" (`Each`); any other "tasks" is read
as "task". Names follow the contract's one rule (`clean_name`).

What the model writes reaches the same validation in every form the splitter finds: a JSON
object, a JSON array of them, `<tool_call>{"name": …, "arguments": …}` (also bare, without the tags,
when its name is one of our tools: Qwen writes it so when tools are offered), pythonic calls
`[insert_task(name="…")]` (see `pythonic`), and native tool calls. Repair fixes syntax only
(quotes, commas, Python literals) in text whose strings and brackets all closed; anything cut off is
refused, never completed by a guess.
"""

from __future__ import annotations

import re
from typing import Any

import json_repair
import msgspec

from bus.contract import MAX_ID, InvalidName, clean_name

from .json_reader import unclosed
from .pythonic import read_calls
from .spec import (SELECTIONS, SPEC, TOOL_NAMES, Command, Delete, Each, Insert, List, Refusal, Selection, Toggle, Undo,
                   Update)

_ALIASES = {
    "insert": "insert", "add": "insert", "create": "insert",
    "update": "update", "edit": "update", "rename": "update",
    "toggle": "toggle",
    "delete": "delete", "remove": "delete",
    "list": "list",
    "undo": "undo",
}
_TARGETS = {"task", "tasks", "todo", "todos"}
_ENVELOPE = ("action", "operation", "target", "args")
_TOOL_CALL = ("name", "arguments")
_TYPE_REASONS = {"text": "'{}' must be text", "ref": "'{}' must be a task number or name",
                 "flag": "'{}' must be true or false"}
_NO_TASK = "no task given: add its id or name"
INCOMPLETE = "the command is incomplete (it never closed), so it was not run"


class _Invalid(Exception):
    pass


def parse_block(raw: str) -> list[Command | Refusal]:
    """Every command of one closed command block (see the splitter), in order."""
    text = raw.strip()
    try:
        if text.startswith("<tool_call>"):
            return [_tool_call(_load(text.removeprefix("<tool_call>"), "a tool call"))]
        if text.startswith("[") and not text[1:].lstrip().startswith("{"):
            return [c if isinstance(c, Refusal) else from_tool_call(*c) for c in read_calls(text)]
        obj = _load(text, "a command")
    except _Invalid as e:
        return [Refusal(str(e))]
    if isinstance(obj, list):
        return [_one(o) for o in obj] or [Refusal("the list of commands is empty")]
    return [_one(obj)]


def _one(obj: Any) -> Command | Refusal:
    """A command object, or a bare tool call: {"name": <our tool>, "arguments": {…}} without its tags.
    (The splitter opens a block on such an object only when the name is one of ours.)"""
    if isinstance(obj, dict) and "name" in obj and not {"action", "operation"} & obj.keys():
        return _tool_call(obj)
    return parse_object(obj)


def parse_command(raw: str) -> Command | Refusal:
    """One command's JSON object text."""
    try:
        return parse_object(_load(raw, "a command"))
    except _Invalid as e:
        return Refusal(str(e))


def parse_object(obj: Any) -> Command | Refusal:
    """A decoded command object."""
    try:
        if not isinstance(obj, dict):
            raise _Invalid("a command must be a JSON object")
        _known(obj, _ENVELOPE, "")
        action, operation, target = obj.get("action"), obj.get("operation"), obj.get("target", "task")
        if action is not None and operation is not None:
            raise _Invalid("give 'action' or 'operation', not both")
        action = action if action is not None else operation
        if action is None:
            raise _Invalid("missing 'action'")
        if not isinstance(action, str) or not isinstance(target, str):
            raise _Invalid("'action' and 'target' must be text")
        canonical = _ALIASES.get(action.strip().lower())
        if canonical is None:
            raise _Invalid(f"unknown action {action.strip()[:40]!r} (use insert, update, toggle, delete or list)")
        if target.strip().lower() not in _TARGETS:
            raise _Invalid(f"unknown target {target.strip()[:40]!r}")
        args = obj.get("args")
        if args is not None and not isinstance(args, dict):
            raise _Invalid("'args' must be an object")
        return _build(canonical, args or {})
    except _Invalid as e:
        return Refusal(str(e))


def from_tool_call(name: str, arguments: dict | str) -> Command | Refusal:
    """A native tool call (see tool_definitions) as a command."""
    action = TOOL_NAMES.get(name)
    if action is None:
        return Refusal(f"unknown tool {name[:40]!r}")
    try:
        if isinstance(arguments, str):
            arguments = _load(arguments, "tool arguments") if arguments.strip() else {}
        if not isinstance(arguments, dict):
            raise _Invalid("tool arguments must be a JSON object")
        return _build(action, arguments)
    except _Invalid as e:
        return Refusal(str(e))


def _tool_call(obj: Any) -> Command | Refusal:
    """Hermes / Qwen style: {"name": "insert_task", "arguments": {...}} inside <tool_call>."""
    if not isinstance(obj, dict):
        return Refusal("a tool call must be a JSON object")
    try:
        _known(obj, _TOOL_CALL, " in the tool call")
    except _Invalid as e:
        return Refusal(str(e))
    name = obj.get("name")
    if not isinstance(name, str):
        return Refusal("a tool call needs the tool's 'name'")
    arguments = obj.get("arguments")
    return from_tool_call(name, {} if arguments is None else arguments)


def _load(text: str, what: str) -> Any:
    """Strict JSON; else, if every string and bracket closed, one repair of its syntax."""
    try:
        return msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        pass
    if reason := unclosed(text):
        raise _Invalid(f"{what} is incomplete: {reason}")
    try:
        obj = json_repair.repair_json(text, return_objects=True, skip_json_loads=True)
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, (dict, list)):
        raise _Invalid("the JSON is malformed")
    return obj


def _known(obj: dict, fields, where: str) -> None:
    for key in obj:
        if key not in fields:
            raise _Invalid(f"unknown field {str(key)[:40]!r}{where}")


def _value(args: dict, key: str, kind: str) -> Any:
    """args[key] checked against its kind; None when absent (or null)."""
    v = args.get(key)
    ok = (v is None or (kind == "text" and isinstance(v, str)) or (kind == "flag" and isinstance(v, bool))
          or (kind == "ref" and isinstance(v, (int, str)) and not isinstance(v, bool)))
    if not ok:
        raise _Invalid(_TYPE_REASONS[kind].format(key))
    return v


def _build(action: str, args: dict) -> Command:
    fields = SPEC[action].fields
    _known(args, fields, " in args")
    a = {key: _value(args, key, f.kind) for key, f in fields.items()}
    if action == "insert":
        if a["name"] is None:
            raise _Invalid("missing 'name' in args")
        return Insert(_name(a["name"]))
    if (many := a.get("tasks")) is not None:
        if isinstance(many, str) and (selection := many.strip().lower()) in SELECTIONS:
            return _each(action, a, selection)
        a["task"] = _the_task(a, "task", "tasks")  # "tasks": "buy bread", a small model's plural of "task"
    if action == "update":
        ref = _the_task(a, "id", "task")
        if ref is None:
            raise _Invalid(_NO_TASK)
        if a["name"] is None and a["done"] is None:
            raise _Invalid("nothing to update: give a new name or done")
        return Update(_ref(ref), None if a["name"] is None else _name(a["name"]), a["done"])
    if action in ("toggle", "delete"):
        if a.get("done") is not None:
            raise _Invalid("a delete takes 'done' only with \"tasks\": to delete the done tasks, give \"tasks\": \"done\"")
        named = a["name"] is not None
        ref = _the_task(a, "id", "task", "name")
        if ref is None:
            raise _Invalid(_NO_TASK)
        ref = _name(ref) if named else _ref(ref)
        return Toggle(ref) if action == "toggle" else Delete(ref)
    if action == "undo":
        return Undo()
    return List(a["done"])


def _each(action: str, a: dict, selection: Selection) -> Each:
    """{"tasks": "done"}: every such task, instead of one task."""
    if any(a[k] is not None for k in ("id", "task")) or (action == "delete" and a["name"] is not None):
        raise _Invalid("give one task or 'tasks', not both")
    if action == "delete":
        if a["done"] is None:
            return Each("delete", selection)
        which = "done" if a["done"] else "open"  # {"tasks": "all", "done": true}: a delete sets nothing, so it picks
        if selection not in ("all", which):
            raise _Invalid(f"'tasks': '{selection}' and 'done': {str(a['done']).lower()} pick no task")
        return Each("delete", which)
    if a["name"] is not None:
        raise _Invalid("several tasks can't all get one name: rename them one by one")
    if a["done"] is None:
        raise _Invalid("nothing to update: give done")
    return Each("update", selection, a["done"])


def _the_task(a: dict, *keys: str) -> Any:
    """The one task reference among these fields (None: none given); two of them are refused."""
    given = [k for k in keys if a[k] is not None]
    if len(given) > 1:
        raise _Invalid("give the task's id or its name, not both")
    return a[given[0]] if given else None


def _name(v: str) -> str:
    try:
        return clean_name(v)
    except InvalidName as err:
        raise _Invalid(str(err)) from None


def _ref(v: int | str) -> int | str:
    if isinstance(v, str):
        v = v.strip()
        if not v:
            raise _Invalid(_NO_TASK)
        if re.fullmatch(r"#[0-9]+", v):  # the list's own spelling of an id
            v = v[1:]
        if not re.fullmatch(r"[0-9]+", v):
            return _name(v)
        if len(v) > len(str(MAX_ID)):
            raise _Invalid("the task id is out of range")
        v = int(v)
    if v < 1:
        raise _Invalid("the task id must be a positive number")
    if v > MAX_ID:
        raise _Invalid("the task id is out of range")
    return v
