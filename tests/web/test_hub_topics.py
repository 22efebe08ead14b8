"""The web hears exactly what its hub handles: the subscriptions are made from HEARD, and HEARD is held
here to the cases of Hub.handle, so a message handled is a message heard."""

from __future__ import annotations

import ast
import inspect
import textwrap

from bus import contract as c
from web import hub


def handled() -> set[str]:
    """The message types named by Hub.handle's `case c.X(...)` patterns (or-patterns too)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(hub.Hub.handle)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.MatchClass) and isinstance(node.cls, ast.Attribute):
            names.add(node.cls.attr)
    return names


def test_heard_is_what_handle_handles():
    assert {kind.__name__ for kind in hub.HEARD} == handled()


def test_every_broadcast_reaches_the_web_and_its_own_requests_do_not():
    assert {"task.changed", "reply.stats", "conversation.changed", "crud.reply", "health."} <= set(hub.TOPICS)
    assert not {"crud.request", "crud.undo", "llm.cancel", "llm.resend"} & set(hub.TOPICS)
    assert all(t == "health." or t in c.TOPICS for t in hub.TOPICS)
