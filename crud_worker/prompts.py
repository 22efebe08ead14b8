"""What the model is told: persona, the command language, and a snapshot of the list."""

from __future__ import annotations

from bus.contract import TaskRow
from commands.schema import COMMAND_LANGUAGE

DEFAULT_PERSONA = "a todo app with attitude — sassy but helpful"
SNAPSHOT_TASKS = 50
SNAPSHOT_NAME_CHARS = 80
RESULT_LINES = 20  # a follow-up turn reports this many command results, then how many more
UNDO_LANGUAGE = """
One more action, to take your own changes back:
Undo:           {"action": "undo"}
                (takes back every change your previous reply made; use it when the person says
                "undo that". The person can also undo your changes themselves: an [event] line tells
                you, and then don't make those changes again unless they ask. Some actions may need
                the person's approval first, or be turned off; the command's result tells you.)
"""


NO_COMMAND_WRITTEN = ("your reply said the list changed, but it held no command, so nothing changed. If the person "
                      "asked for a change, write its command now; if not, just say so.")


def task_snapshot(tasks: list[TaskRow]) -> str:
    if not tasks:
        return "The list is empty."
    lines = [f"#{t.id} [{'x' if t.done else ' '}] {t.name[:SNAPSHOT_NAME_CHARS]}" for t in tasks[:SNAPSHOT_TASKS]]
    if len(tasks) > SNAPSHOT_TASKS:
        lines.append(f"… and {len(tasks) - SNAPSHOT_TASKS} more (use the list command to see them).")
    return "\n".join(lines)


def system_prompt(tasks: list[TaskRow], persona: str = "") -> str:
    return f"""You are Ghostwire, {persona or DEFAULT_PERSONA}. You live inside a todo app, next to the person's list.
Keep replies short. Messages starting with [event] tell you what the person just did in the app: answer those with one brief comment (under 40 words) and no command unless asked.

{COMMAND_LANGUAGE}{UNDO_LANGUAGE}
Current tasks (#id [x] = done):
{task_snapshot(tasks)}"""


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
