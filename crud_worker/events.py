"""An event line, in two texts: what the person sees in the chat ("You added 'milk'") and what the model is
told ("The user added task 'milk'", with any instruction for it). Both are stored with the event; the page,
the export and MCP read the person's, the model's history the model's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    told: str  # the model's text (crud_worker/prompts.py prefixes it with [event])
    shown: str  # the person's


def added(name: str) -> Event:
    return Event(f"The user added task '{name}'", f"You added '{name}'")


def toggled(name: str, done: bool) -> Event:
    verb = "completed" if done else "reopened"
    return Event(f"The user {verb} task '{name}'", f"You {'ticked off' if done else 'reopened'} '{name}'")


def renamed(old: str, new: str) -> Event:
    return Event(f"The user renamed task '{old}' to '{new}'", f"You renamed '{old}' to '{new}'")


def deleted(name: str) -> Event:
    return Event(f"The user deleted task '{name}'", f"You deleted '{name}'")


def moved(name: str) -> Event:
    return Event(f"The user moved task '{name}'", f"You moved '{name}'")


def reordered() -> Event:
    return Event("The user reordered the list", "You reordered the list")


def poked() -> Event:
    return Event("The user poked you: give them a short nudge about their list.", "You poked the ghost")


def imported(n: int) -> Event:
    return Event(f"The user imported {n} tasks from a file", f"You imported {n} task{'s' if n != 1 else ''}")


def undid(words: str, *, redo: bool, agent: str = "", by_model: bool = False) -> Event:
    """An undo or redo of `words` (the changes, described); `by_model`: some were the model's own, which it
    is asked not to make again."""
    verb = "redid" if redo else "undid"
    told = f"{f'The agent {agent!r} (through MCP)' if agent else 'The user'} {verb}: {words}"
    if by_model and not redo:
        told += ". Don't make these changes again unless they ask."
    who = f"The agent '{agent}'" if agent else "You"
    return Event(told, f"{who} {'redid' if redo else 'undid'}: {words}")
