"""Pythonic tool calls, as Llama 3.2 writes them: `[insert_task(name="a"), toggle_task(id=3)]`, read
with `ast`, never evaluated: text, integers and booleans only."""

from __future__ import annotations

import ast
from typing import Any

from .json_reader import unclosed
from .spec import Refusal

Call = tuple[str, dict[str, Any]]  # a tool's name and its arguments, for `parse.from_tool_call`


def read_calls(text: str) -> list[Call | Refusal]:
    """Each call of the list, in order, or why it can't be read."""
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


def _call(node: ast.expr) -> Call | Refusal:
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
    return node.func.id, args
