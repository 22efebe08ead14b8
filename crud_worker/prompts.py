"""What the model is told: persona, the command language with exact examples, and the list.

Written for a small local model (Qwen2.5-Coder 0.5B / 1.5B measured, bench/real_model.py): exact
commands to copy, commands before words (so the words can follow the facts), tasks named as listed,
few rules and none that only make sense to us. `system_prompt` never changes within a conversation
(so a server's prompt cache keeps it); `list_note` is the list as it is, placed by crud_worker/context.py.
"""

from __future__ import annotations

from bus.contract import TaskRow
from commands.spec import COMMAND_LANGUAGE

DEFAULT_PERSONA = "a todo app with attitude — sassy but helpful"
SNAPSHOT_TASKS = 50
SNAPSHOT_NAME_CHARS = 80
RESULT_LINES = 20  # a follow-up turn reports this many command results, then how many more
UNDO_LANGUAGE = """\
Undo:           {"action": "undo"}
                (takes back every change your previous reply made, when the person says "undo that")
"""
RULES = """\
- Change the list only when the person asks. A question or small talk gets words, no command.
- A task already on the list is never added again: to tick, untick or rename it, use update.
- Say you changed something only if you wrote its command.
- A message starting with [event] tells what the person did themselves: one short remark, no command.
- Keep replies short, and answer in the person's language."""
# One exact reply on an example list no real one is (names the bench never uses), commands first. No
# "Person: / You:" turns: a small model given a dialogue goes on writing one, commands and all.
EXAMPLES = """\
Example. With the list
#21 [ ] water the ferns
#22 [x] call the plumber
#23 [ ] print the "Q3" report
#24 [x] post the parcel
the message "the ferns are watered, rename the "Q3" report to the "Q4" report, delete the plumber and the
parcel, and add eggs" gets:
{"action": "update", "args": {"task": "water the ferns", "done": true}}
{"action": "update", "args": {"task": "print the \\"Q3\\" report", "name": "print the \\"Q4\\" report"}}
{"action": "delete", "args": {"task": "call the plumber"}}
{"action": "delete", "args": {"task": "post the parcel"}}
{"action": "insert", "args": {"name": "eggs"}}
Ferns done, Q4 it is, plumber and parcel gone, eggs on. Busy day.
A question like "what's left?" gets only words, such as: Water the ferns and print the Q4 report.
Small talk like "hi!" or "thanks, bye" gets only words too, such as: Anytime. The ferns can wait."""
NO_COMMAND_WRITTEN = ("your reply said the list changed, but it held no command, so nothing changed. If the person "
                      "asked for a change, write its command now; if not, just say so.")


def task_snapshot(tasks: list[TaskRow]) -> str:
    if not tasks:
        return "The list is empty."
    lines = [f"#{t.id} [{'x' if t.done else ' '}] {t.name[:SNAPSHOT_NAME_CHARS]}" for t in tasks[:SNAPSHOT_TASKS]]
    if len(tasks) > SNAPSHOT_TASKS:
        lines.append(f'… and {len(tasks) - SNAPSHOT_TASKS} more: {{"action": "list"}} shows them all.')
    return "\n".join(lines)


def system_prompt(persona: str = "") -> str:
    """The stable part of every prompt (the same every turn, so a server's prompt cache keeps it): who the
    model is, the commands, the rules, the example. The list is not in it, but beside the newest message
    (`list_note`, placed by crud_worker/context.py)."""
    return f"""You are Ghostwire, {persona or DEFAULT_PERSONA}. You sit next to the person's todo list.
The list as it is now comes before a message whenever it has changed since you last saw it.

{COMMAND_LANGUAGE}{UNDO_LANGUAGE}
{RULES}

{EXAMPLES}"""


def list_note(tasks: list[TaskRow]) -> str:
    """The list as it is now, sent with the newest message when it differs from the last one sent: [x] for
    done, each task's id first (the model names tasks; an id settles a name two tasks share)."""
    return f"[the list now (#id [x] = done)]\n{task_snapshot(tasks)}"


def help_request() -> str:
    return ("[help] The person typed !help. Here is the command language again; follow it exactly from now on.\n\n"
            f"{COMMAND_LANGUAGE}{UNDO_LANGUAGE}\nIn two or three sentences, tell the person what you can do for their list.")


def event_line(text: str) -> str:
    return f"[event] {text}"


def from_agent(name: str, text: str) -> str:
    """A chat message an outside agent sent (MCP send_message): the model knows who is speaking."""
    return f"[from the agent '{name}', an outside program, not the person] {text}"


def results_message(lines: list[str]) -> str:
    shown = lines[:RESULT_LINES]
    more = f"\n- … and {len(lines) - len(shown)} more like these" if len(lines) > len(shown) else ""
    return "Command results:\n" + "\n".join(f"- {line}" for line in shown) + more + \
        "\nAnswer the person using these results. Correct any refused command if you can."
