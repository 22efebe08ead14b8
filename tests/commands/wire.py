"""The canonical wire forms of a command, for round-trip property tests (the app never writes them)."""

from __future__ import annotations

import json
import re

from hypothesis import strategies as st

from commands.spec import SPEC, Command, Delete, Insert, List, Toggle, Undo, Update


def any_command(names: st.SearchStrategy[str], refs: st.SearchStrategy) -> st.SearchStrategy[Command]:
    """Every command but undo, built from the test's own strategies for task names and task refs."""
    return st.one_of(
        st.builds(Insert, names),
        st.builds(Update, refs, names, st.none() | st.booleans()),
        st.builds(Update, refs, st.none(), st.booleans()),
        st.builds(Toggle, refs | names),
        st.builds(Delete, refs | names),
        st.builds(List, st.none() | st.booleans()),
    )


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
        case Undo():
            return "undo", {}
    raise TypeError(f"not a command: {cmd!r}")


def describe(cmd: Command) -> str:
    """The command as the model should write it."""
    action, args = wire(cmd)
    return json.dumps({"action": action, "target": "task", "args": args}, ensure_ascii=False)


def tool_call_of(cmd: Command) -> tuple[str, dict]:
    """The native tool call equivalent to a command: (tool name, arguments)."""
    action, args = wire(cmd)
    return SPEC[action].tool, args


def pythonic(cmds: list[Command]) -> str:
    """Llama 3.2's style: a list of calls of the native tools with keyword literals."""
    calls = []
    for cmd in cmds:
        name, args = tool_call_of(cmd)
        calls.append(f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})")
    return f"[{', '.join(calls)}]"


def hermes(cmd: Command) -> str:
    """Hermes / Qwen style, without the closing tag (the splitter hides it)."""
    name, args = tool_call_of(cmd)
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": args}, ensure_ascii=False)


def bare_tool(cmd: Command) -> str:
    """The tool call object with no tags, as Qwen-Coder writes it when tools are offered."""
    name, args = tool_call_of(cmd)
    return json.dumps({"name": name, "arguments": args}, ensure_ascii=False)


def array(cmds: list[Command]) -> str:
    return "[" + ", ".join(describe(c) for c in cmds) + "]"
