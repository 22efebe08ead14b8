"""One refusal path: whatever the crud_worker can't do for a request is a `Refusal`, and `answer` is
the one function that tells the asker so, on `crud.reply` with its code.

The code says why, for the web to turn into a status (web/respond.py holds that table): "unknown"
(no such task, conversation, message, change or command), "conflict" (the state forbids it: a reply
still streaming, an older turn, an undo that would overwrite a later change), "invalid" (the request
itself: an empty name, a title too long) and "unsaved" (the disk refused the write; crud_worker/
unsaved.py words it). Task errors, undo refusals and the attempts' refusals are kinds of it.
"""

from __future__ import annotations

import logging
import sqlite3

from bus import contract as c
from bus.client import Bus
from crud_worker import unsaved

log = logging.getLogger(__name__)


class Refusal(Exception):
    """Why a request was not done; str() is the reason, for a person (or the model) to read."""

    code: c.RefusalCode = "invalid"

    def __init__(self, message: str, code: c.RefusalCode | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class Unknown(Refusal):
    """No such conversation, message, task, change or command (404)."""

    code = "unknown"


class Conflict(Refusal):
    """The state forbids it (409): a reply of this turn still streaming, an older turn, a conflict."""

    code = "conflict"


def of(err: Refusal | sqlite3.Error) -> Refusal:
    """A refusal as it is answered: a write the disk refused is one ("unsaved"); any other database
    error is a bug, re-raised."""
    if isinstance(err, Refusal):
        return err
    why = unsaved.reason(err)
    if why is None:
        raise err
    return Refusal(why, "unsaved")


async def answer(bus: Bus, req_id: str, err: Refusal | sqlite3.Error, reply_id: str = "") -> None:
    """Answer request `req_id` with the refusal. `reply_id`: the reply every tab opened for it as the
    request crossed the bus, ended with the reason, since it will never come."""
    refusal = of(err)
    if refusal.code == "unsaved":
        log.error("request %s not saved: %s", req_id, err)
    await bus.publish(c.CrudReply(req_id=req_id, ok=False, code=refusal.code, error=str(refusal)))
    if reply_id:
        await bus.publish(c.LlmError(msg_id=reply_id, seq=0, error=str(refusal), kind="crud"))
