"""A full disk or a read-only database makes a write fail. Say so in words the person can act on,
keep running, and carry on by itself once writes work again: each write is its own transaction, so
nothing needs resetting, and what was stored before is untouched (SQLite rolls the failed one back)."""

from __future__ import annotations

import sqlite3

FULL = "the disk is full — nothing was saved. Free some space; Ghostwire carries on by itself once there is room"
READ_ONLY = ("the database is read-only — nothing was saved. Make its disk writable again; Ghostwire carries on "
             "by itself then")
IO_ERROR = "the disk refused the write (full or failing) — nothing was saved. Ghostwire retries with the next change"
REASONS = {sqlite3.SQLITE_FULL: FULL, sqlite3.SQLITE_READONLY: READ_ONLY, sqlite3.SQLITE_IOERR: IO_ERROR}


def reason(err: BaseException) -> str | None:
    """The person-facing reason if `err` — or the error it interrupted (a failed write's ROLLBACK can
    raise "no transaction is active" over the real cause) — is a storage failure; None otherwise."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, sqlite3.Error):
            code = (getattr(seen, "sqlite_errorcode", 0) or 0) & 0xFF  # the primary code of an extended one
            if code in REASONS:
                return REASONS[code]
        seen = seen.__context__
    return None
