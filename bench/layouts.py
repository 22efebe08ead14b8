"""The prompt laid out as before issue #23, for the accuracy bench's comparison in one run: the list as it
is now at the end of the system prompt in every request, never beside a message. The app sends the new
layout (crud_worker/context.py); bench/recorder.py applies this to each request on its way to the engine."""

from __future__ import annotations

import copy

from crud_worker import prompts

NOTE = prompts.list_note([]).split("\n", 1)[0]  # "[the list now (#id [x] = done)]": how a list note begins
WHERE_NOW = "The list as it is now comes before a message whenever it has changed since you last saw it."
WHERE_THEN = "The list as it is now is at the end of this prompt."


def list_in_system(body: dict) -> dict:
    """The request with every list note taken out of its messages and the newest at the end of its system prompt."""
    body = copy.deepcopy(body)
    newest = ""
    for m in body["messages"]:
        if m["role"] == "user" and m["content"].startswith(NOTE):
            note, _, rest = m["content"].partition("\n\n")
            newest, m["content"] = note, rest
    system = body["messages"][0]
    assert system["role"] == "system" and WHERE_NOW in system["content"], "the system prompt is not the app's"
    system["content"] = system["content"].replace(WHERE_NOW, WHERE_THEN) + ("\n\n" + newest if newest else "")
    return body
