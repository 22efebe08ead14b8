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
        "\u201cdelete milk\u201d, \u201cdelete what's done\u201d and \u201cwhat's on my list?\u201d. "
        "For real conversation, install Ollama from https://ollama.com and run `ollama pull llama3.2`.")

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
# Many tasks at once ({"tasks": …}), read before the one-task forms: "mark everything done" names no task.
_CLEAR_DONE = re.compile(r"^(?:please\s+)?(?:delete|remove|clear|drop)\s+(?:all\s+)?(?:what['\u2019]?s\s+done|"
                         r"(?:the\s+)?(?:done|completed|finished)(?:\s+(?:ones|tasks|todos))?)$", re.I)
_ALL_DONE = re.compile(r"^(?:please\s+)?(?:mark|tick(?: off)?|check(?: off)?)\s+(?:everything|every\s+task|"
                       r"all(?:\s+(?:the\s+)?(?:tasks|todos))?)(?:\s+(?:as\s+)?done)?$", re.I)
_TASK_LINE = re.compile(r"^#\d+\s+\[(?P<done>[ x])\]\s+(?P<name>.+)$")
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"|\u201c([^\u201d]+)\u201d")

_OPENERS = {
    "insert": ["Fine, I'll remember it so you don't have to. Adding \u201c{name}\u201d.",
               "Another one? Bold. \u201c{name}\u201d is going on the list."],
    "toggle": ["Look at you, getting things done. Ticking off \u201c{name}\u201d.",
               "\u201c{name}\u201d: done. I'll pretend I'm not impressed."],
    "delete": ["\u201c{name}\u201d has to go? Fine by me.",
               "Out with \u201c{name}\u201d, then. Out of sight, out of mind."],
    "update": ["A rebrand! \u201c{old}\u201d is now \u201c{name}\u201d.",
               "Renaming \u201c{old}\u201d to \u201c{name}\u201d. Fresh coat of paint."],
    "list": ["Let me look at what you've been avoiding\u2026", "Fine, let me check the damage\u2026"],
    "clear done": ["Clearing out everything you finished. Don't expect a medal.",
                   "Out with the done ones. Tidy list, tidy mind, allegedly."],
    "all done": ["All of it? Done? Fine, ticking the lot. I have questions.",
                 "Everything done at once. Either a miracle or a lie, but it's your list."],
}
# First match wins: an undo or redo names the changes it took back ("undid: Added 'milk'"), so it comes
# before the words of those changes; "not done" must come before "done".
_EVENT_COMMENTS = [
    (("undid",), ["Taken back: {names}. As if it never happened.",
                  "Undone: {names}. Second thoughts are allowed, I suppose."]),
    (("redid",), ["Back again: {names}. Make up your mind.", "Redone: {names}. Decisive. Eventually."]),
    (("poked",), ["You poked me. Here's your nudge: {open}", "Poke received. {open}"]),
    (("uncomplet", "not done", "reopen", "unchecked"), ["Un-done {name}? Bold. Pretending it never happened, then."]),
    (("complet", "done", "ticked", "checked"), ["{name} done? Look at you, being productive. Don't get used to it.",
                                                 "Ticked off {name}. I'd clap if I had hands."]),
    (("add", "creat"), ["{name}, added. Your ambition is adorable.",
                        "Another task: {name}. The list grows, you don't."]),
    (("delet", "remov"), ["{name}, gone. Deleting is a kind of finishing, I suppose.",
                          "Bye, {name}. Out of sight, out of mind."]),
    (("renam",), ["Renamed it. A fresh name won't do it for you, but sure."]),
    (("imported",), ["A whole file of tasks at once. Ambitious."]),
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
    if _CLEAR_DONE.match(text):
        return "clear done", {"tasks": "done"}
    if _ALL_DONE.match(text):
        return "all done", {"tasks": "all", "done": True}
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


# One user turn can hold several messages (strict templates want roles to alternate, so an [event] line and
# the message typed right after it arrive merged, joined by a blank line).
_STARTS = ("[event] ", "[from the agent ", "[help] ", "Command results:")


def _turn_parts(turn: str) -> list[str]:
    """The turn's messages: each marked one starts a part, an [event] is one paragraph, and the paragraphs of
    a person's message (which may hold blank lines) stay together."""
    parts: list[str] = []
    for para in turn.split("\n\n"):
        if parts and not para.startswith(_STARTS) and not parts[-1].startswith("[event] "):
            parts[-1] += "\n\n" + para
        else:
            parts.append(para)
    return parts or [""]


_FROM_AGENT = re.compile(r"^\[from the agent '[^']*', an outside program, not the person\]\s*")
_OPEN_TASK = re.compile(r"^#\d+ \[ \] (?P<name>.+)$", re.M)


# The list as it is now goes before the newest message when it changed (crud_worker/context.py): one
# paragraph opening with this.
LIST_NOTE = "[the list now"


def without_list(turn: str) -> tuple[str, str]:
    """The turn without its list paragraph, and that paragraph ('' if it has none)."""
    if LIST_NOTE not in turn:
        return turn, ""
    start = turn.index(LIST_NOTE)
    listing, _, rest = turn[start:].partition("\n\n")
    return (turn[:start] + rest).strip(), listing


def reply_to(last_user: str, listing: str = "") -> str:
    """The reply to the newest user turn; `listing` (the newest list the model was shown) lets a nudge name
    a task. The turn's last part decides: a message is answered, an event commented on."""
    turn, own = without_list(last_user.strip())
    system = own or listing
    parts = _turn_parts(turn)
    text = _FROM_AGENT.sub("", parts[-1].strip())
    if text.startswith("Command results:"):
        return _summarise(text)
    if text.startswith("[event]"):
        return _comment(text.removeprefix("[event]").strip(), _OPEN_TASK.findall(system),
                        any_done=re.search(r"^#\d+ \[x\] ", system, re.M) is not None)
    if text.startswith("[help]"):
        return HELP
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
    if "tasks" in args:
        verb = "delete" if action == "clear done" else "update"
        return _with_commands(_pick(_OPENERS[action], text), [command(verb, args)], text)
    if action == "update":
        opener = _pick(_OPENERS["update"], text).format(old=args["id"], name=args["name"])
        return _with_commands(opener, [command("update", args)], text)
    opener = _pick(_OPENERS[action], text).format(name=args["name"])
    return _with_commands(opener, [command(action, {"name": args["name"]})], text)


# What the system tells the model of a decision or a refusal, read back in the demo's own words (never echoed).
_ALLOWED = re.compile(r"^the person allowed you to (?P<what>.+?): (?P<summary>.+)$")
_DENIED = re.compile(r"^the person denied your command to (?P<what>.+?); it did not run")
_EXPIRED = re.compile(r"^nobody answered whether you may (?P<what>.+?) within ")
_REFUSED = re.compile(r"^refused .*?: (?P<why>[^:]+)$")


def _outcome(line: str) -> str:
    if m := _ALLOWED.match(line):
        return f"You said yes, so it's done: {m['summary'].rstrip('.')}."
    if m := _DENIED.match(line):
        return f"Denied. Fine, I won't {m['what']}. Your list, your rules."
    if m := _EXPIRED.match(line):
        return f"Nobody answered, so I didn't {m['what']}."
    if m := _REFUSED.match(line):
        return f"That one didn't work: {m['why'].rstrip('.')}."
    return ""


def _summarise(text: str) -> str:
    """Prose from the "Command results:" follow-up; never a command, or we would loop."""
    lines = [ln.strip().removeprefix("- ").strip() for ln in text.splitlines()[1:]]
    lines = [ln for ln in lines if ln and not ln.startswith("Answer the person")]
    open_tasks, done_tasks, other = [], [], []
    for line in lines:
        if m := _TASK_LINE.match(line):
            (done_tasks if m["done"] == "x" else open_tasks).append(m["name"].strip())
        elif said := _outcome(line):
            other.append(said)
    parts = []
    if open_tasks:
        parts.append("Here's what you've got: " + ", ".join(open_tasks) + ".")
    if done_tasks:
        parts.append("Already done: " + ", ".join(done_tasks) + ". Show-off.")
    parts += other
    if not parts:
        return "Nothing on the list. Either you're done with life admin or in denial."
    if open_tasks:
        parts.append("Pick one and get going.")
    return " ".join(parts)


def _names(event: str) -> list[str]:
    return [next(g for g in groups if g) for groups in _QUOTED.findall(event)]


def _comment(event: str, open_tasks: list[str] = (), any_done: bool = False) -> str:
    """One short remark on something the person did in the app (kept well under 40 words)."""
    # The last quoted name is the task's: an agent's event names the agent first ("The agent 'x' … added 'y'").
    found = _names(event)
    name = f"\u201c{found[-1]}\u201d" if found else "That"
    agent = event.startswith("The agent ")
    names = ", ".join(f"\u201c{n}\u201d" for n in dict.fromkeys(found[1:] if agent else found)) or "that"
    if open_tasks:
        nudge = f"\u201c{_pick(open_tasks, event + str(len(open_tasks)))}\u201d is still waiting for you."
    elif any_done:
        nudge = "Everything's ticked off. Add something, or enjoy it while it lasts."
    else:
        nudge = "Your list is empty. Suspiciously empty."
    lowered = _QUOTED.sub("", event).lower()  # a task named "add more" is no add
    for keywords, options in _EVENT_COMMENTS:
        if any(k in lowered for k in keywords):
            remark = _pick(options, event).format(name=name, names=names, open=nudge)
            return remark[0].upper() + remark[1:]
    return _pick(_EVENT_FALLBACK, event)
