"""The crud_worker hears exactly what it handles: its subscriptions are made from its dispatch table."""

from __future__ import annotations

import inspect

from bus import contract as c
from bus.contract import requests
from crud_worker import __main__ as crud


def test_every_request_of_the_web_has_a_handler_and_a_subscription():
    asked = {cls for _, cls in inspect.getmembers(requests, inspect.isclass)
             if issubclass(cls, c.Msg) and cls.__module__ == requests.__name__ and cls is not c.CrudReply}
    assert asked <= set(crud.DISPATCH), asked - set(crud.DISPATCH)
    assert {c.TOPIC_OF[cls] for cls in asked} <= set(crud.TOPICS)


def test_it_subscribes_to_nothing_it_does_not_handle():
    handled = {"health.llm_worker" if cls is c.Health else c.TOPIC_OF[cls] for cls in crud.DISPATCH}
    assert set(crud.TOPICS) == handled
    assert "llm.cancel" not in crud.TOPICS, "a prefix like 'llm.' would subscribe to what the web sends the workers"
