"""Command language v1: typed commands, parsing of what the model wrote, native tools.

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
and toggle/delete as {"name": ...}, which always names the task. Names follow the contract's one rule (`clean_name`).

What the model writes reaches the same validation in every form the splitter finds: a JSON
object, a JSON array of them, `<tool_call>{"name": …, "arguments": …}` (also bare, without the tags,
when its name is one of our tools: Qwen writes it so when tools are offered), pythonic calls
`[insert_task(name="…")]` (read with `ast`, never evaluated: text, integers and booleans only),
and native tool calls. Repair fixes syntax only (quotes, commas, Python literals) in text whose
strings and brackets all closed; anything cut off is refused, never completed by a guess.

The fields of each action are declared once (SPEC); validation and the native tool definitions
(also for MCP) are both made from it.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Literal, NamedTuple

import json_repair
import msgspec

from bus.contract import MAX_ID, MAX_NAME, InvalidName, clean_name

from .json_reader import unclosed


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


class Field(NamedTuple):
    kind: Literal["text", "ref", "flag"]  # a task name; a task id or name; true/false
    description: str = ""
    tool: bool = True  # offered in the native tool definition (else only in embedded JSON)


class Action(NamedTuple):
    tool: str
    description: str
    fields: dict[str, Field]
    required: tuple[str, ...]  # in the tool definition


_REF = Field("ref", "the task's id, or its exact name")
_TASK = Field("ref", tool=False)  # the same, under the name the prompt teaches: {"task": "buy bread"}
_BY_NAME = Field("text", tool=False)
SPEC: dict[str, Action] = {
    "insert": Action("insert_task", "Add a task to the list.", {"name": Field("text", "what to do")}, ("name",)),
    "update": Action("update_task", "Rename a task and/or mark it done or not done; give name, done or both.",
                     {"id": _REF, "task": _TASK, "name": Field("text", "the new name"), "done": Field("flag")},
                     ("id",)),
    "toggle": Action("toggle_task", "Flip a task between done and not done.",
                     {"id": _REF, "task": _TASK, "name": _BY_NAME}, ("id",)),
    "delete": Action("delete_task", "Delete a task.", {"id": _REF, "task": _TASK, "name": _BY_NAME}, ("id",)),
    "list": Action("list_tasks", "List the tasks, optionally only done or only open ones.",
                   {"done": Field("flag", "true: only done; false: only open")}, ()),
    "undo": Action("undo_last_reply", "Take back every change your previous reply made to the list.", {}, ()),
}
TOOL_NAMES: dict[str, str] = {a.tool: action for action, a in SPEC.items()}

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
            return _calls(text)
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


def _calls(text: str) -> list[Command | Refusal]:
    """Llama 3.2 style: [insert_task(name="a"), toggle_task(id=3)]; parsed, never evaluated."""
    if reason := unclosed(text):
        return [Refusal(f"the command is incomplete: {reason}")]
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a NUL in the text
        return [Refusal("the list of calls is malformed")]
    if not isinstance(tree.body, ast.List):
        return [Refusal("the list of calls is malformed")]
    return [_call(node) for node in tree.body.elts]


_LITERAL_NAMES = {"true": True, "false": False}  # JSON's spelling, a slip of syntax only


def _call(node: ast.expr) -> Command | Refusal:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return Refusal("write each call as tool_name(field=value)")
    if node.args:
        return Refusal(f"give {node.func.id[:40]}'s arguments by name (field=value)")
    args: dict[str, Any] = {}
    for kw in node.keywords:
        value = kw.value
        if kw.arg in args:
            return Refusal(f"{kw.arg[:40]!r} is given twice")
        if isinstance(value, ast.Name) and value.id in _LITERAL_NAMES:
            args[kw.arg or ""] = _LITERAL_NAMES[value.id]
        elif kw.arg is not None and isinstance(value, ast.Constant) and type(value.value) in (str, int, bool):
            args[kw.arg] = value.value
        else:
            return Refusal("call arguments must be text, whole numbers or true/false")
    return from_tool_call(node.func.id, args)


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
    if action == "update":
        ref = _the_task(a, "id", "task")
        if ref is None:
            raise _Invalid(_NO_TASK)
        if a["name"] is None and a["done"] is None:
            raise _Invalid("nothing to update: give a new name or done")
        return Update(_ref(ref), None if a["name"] is None else _name(a["name"]), a["done"])
    if action in ("toggle", "delete"):
        named = a["name"] is not None
        ref = _the_task(a, "id", "task", "name")
        if ref is None:
            raise _Invalid(_NO_TASK)
        ref = _name(ref) if named else _ref(ref)
        return Toggle(ref) if action == "toggle" else Delete(ref)
    if action == "undo":
        return Undo()
    return List(a["done"])


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


_JSON_TYPES = {"text": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
               "ref": {"type": ["integer", "string"]}, "flag": {"type": "boolean"}}


def tool_definitions() -> list[dict]:
    """OpenAI-style tool definitions of the same command set, made from SPEC."""
    def param(f: Field) -> dict:
        return {**_JSON_TYPES[f.kind], **({"description": f.description} if f.description else {})}

    return [{"type": "function",
             "function": {"name": a.tool, "description": a.description,
                          "parameters": {"type": "object",
                                         "properties": {k: param(f) for k, f in a.fields.items() if f.tool},
                                         "required": list(a.required), "additionalProperties": False}}}
            for a in SPEC.values()]


# Names are not length-capped here (clean_name refuses a long one): llama.cpp's schema converter makes a
# bounded repeat one grammar rule per character. `minimum` is JSON Schema that llama-cpp-python 0.3.36's
# converter ignores (llama-server's honours it), so there a 0 can still reach validation and be refused.
_REPLY_TYPES = {"text": {"type": "string", "minLength": 1},
                "ref": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}]},
                "flag": {"type": "boolean"}}


def reply_schema(commands_first: bool = False) -> dict:
    """JSON Schema of a whole reply in structured-output mode: {"say": text, "commands": [command, ...]}, each
    command in the same envelope the command language teaches (action first, so the splitter sees a command),
    made from SPEC. `commands_first`: the grammar has the model write its commands before its words
    (llama.cpp and Ollama keep the properties' order)."""
    def command(action: str, a: Action) -> dict:
        args = {k: _REPLY_TYPES[f.kind] for k, f in a.fields.items() if f.tool}
        envelope = {"action": {"const": action}, "target": {"const": "task"},
                    "args": {"type": "object", "properties": args, "required": list(a.required),
                             "additionalProperties": False}}
        if not a.fields:
            envelope = {"action": {"const": action}}
        return {"type": "object", "properties": envelope, "required": list(envelope), "additionalProperties": False}

    fields = {"say": {"type": "string"},
              "commands": {"type": "array", "items": {"anyOf": [command(k, a) for k, a in SPEC.items()]}}}
    order = ["commands", "say"] if commands_first else ["say", "commands"]
    return {"type": "object", "properties": {k: fields[k] for k in order}, "required": order,
            "additionalProperties": False}


# What the model is taught (the system prompt and !help): exact commands, one of each kind it should write.
# `toggle` is read but not taught: "mark it done" must not un-tick a task that was done already. A task is
# named, not numbered: a small model copies a name well, and a wrong name is refused where a wrong
# number would change another task.
COMMAND_LANGUAGE = """\
To change the list, write commands, one JSON object per line, before your words:
Add:            {"action": "insert", "args": {"name": "Buy apples"}}
Rename:         {"action": "update", "args": {"task": "Buy apples", "name": "Buy green apples"}}
Mark done:      {"action": "update", "args": {"task": "Buy apples", "done": true}}
Mark not done:  {"action": "update", "args": {"task": "Buy apples", "done": false}}
Delete:         {"action": "delete", "args": {"task": "Buy apples"}}
"task" is the task's name exactly as the list shows it. One command per task: to change three tasks,
write three commands.
"""
