"""Fragments for trusting the model: the undo controls by the list, and the changes page (the log, newest
first, and the ask-first policies). A chip's own Undo / Allow / Deny and a reply's Undo all are web/chips.py."""

from __future__ import annotations

import json

from fasthtml.common import A, Div, H1, H2, Label, Main, Option, P, Select, Span, Table, Tbody, Td, Th, \
    Thead, Time, Title, Tr

from bus.contract import MUTATING, POLICIES
from web.chips import action
from web.live.store import StoredChange

CHANGED_EVENT = "ghostwire-changed"  # the undo routes' HX-Trigger: the changes table reloads on it


def list_controls() -> Div:
    """By the list: undo / redo the person's own last change (also Ctrl+Z / Ctrl+Shift+Z), and the log."""
    return Div(action("↶ Undo", "/undo/last", "undo-last", by="person"),
               action("↷ Redo", "/redo/last", "redo-last", by="person"),
               A("changes · ask first", href="/changes", cls="changes-link"),
               cls="list-controls", id="list-controls")


def _who(c: StoredChange) -> str:
    """Who made a change, in words (the route and the reply's id are ours, not the person's)."""
    if c.actor == "model":
        return "the model"
    if c.actor == "person":
        return "you, by import" if c.route.endswith("/tasks/import") else "you"
    if c.actor == "agent":
        return f"{c.agent} (agent, through MCP)"
    return "another program"


def when(stamp: str) -> Time:
    """In UTC as sent; app.js shows it in the reader's own time zone ([data-local])."""
    return Time(stamp[11:19], datetime=stamp, title=stamp[:19].replace("T", " ") + " UTC", data_local="time")


def _change_controls(c: StoredChange) -> list:
    if c.kind != "change":
        return []
    if c.undone_by is None:
        return [action("Undo", f"/undo/change/{c.seq}", "undo")]
    return [action("Redo", f"/redo/change/{c.seq}", "redo")]


def changes_table(changes: list[StoredChange]) -> Table:
    rows = [Tr(Td(str(c.seq), cls="seq"), Td(when(c.at), cls="when"), Td(_who(c), cls="who"),
               Td(Span(f"{c.kind} ", cls="kind") if c.kind != "change" else "", Span(c.what, cls="what")),
               Td(*_change_controls(c), Span("undone", cls="meta") if c.kind == "change" and c.undone_by else "",
                  cls="undo"),
               cls=f"change {c.kind}" + (" undone" if c.undone_by else ""), data_seq=str(c.seq))
            for c in changes]
    return Table(Thead(Tr(Th("#"), Th("when"), Th("who"), Th("what"), Th("undo"))),
                 Tbody(*rows) if rows else Tbody(Tr(Td("No changes yet.", colspan="5"))),
                 id="changes-table", cls="changes", hx_get="/changes/table", hx_swap="outerHTML",
                 hx_trigger=f"{CHANGED_EVENT} from:body")


def policy_form(policies: dict[str, str]) -> Div:
    rows = [Label(action, Select(*[Option(p, value=p, selected=policies.get(action, "auto") == p) for p in POLICIES],
                                 name="policy", hx_post="/settings/ask", hx_trigger="change", hx_swap="none",
                                 hx_vals=json.dumps({"action": action}), id=f"ask-{action}"), cls="policy")
            for action in MUTATING]
    return Div(H2("Ask first"),
               P("auto: the model's command runs at once (undo is the safety net); ask: its chip waits for "
                 "Allow or Deny; off: refused, and the model is told why.", cls="meta"),
               Div(*rows, cls="policies"), id="ask-policies")


def changes_page(changes: list[StoredChange], policies: dict[str, str]) -> tuple:
    return (Title("Ghostwire · changes"),
            Main(H1("Changes", A("← back to the list", href="/", cls="changes-link")),
                 policy_form(policies),
                 Div(id="task-error", cls="error", role="alert"),
                 H2("Every change to the list, newest first"), changes_table(changes), cls="changes-page"))
