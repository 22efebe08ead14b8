"""What the demo model says: a handful of intents read from the last user message.

Every choice between phrasings is made from a checksum of the input, so the same
conversation always gets the same reply (tests and screenshots rely on that).
"""

from __future__ import annotations

import json
import re
import zlib

HELP = ("I'm the built-in demo model: a todo app with attitude, minus the actual brain. I understand "
        "\u201cadd milk\u201d, \u201cmark milk done\u201d, \u201crename milk to oat milk\u201d, "
        "\u201cdelete milk\u201d and \u201cwhat's on my list?\u201d. For real conversation, install "
        "Ollama from https://ollama.com and run `ollama pull llama3.2`.")

_QUOTES = "\"'\u201c\u201d\u2018\u2019`"
_ADD = re.compile(r"^(?:please\s+)?(?:add|create|new task:?|remember to|put)\s+(?P<name>.+?)"
                  r"(?:\s+(?:to|on)\s+(?:my|the)\s+(?:list|todos?))?$", re.I)
_TOGGLE = re.compile(r"^(?:please\s+)?(?:mark|tick(?: off)?|check(?: off)?|complete|finish|done with)\s+"
                     r"(?P<name>.+?)(?:\s+(?:as\s+)?(?:done|complete|completed|finished|off))?$", re.I)
_DELETE = re.compile(r"^(?:please\s+)?(?:remove|delete|drop|forget|scrap)\s+(?P<name>.+?)"
                     r"(?:\s+from\s+(?:my|the)\s+(?:list|todos?))?$", re.I)
_RENAME = re.compile(r"^(?:please\s+)?(?:rename|change)\s+(?P<old>.+?)\s+(?:to|into)\s+(?P<new>.+)$", re.I)
_LIST = re.compile(r"^(?:list|show|what['\u2019]?s|what\s+is|what\s+do\s+i|what\s+are)\b.*"
                   r"\b(?:list|tasks?|todos?|have|got|left)\b|^list\b", re.I)
_TASK_LINE = re.compile(r"^#\d+\s+\[(?P<done>[ x])\]\s+(?P<name>.+)$")
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"|\u201c([^\u201d]+)\u201d")

_OPENERS = {
    "insert": ["Fine, I'll remember it so you don't have to. Adding \u201c{name}\u201d.",
               "Another one? Bold. \u201c{name}\u201d is going on the list."],
    "toggle": ["Look at you, getting things done. Ticking off \u201c{name}\u201d.",
               "\u201c{name}\u201d: done. I'll pretend I'm not impressed."],
    "delete": ["Poof. \u201c{name}\u201d never existed. I won't tell.",
               "Deleting \u201c{name}\u201d. Out of sight, out of mind."],
    "update": ["A rebrand! \u201c{old}\u201d is now \u201c{name}\u201d.",
               "Renaming \u201c{old}\u201d to \u201c{name}\u201d. Fresh coat of paint."],
    "list": ["Let me look at what you've been avoiding\u2026", "Fine, let me check the damage\u2026"],
}
# First match wins, so "not done" must come before "done".
_EVENT_COMMENTS = [
    (("uncomplet", "not done", "reopen", "unchecked"), ["Un-done {name}? Bold. Pretending it never happened, then."]),
    (("complet", "done", "ticked", "checked"), ["{name} done? Look at you, being productive. Don't get used to it.",
                                                 "Ticked off {name}. I'd clap if I had hands."]),
    (("add", "creat"), ["{name}, added. Your ambition is adorable.",
                        "Another task: {name}. The list grows, you don't."]),
    (("delet", "remov"), ["{name}, gone. Deleting is a kind of finishing, I suppose.",
                          "Bye, {name}. Out of sight, out of mind."]),
    (("renam",), ["Renamed it. A fresh name won't do it for you, but sure."]),
    (("reorder", "moved", "priorit"), ["Shuffling the list again? Rearranging deck chairs, are we."]),
]
_EVENT_FALLBACK = ["Noted. I see everything, you know.", "I saw that. Carry on."]


def _pick(options: list[str], seed: str) -> str:
    return options[zlib.crc32(seed.encode()) % len(options)]


def _clean(name: str) -> str:
    return name.strip().rstrip(".!?").strip().strip(_QUOTES).strip()


