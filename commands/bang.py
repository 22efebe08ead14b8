"""Chat commands: a person's message that starts with `!` and is meant for Ghostwire, not as chat.

One parser for both the web (which answers !models, !model, !pull, !new and !test itself) and the
crud_worker (which re-teaches the model on !help)."""

from __future__ import annotations

import msgspec


class Help(msgspec.Struct, frozen=True):
    """!help: show the help card and re-teach the model the command language."""


class SelfTest(msgspec.Struct, frozen=True):
    """!test: an alert down the whole pipeline and back."""


class Models(msgspec.Struct, frozen=True):
    """!models: list the models."""


class UseModel(msgspec.Struct, frozen=True):
    """!model NAME: switch model ("" if no name was given)."""

    name: str


class Pull(msgspec.Struct, frozen=True):
    """!pull NAME: download a model ("" if no name was given)."""

    name: str


class NewChat(msgspec.Struct, frozen=True):
    """!new: start a new conversation in this tab (the task list stays; the model starts afresh)."""


ChatCommand = Help | SelfTest | Models | UseModel | Pull | NewChat


def parse(text: str) -> ChatCommand | None:
    """The chat command a message is, or None for ordinary chat (unknown `!words` included)."""
    word, _, arg = text.strip().partition(" ")
    word, arg = word.lower(), arg.strip()
    match word:
        case "!help" if not arg:
            return Help()
        case "!test":
            return SelfTest()
        case "!models":
            return Models()
        case "!model":
            return UseModel(arg)
        case "!pull":
            return Pull(arg)
        case "!new" if not arg:
            return NewChat()
    return None
