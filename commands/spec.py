"""The command set: the typed commands, each action's fields declared once (SPEC), from which
validation (`parse`) and the JSON schemas (`schema`) are both made, and the language as the model is
taught it (COMMAND_LANGUAGE)."""

from __future__ import annotations

from typing import Literal, NamedTuple

import msgspec


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


Selection = Literal["all", "done", "open"]
SELECTIONS: tuple[Selection, ...] = ("all", "done", "open")


class Each(msgspec.Struct, frozen=True):
    """One update or delete for every task of a selection ({"tasks": "done"}): "delete what's done" is one
    command, so a model can't miss a task or take one too many. `ids` pins the tasks it meant once it ran
    or was put to the person, so a later Allow changes exactly those."""
    action: Literal["update", "delete"]
    tasks: Selection
    done: bool | None = None  # update: the state every one of them gets
    ids: tuple[int, ...] = ()


class List(msgspec.Struct, frozen=True):
    done: bool | None = None


class Undo(msgspec.Struct, frozen=True):
    """Take back every change of the model's own last reply that changed the list."""


class Refusal(msgspec.Struct, frozen=True):
    reason: str


Command = Insert | Update | Toggle | Delete | Each | List | Undo


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
_WHICH = Field("flag", tool=False)  # a delete's "done": which tasks of "tasks" (the 0.5B wrote "all" + true)
_MANY = Field("ref", tool=False)  # {"tasks": "done"} (SELECTIONS), else one task: taught, not a tool field
SPEC: dict[str, Action] = {
    "insert": Action("insert_task", "Add a task to the list.", {"name": Field("text", "what to do")}, ("name",)),
    "update": Action("update_task", "Rename a task and/or mark it done or not done; give name, done or both.",
                     {"id": _REF, "task": _TASK, "tasks": _MANY, "name": Field("text", "the new name"),
                      "done": Field("flag")},
                     ("id",)),
    "toggle": Action("toggle_task", "Flip a task between done and not done.",
                     {"id": _REF, "task": _TASK, "name": _BY_NAME}, ("id",)),
    "delete": Action("delete_task", "Delete a task.", {"id": _REF, "task": _TASK, "tasks": _MANY, "name": _BY_NAME,
                                                     "done": _WHICH}, ("id",)),
    "list": Action("list_tasks", "List the tasks, optionally only done or only open ones.",
                   {"done": Field("flag", "true: only done; false: only open")}, ()),
    "undo": Action("undo_last_reply", "Take back every change your previous reply made to the list.", {}, ()),
}
TOOL_NAMES: dict[str, str] = {a.tool: action for action, a in SPEC.items()}

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
write three commands. Only for every task at once, "tasks" is "all", "done" or "open":
Mark all done:  {"action": "update", "args": {"tasks": "all", "done": true}}
Delete done:    {"action": "delete", "args": {"tasks": "done"}}
"""
