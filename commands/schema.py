"""Command language v1: typed commands, parsing of the model's JSON, native tools.

Aliases (kept tight, everything else is refused):
  key "operation" = "action";  action is case-insensitive;
  add, create -> insert;  edit, rename -> update;  remove -> delete;
  target task, tasks, todo, todos (case-insensitive); a missing target means task;
  "args": null is the same as no args.
There is deliberately no alias for complete/check/done: "toggle" flips, and guessing
"complete" means toggle could undo a finished task.

A task reference is an int id, or a str name (exact, case-insensitive at lookup). A
string id made only of digits ("3") is the id 3; toggle/delete also take {"name": ...},
which always names the task.
"""

import json
import re
from typing import Any

import json_repair
import msgspec

MAX_NAME = 500
_MAX_ID = 2**63 - 1  # SQLite's integer range

_ACTIONS = {
    "insert": "insert", "add": "insert", "create": "insert",
    "update": "update", "edit": "update", "rename": "update",
    "toggle": "toggle",
    "delete": "delete", "remove": "delete",
    "list": "list",
    "undo": "undo",
}
_TARGETS = {"task", "tasks", "todo", "todos"}
_TOOLS = {"insert_task": "insert", "update_task": "update", "toggle_task": "toggle",
          "delete_task": "delete", "list_tasks": "list", "undo_last_reply": "undo"}


class Insert(msgspec.Struct, frozen=True):
    name: str


class Update(msgspec.Struct, frozen=True):
    ref: int | str
    name: str | None = None
    done: bool | None = None


class Toggle(msgspec.Struct, frozen=True):
    ref: int | str


class Delete(msgspec.Struct, frozen=True):
    ref: int | str


class List(msgspec.Struct, frozen=True):
    done: bool | None = None


class Undo(msgspec.Struct, frozen=True):
    """Take back every change of the model's own last reply that changed the list."""


class Refusal(msgspec.Struct, frozen=True):
    reason: str


Command = Insert | Update | Toggle | Delete | List | Undo


# The wire shapes, checked by msgspec (types, unknown fields); meaning is checked below.

class _Envelope(msgspec.Struct, forbid_unknown_fields=True):
    action: Any = None
    operation: Any = None
    target: Any = "task"
    args: dict[str, Any] | None = None


