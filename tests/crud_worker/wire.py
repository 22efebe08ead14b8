"""The canonical wire forms of a command, for round-trip property tests (the app never writes them)."""

from __future__ import annotations

import json
import re

from commands.schema import SPEC, Command, Delete, Insert, List, Toggle, Update


def wire(cmd: Command) -> tuple[str, dict]:
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
    raise TypeError(f"not a command: {cmd!r}")


def describe(cmd: Command) -> str:
    """The command as the model should write it."""
    action, args = wire(cmd)
    return json.dumps({"action": action, "target": "task", "args": args}, ensure_ascii=False)


def tool_call_of(cmd: Command) -> tuple[str, dict]:
    """The native tool call equivalent to a command: (tool name, arguments)."""
    action, args = wire(cmd)
    return SPEC[action].tool, args
