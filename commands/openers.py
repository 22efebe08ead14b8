"""What opens a command block (or a think section) in a model's reply, and how the splitter
recognises one a character at a time.

A command block is, as models write them:
  - a JSON object whose first key is "action" or "operation" (double or single quotes);
  - a JSON array whose first element is such an object;
  - a list of pythonic calls of the native tools, `[insert_task(name="…"), …]` (Llama 3.2);
  - `<tool_call>` and a JSON object `{"name": …, "arguments": …}`, then `</tool_call>`
    (Hermes / Qwen; the closing tag is Hidden);
  - that object bare, `{"name": "insert_task", "arguments": …}` (or an array of them), but only
    when its first key is "name" and its value one of our tool names: other JSON is prose.
"""

import re

from .json_reader import WS
from .spec import TOOL_NAMES

# "Sure! ```json" then a command on the next line: a fence opened mid-line, which markdown doesn't
# count as one, but the model meant it, so the ``` line after the command closes it. The opener's
# pattern (after the text it follows) is shared with the renderer, which drops it before a command.
INLINE_FENCE = r"[^\S\n]*(`{3,})(?:json)?[^\S\n]*\n\s*"
AFTER_INLINE_FENCE = re.compile(r"\S" + INLINE_FENCE + "$", re.IGNORECASE)  # prose ending in that opener

# Each opener is a sequence of literals and SPACE (any run of whitespace, possibly empty).
SPACE = None
OBJECT, ARRAY, CALLS, TOOL_CALL, THINK_OPEN = range(5)
_KEYS = [f"{q}{k}{q}" for k in ("action", "operation") for q in "\"'"]
# a bare tool call: the name key and one of our tool names, quoted, are the opener
_TOOL_KEYS = [('"name"', SPACE, ":", SPACE, f'"{tool}"') for tool in TOOL_NAMES]
OPENERS: list[tuple[int, tuple]] = [
    *[(OBJECT, ("{", SPACE, key, SPACE, ":")) for key in _KEYS],
    *[(ARRAY, ("[", SPACE, "{", SPACE, key, SPACE, ":")) for key in _KEYS],
    *[(OBJECT, ("{", SPACE, *key)) for key in _TOOL_KEYS],
    *[(ARRAY, ("[", SPACE, "{", SPACE, *key)) for key in _TOOL_KEYS],
    *[(CALLS, ("[", SPACE, name, SPACE, "(")) for name in TOOL_NAMES],
    (TOOL_CALL, ("<tool_call>", SPACE, "{")),
    (THINK_OPEN, ("<think>",)),
    (THINK_OPEN, ("<thinking>",)),
]
IN_FENCE = [i for i, (kind, _) in enumerate(OPENERS) if kind in (OBJECT, ARRAY, CALLS)]
ANYWHERE = list(range(len(OPENERS)))
TOOL_CALL_END = "</tool_call>"

Match = tuple[int, int, int]  # (opener, token, chars of it) still matching


def advance(at: list[Match], c: str) -> list[Match]:
    """Advance each partial opener match over c; drop those c doesn't continue."""
    out = []
    for i, t, k in at:
        tokens = OPENERS[i][1]
        while tokens[t] is SPACE and c not in WS:
            t += 1  # the run of whitespace ended (literals never start with whitespace)
        token = tokens[t]
        if token is SPACE:
            out.append((i, t, 0))
        elif c == token[k]:
            out.append((i, t + 1, 0) if k + 1 == len(token) else (i, t, k + 1))
    return out


def completed(at: list[Match]) -> int | None:
    """The opener fully matched, if one is."""
    return next((i for i, t, _ in at if t == len(OPENERS[i][1])), None)
