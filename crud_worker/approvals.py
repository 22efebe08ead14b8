"""Ask first: each action's policy (auto | ask | off), and the commands waiting for Allow / Deny.

The policy comes from GHOSTWIRE_ASK ("delete,update" asks for those; "delete=off,toggle=ask" names
each), overlaid with what the person chose on the page (remembered in the settings table). A
command under `ask` is stored as pending (the `approvals` table), so it survives any restart;
deciding it and running it happen in one transaction, so it runs at most once, and a decision
can be made only while it is pending (the first answer from any tab wins).
"""

from __future__ import annotations

import json
import time

import msgspec
from sqlite_utils import Database

from bus import tables
from bus.contract import MUTATING, POLICIES
from commands.spec import Command, Delete, Each, Insert, Toggle, Update
from crud_worker import db as store

CHOSEN_SETTING = tables.ASK_CHOSEN  # the person's choices from the page: {"delete": "ask"}
EFFECTIVE_SETTING = tables.ASK  # what applies now, for the web to show: every action → its policy
_TYPES: dict[str, type] = {"insert": Insert, "update": Update, "toggle": Toggle, "delete": Delete}


class Pending(msgspec.Struct, kw_only=True):
    command_id: str
    msg_id: str
    action: str
    command: Command
    what: str
    expires_at: float
    decision: str | None


def parse(text: str) -> dict[str, str]:
    """GHOSTWIRE_ASK: "delete,update" → those ask; "delete=off" names the policy. Unknown words stop the start."""
    out: dict[str, str] = {}
    for item in filter(None, (p.strip().lower() for p in text.split(","))):
        action, _, policy = item.partition("=")
        action, policy = action.strip(), (policy.strip() or "ask")
        if action not in MUTATING or policy not in POLICIES:
            raise SystemExit(f"GHOSTWIRE_ASK: {item!r} is not an action ({', '.join(MUTATING)}) with an optional "
                             f"={'|'.join(POLICIES)}")
        out[action] = policy
    return out


def effective(db: Database, configured: str) -> dict[str, str]:
    chosen = json.loads(store.get_setting(db, CHOSEN_SETTING, "{}"))
    base = {a: "auto" for a in MUTATING} | parse(configured)
    return base | {a: p for a, p in chosen.items() if a in MUTATING and p in POLICIES}


def publish_effective(db: Database, configured: str) -> str:
    """Write the policies in force where the web reads them; returns them as JSON."""
    value = json.dumps(effective(db, configured), sort_keys=True)
    store.set_setting(db, EFFECTIVE_SETTING, value)
    return value


def choose(db: Database, configured: str, action: str, policy: str) -> str:
    chosen = json.loads(store.get_setting(db, CHOSEN_SETTING, "{}"))
    chosen[action] = policy
    store.set_setting(db, CHOSEN_SETTING, json.dumps(chosen, sort_keys=True))
    return publish_effective(db, configured)


def policy_for(db: Database, action: str) -> str:
    return json.loads(store.get_setting(db, EFFECTIVE_SETTING, "{}")).get(action, "auto")


def add(db: Database, *, command_id: str, msg_id: str, action: str, command: Command, what: str,
        timeout: float) -> None:
    db.execute("INSERT INTO approvals (command_id, msg_id, action, args, what, created_at, expires_at)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)",
               [command_id, msg_id, action, json.dumps(msgspec.to_builtins(command)), what, store.now(),
                time.time() + timeout])


def _command(action: str, args: dict) -> Command:
    """A stored command again: an Each is stored under the action it repeats, and only it has "tasks"."""
    return msgspec.convert(args, Each if "tasks" in args else _TYPES[action])


def _pending(r) -> Pending:
    command_id, msg_id, action, args, what, expires_at, decision = r
    return Pending(command_id=command_id, msg_id=msg_id, action=action,
                   command=_command(action, json.loads(args)), what=what, expires_at=expires_at,
                   decision=decision)


_COLS = "command_id, msg_id, action, args, what, expires_at, decision"


def get(db: Database, command_id: str) -> Pending | None:
    r = db.execute(f"SELECT {_COLS} FROM approvals WHERE command_id = ?", [command_id]).fetchone()
    return _pending(r) if r else None


def due(db: Database, now: float) -> list[Pending]:
    return [_pending(r) for r in db.execute(
        f"SELECT {_COLS} FROM approvals WHERE decision IS NULL AND expires_at <= ? ORDER BY expires_at", [now])]


def waiting_in(db: Database, msg_id: str) -> int:
    return db.execute("SELECT count(*) FROM approvals WHERE msg_id = ? AND decision IS NULL", [msg_id]).fetchone()[0]


def settle(db: Database, command_id: str, decision: str, outcome: str) -> None:
    """Record the decision, and `outcome`, the line the model is told of it."""
    db.execute("UPDATE approvals SET decision = ?, decided_at = ?, outcome = ? WHERE command_id = ?",
               [decision, store.now(), outcome, command_id])


def untold(db: Database, msg_id: str) -> list[str]:
    """Once none of a reply's commands waits any more: the decisions the model hasn't been told, marked told."""
    if waiting_in(db, msg_id):
        return []
    rows = db.execute("SELECT command_id, outcome FROM approvals WHERE msg_id = ? AND decision IS NOT NULL"
                      " AND told = 0 ORDER BY created_at", [msg_id]).fetchall()
    db.execute("UPDATE approvals SET told = 1 WHERE msg_id = ? AND decision IS NOT NULL", [msg_id])
    return [r[1] for r in rows]