class _InsertArgs(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class _UpdateArgs(msgspec.Struct, forbid_unknown_fields=True):
    id: int | str
    name: str | None = None
    done: bool | None = None


class _RefArgs(msgspec.Struct, forbid_unknown_fields=True):
    id: int | str | None = None
    name: str | None = None


class _ListArgs(msgspec.Struct, forbid_unknown_fields=True):
    done: bool | None = None


class _NoArgs(msgspec.Struct, forbid_unknown_fields=True):
    pass


_ARGS = {"insert": _InsertArgs, "update": _UpdateArgs, "toggle": _RefArgs,
         "delete": _RefArgs, "list": _ListArgs, "undo": _NoArgs}
_TYPE_REASONS = {
    "name": "'name' must be text",
    "id": "'id' must be a task number or name",
    "done": "'done' must be true or false",
    "args": "'args' must be an object",
}
_NO_TASK = "no task given: add its id or name"


class _Refused(Exception):
    pass


def parse_block(raw: str) -> Command | Refusal:
    """Parse one command's JSON text; malformed JSON gets one repair attempt."""
    try:
        obj = _load(raw)
        if not isinstance(obj, dict):
            raise _Refused("a command must be a JSON object")
        env = _convert(obj, _Envelope, "")
        if env.action is not None and env.operation is not None:
            raise _Refused("give 'action' or 'operation', not both")
        action = env.action if env.action is not None else env.operation
        if action is None:
            raise _Refused("missing 'action'")
        if not isinstance(action, str) or not isinstance(env.target, str):
            raise _Refused("'action' and 'target' must be text")
        canonical = _ACTIONS.get(action.strip().lower())
        if canonical is None:
            raise _Refused(f"unknown action {action.strip()[:40]!r} (use insert, update, toggle, delete or list)")
        if env.target.strip().lower() not in _TARGETS:
            raise _Refused(f"unknown target {env.target.strip()[:40]!r}")
        return _build(canonical, env.args or {})
    except _Refused as e:
        return Refusal(str(e))


def from_tool_call(name: str, arguments: dict | str) -> Command | Refusal:
    """A native tool call (see tool_definitions) as a command."""
    action = _TOOLS.get(name)
    if action is None:
        return Refusal(f"unknown tool {name[:40]!r}")
    try:
        if isinstance(arguments, str):
            arguments = _load(arguments) if arguments.strip() else {}
        if not isinstance(arguments, dict):
            raise _Refused("tool arguments must be a JSON object")
        return _build(action, arguments)
    except _Refused as e:
        return Refusal(str(e))


def _load(text: str) -> Any:
    """Strict JSON, else one repair attempt that must give an object."""
    try:
        return msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        obj = json_repair.repair_json(text, return_objects=True, skip_json_loads=True)
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        raise _Refused("the JSON is malformed")
    return obj


def _convert(obj: dict, spec: type, where: str) -> Any:
    try:
        return msgspec.convert(obj, spec)
    except msgspec.ValidationError as e:
        msg = str(e)
        if m := re.search(r"unknown field `(.*)`", msg):
            raise _Refused(f"unknown field {m.group(1)[:40]!r}{where}") from None
        if m := re.search(r"missing required field `(.*)`", msg):
            raise _Refused(_NO_TASK if m.group(1) == "id" else f"missing {m.group(1)!r}{where}") from None
        m = re.search(r"at `\$\.(\w+)`", msg)
        raise _Refused(_TYPE_REASONS.get(m.group(1) if m else "", msg)) from None


def _build(action: str, args: dict) -> Command:
    a = _convert(args, _ARGS[action], " in args")
    if action == "insert":
        return Insert(_name(a.name))
    if action == "update":
        if a.name is None and a.done is None:
            raise _Refused("nothing to update: give a new name or done")
        return Update(_ref(a.id), None if a.name is None else _name(a.name), a.done)
    if action in ("toggle", "delete"):
        if a.id is not None and a.name is not None:
            raise _Refused("give the task's id or its name, not both")
        if a.id is None and a.name is None:
            raise _Refused(_NO_TASK)
        ref = _ref(a.id) if a.id is not None else _name(a.name)
        return Toggle(ref) if action == "toggle" else Delete(ref)
    if action == "undo":
        return Undo()
    return List(a.done)


def _name(v: str) -> str:
    v = v.strip()
    if not v:
        raise _Refused("the name is empty")
    if len(v) > MAX_NAME:
        raise _Refused(f"name is over {MAX_NAME} characters")
    return v


def _ref(v: int | str) -> int | str:
    if isinstance(v, str):
        v = v.strip()
        if not v:
            raise _Refused(_NO_TASK)
        if not re.fullmatch(r"[0-9]+", v):
            return _name(v)
        if len(v) > 19:
            raise _Refused("the task id is out of range")
        v = int(v)
    if v < 1:
        raise _Refused("the task id must be a positive number")
    if v > _MAX_ID:
        raise _Refused("the task id is out of range")
    return v


def _wire(cmd: Command) -> tuple[str, dict]:
    match cmd:
        case Insert(name):
            return "insert", {"name": name}
        case Update(ref, name, done):
            args = {"id": ref, "name": name, "done": done}
            return "update", {k: v for k, v in args.items() if v is not None}
        case Toggle(ref) | Delete(ref):
            # a name that looks like a number must stay a name when read back
            key = "name" if isinstance(ref, str) and re.fullmatch(r"[0-9]+", ref) else "id"
            return type(cmd).__name__.lower(), {key: ref}
        case List(done):
            return "list", {} if done is None else {"done": done}
        case Undo():
            return "undo", {}
    raise TypeError(f"not a command: {cmd!r}")


def describe(cmd: Command) -> str:
    """The canonical wire form of a command, as the model should write it."""
    action, args = _wire(cmd)
    return json.dumps({"action": action, "target": "task", "args": args}, ensure_ascii=False)


def tool_call_of(cmd: Command) -> tuple[str, dict]:
    """The native tool call equivalent to a command: (tool name, arguments)."""
    action, args = _wire(cmd)
    return next(t for t, a in _TOOLS.items() if a == action), args


_REF = {"type": ["integer", "string"], "description": "the task's id, or its exact name"}
_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}


def tool_definitions() -> list[dict]:
    """OpenAI-style tool definitions for the same command set."""
    def tool(name: str, description: str, props: dict, required: list[str]) -> dict:
        params = {"type": "object", "properties": props, "required": required,
                  "additionalProperties": False}
        return {"type": "function",
                "function": {"name": name, "description": description, "parameters": params}}

    return [
        tool("insert_task", "Add a task to the list.",
             {"name": {**_NAME, "description": "what to do"}}, ["name"]),
        tool("update_task", "Rename a task and/or mark it done or not done; give name, done or both.",
             {"id": _REF, "name": {**_NAME, "description": "the new name"},
              "done": {"type": "boolean"}}, ["id"]),
        tool("toggle_task", "Flip a task between done and not done.", {"id": _REF}, ["id"]),
        tool("delete_task", "Delete a task.", {"id": _REF}, ["id"]),
        tool("list_tasks", "List the tasks, optionally only done or only open ones.",
             {"done": {"type": "boolean", "description": "true: only done; false: only open"}}, []),
        tool("undo_last_reply", "Take back every change your previous reply made to the list.", {}, []),
    ]


COMMAND_LANGUAGE = """\
You change the todo list by writing commands in your reply. A command is one JSON
object, on its own or in a ```json block; you may write several, and prose around them.
Refer to a task by its id (a number) or by its exact name.

Add a task:     {"action": "insert", "target": "task", "args": {"name": "Buy apples"}}
Rename / mark:  {"action": "update", "target": "task", "args": {"id": 3, "name": "Buy oat milk"}}
                (or "done": true / false instead of, or as well as, "name")
Flip done:      {"action": "toggle", "target": "task", "args": {"id": 3}}
Delete:         {"action": "delete", "target": "task", "args": {"id": "Buy apples"}}
List:           {"action": "list", "target": "task", "args": {"done": false}}
                (omit "done" for all tasks; the result comes back to you)

Only these actions and fields exist; anything else is refused and you are told why.
Never put a command in a code example you do not mean to run: a JSON object whose
first key is "action" is always run (unless it is inside a non-json code block).
"""