def command(action: str, args: dict) -> str:
    return json.dumps({"action": action, "target": "task", "args": args}, ensure_ascii=False)


def _with_commands(opener: str, commands: list[str], seed: str) -> str:
    # Half the replies fence their commands, half leave them bare: both forms must work downstream.
    if zlib.crc32(seed.encode()) % 2:
        body = "```json\n" + "\n".join(commands) + "\n```"
    else:
        body = "\n".join(commands)
    return f"{opener}\n\n{body}"


def _intent(text: str) -> tuple[str, dict] | None:
    if m := _RENAME.match(text):
        old, new = _clean(m["old"]), _clean(m["new"])
        if old and new:
            return "update", {"id": old, "name": new}
    if m := _TOGGLE.match(text):
        return "toggle", {"name": _clean(m["name"])}
    if m := _DELETE.match(text):
        return "delete", {"name": _clean(m["name"])}
    if m := _ADD.match(text):
        return "insert", {"name": _clean(m["name"])}
    if _LIST.search(text):
        return "list", {}
    return None


# The list as it is now goes before the newest message when it changed (crud_worker/context.py): one
# paragraph opening with this; the demo reads only what follows it.
_LIST_NOTE = "[the list now"


def reply_to(last_user: str) -> str:
    text = last_user.strip()
    if _LIST_NOTE in text:
        text = text[text.index(_LIST_NOTE):].partition("\n\n")[2].strip() or text
    if text.startswith("Command results:"):
        return _summarise(text)
    if text.startswith("[event]"):
        return _comment(text.removeprefix("[event]").strip())
    intent = _intent(text.rstrip(".!?"))
    if intent is None:
        greeting = "Hey. " if re.match(r"^(hi|hey|hello|yo)\b", text, re.I) else ""
        return greeting + HELP
    action, args = intent
    if action == "list":
        return _with_commands(_pick(_OPENERS["list"], text), [command("list", {})], text)
    if action == "insert":
        names = [n for n in (_clean(part) for part in args["name"].split(",")) if n]
        opener = _pick(_OPENERS["insert"], text).format(name="\u201d, \u201c".join(names))
        return _with_commands(opener, [command("insert", {"name": n}) for n in names], text)
    if action == "update":
        opener = _pick(_OPENERS["update"], text).format(old=args["id"], name=args["name"])
        return _with_commands(opener, [command("update", args)], text)
    opener = _pick(_OPENERS[action], text).format(name=args["name"])
    return _with_commands(opener, [command(action, {"name": args["name"]})], text)


def _summarise(text: str) -> str:
    """Prose from the "Command results:" follow-up; never a command, or we would loop."""
    lines = [ln.strip().removeprefix("- ").strip() for ln in text.splitlines()[1:]]
    lines = [ln for ln in lines if ln and not ln.startswith("Answer the person")]
    open_tasks, done_tasks, other = [], [], []
    for line in lines:
        if m := _TASK_LINE.match(line):
            (done_tasks if m["done"] == "x" else open_tasks).append(m["name"].strip())
        elif not re.match(r"^(?:list \(\d+ \w+\):|Listed \d+ \w+)$", line):  # the listing speaks for itself
            other.append(line.rstrip("."))
    parts = []
    if open_tasks:
        parts.append("Here's what you've got: " + ", ".join(open_tasks) + ".")
    if done_tasks:
        parts.append("Already done: " + ", ".join(done_tasks) + ". Show-off.")
    if other:
        parts.append("For the record: " + "; ".join(other) + ".")
    if not parts:
        return "Nothing on the list. Either you're done with life admin or in denial."
    if open_tasks:
        parts.append("Pick one and get going.")
    return " ".join(parts)


def _comment(event: str) -> str:
    """One short remark on something the person did in the app (kept well under 40 words)."""
    # The last quoted name is the task's: an agent's event names the agent first ("The agent 'x' … added 'y'").
    found = _QUOTED.findall(event)
    quoted = next((g for g in found[-1] if g), "") if found else ""
    name = f"\u201c{quoted}\u201d" if quoted else "That"
    lowered = event.lower()
    for keywords, options in _EVENT_COMMENTS:
        if any(k in lowered for k in keywords):
            remark = _pick(options, event).format(name=name)
            return remark[0].upper() + remark[1:]
    return _pick(_EVENT_FALLBACK, event)
