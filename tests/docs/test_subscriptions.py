"""Each process hears what it handles and no more: its bus subscriptions are made from what its
dispatch names (the crud_worker's DISPATCH table; the web hub's and the llm_worker's HEARD, held here
to the `case c.X()` patterns of the function that takes the messages)."""

from __future__ import annotations

import ast
import inspect
import textwrap

from bus import contract as c
from bus.contract import requests
from crud_worker import __main__ as crud
from llm_worker import worker
from web.live import hub


def cases(function) -> set[str]:
    """The message types named by a function's `case c.X(...)` patterns (or-patterns too)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {node.cls.attr for node in ast.walk(tree)
            if isinstance(node, ast.MatchClass) and isinstance(node.cls, ast.Attribute)}


def test_the_web_hears_what_its_hub_handles():
    assert {kind.__name__ for kind in hub.HEARD} == cases(hub.Hub.handle)
    assert {"task.changed", "reply.stats", "conversation.changed", "crud.reply", "health."} <= set(hub.TOPICS)
    assert not {"crud.request", "crud.undo", "llm.cancel", "llm.resend"} & set(hub.TOPICS), "its own requests"


def test_the_llm_worker_hears_what_it_watches_for():
    assert {kind.__name__ for kind in worker.HEARD} == cases(worker.Worker.watch_cancels)
    assert set(worker.TOPICS) == {"llm.cancel", "llm.resend"}


def test_the_crud_worker_handles_every_request_of_the_web_and_hears_nothing_else():
    asked = {cls for _, cls in inspect.getmembers(requests, inspect.isclass)
             if issubclass(cls, c.Msg) and cls.__module__ == requests.__name__ and cls is not c.CrudReply}
    assert asked <= set(crud.DISPATCH), asked - set(crud.DISPATCH)
    handled = {"health.llm_worker" if cls is c.Health else c.TOPIC_OF[cls] for cls in crud.DISPATCH}
    assert set(crud.TOPICS) == handled
    assert not {"llm.cancel", "llm.resend"} & set(crud.TOPICS), "what the web sends the workers"
