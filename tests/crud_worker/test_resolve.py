"""A task named by the model: exact and case-insensitive, with any quote standing for any quote (a small
model writes 'Dune' for "Dune"); two tasks that match are refused, never guessed."""

import pytest

from crud_worker import db as store, tasks
from crud_worker.changelog import Actor


def test_quotes_of_any_kind_match_and_an_ambiguous_name_is_refused(tmp_path):
    db = store.connect(tmp_path / "g.db")
    with store.write(db):
        for name in ('read "Dune"', "Bob\u2019s gift", 'a "b"', "a 'b'"):
            tasks.add(db, name, by=Actor(kind="person"))
    assert tasks.resolve(db, "READ 'Dune'").name == 'read "Dune"'
    assert tasks.resolve(db, "bob's gift").name == "Bob\u2019s gift"
    assert tasks.resolve(db, "a 'b'").name == "a 'b'", "an exact match wins"
    with pytest.raises(tasks.TaskError, match="matches tasks #3, #4; use the id"):
        tasks.resolve(db, "a \u201cb\u201d")
    with pytest.raises(tasks.TaskError, match="there is no task named"):
        tasks.resolve(db, "read Dune")
