"""Fragments for conversations: the drawer listing them (New chat, open, rename, delete), the note a
deleted one leaves, the list page and the Markdown export. (The bars under a message, Edit, Retry and
the "‹ 1/2 ›" switcher between attempts, are the chat's: web/chat/bars.py.)

A tab shows one conversation; the page carries its id (`Ghostwire-Conversation` on every htmx request,
a field of the chat form, the event stream's `conversation`), so two tabs can show two."""

from __future__ import annotations

import json
import re

from fasthtml.common import A, Button, Details, Div, H1, Li, Main, P, Span, Summary, Time, Title, Ul

from bus.contract import MAX_TITLE
from web.live.store import StoredConversation, StoredMessage
from web.respond import HEADER

UNTITLED = "New chat"


def title(c: StoredConversation) -> str:
    return c.title or UNTITLED


def when(stamp: str) -> Time | str:
    """Last activity, in UTC to the minute (the stored stamp is ISO 8601)."""
    return Time(stamp[:16].replace("T", " "), datetime=stamp, cls="when") if stamp else ""


def _item(c: StoredConversation, current: str) -> Li:
    here = c.id == current
    return Li(
        Button(title(c), hx_post=f"/conversations/{c.id}/open", hx_swap="none", cls="open",
               aria_current="true" if here else None, title=f"Open “{title(c)}”"),
        when(c.updated_at),
        Button("✎", hx_post=f"/conversations/{c.id}/rename", hx_prompt="New title for this conversation",
               hx_swap="none", cls="rename", aria_label=f"Rename “{title(c)}”"),
        Button("×", hx_delete=f"/conversations/{c.id}", hx_swap="none", cls="delete-chat",
               hx_confirm="Delete this conversation and its messages? The tasks stay.",
               aria_label=f"Delete “{title(c)}”"),
        cls="conversation" + (" current" if here else ""), id=f"conv-{c.id}", data_id=c.id)


def drawer(items: list[StoredConversation], current: StoredConversation, swap: str | None = None) -> Details:
    """Collapsed by default (at phone width it is one line): the current conversation's title, and the list."""
    listed = items if any(c.id == current.id for c in items) else [current, *items]
    return Details(
        Summary(Span("☰ Chats", cls="label"), Span(title(current), cls="current-title", id="current-title")),
        Div(Button("+ New chat", hx_post="/conversations", hx_swap="none", id="new-chat", cls="primary"),
            A("all as a list", href="/conversations", cls="meta"),
            A("export", href=f"/conversations/{current.id}/export.md", cls="meta", download=""),
            cls="drawer-actions"),
        Ul(*[_item(c, current.id) for c in listed], id="conversation-list"),
        id="conversations", cls="drawer", hx_swap_oob=swap)


def gone(conversation_id: str) -> Div:
    """What a tab showing a conversation sees when it is deleted (in this tab or another)."""
    return Div(P("This conversation was deleted (its tasks stay). ", A("Open the newest", href="/"),
                 " or start a ", Button("new chat", hx_post="/conversations", hx_swap="none"), "."),
               cls="msg event gone", id="chat-log", hx_swap_oob="true", data_conversation=conversation_id)


def list_page(items: list[StoredConversation]) -> tuple:
    rows = [Li(A(title(c), href=f"/?c={c.id}"), " ", when(c.updated_at)) for c in items]
    return (Title("Ghostwire · conversations"),
            Main(H1("Conversations"), Ul(*rows) if rows else P("No conversations yet."), A("← back", href="/"),
                 cls="list-page"))


def as_json(items: list[StoredConversation]) -> list[dict]:
    return [{"id": c.id, "title": title(c), "created_at": c.created_at, "updated_at": c.updated_at} for c in items]


_OUR_HEADING = re.compile(r"^(\s{0,3})(#{1,2}\s)", re.MULTILINE)  # the title's and the turns' heading levels


def _unforgeable(text: str) -> str:
    """A message's text with its own `#` / `##` lines escaped (shown as written), so no message can pass
    for a turn of the export or its title."""
    return _OUR_HEADING.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def markdown(c: StoredConversation, messages: list[StoredMessage]) -> str:
    """The conversation as Markdown: what was shown (the chosen attempts), each turn under its speaker."""
    out = [f"# {' '.join(title(c).split())}", ""]
    for m in messages:
        if m.role == "user" and m.kind == "chat":
            who = f"{m.model} (an agent)" if m.model else "You"  # a user message names a model only when an agent sent it
            out += [f"## {who} · {m.created_at[:16].replace('T', ' ')}", "", _unforgeable(m.content), ""]
        elif m.role == "assistant" and m.content:
            who = f"Ghostwire ({m.model})" if m.model else "Ghostwire"
            out += [f"## {who} · {m.created_at[:16].replace('T', ' ')}", "", _unforgeable(m.content), ""]
        elif m.kind in ("event", "agent"):
            out += [f"> {' '.join(m.content.split())}", ""]
    return "\n".join(out)


def valid_title(text: str) -> str | None:
    title_ = " ".join(text.split())
    return title_ if 0 < len(title_) <= MAX_TITLE else None


def headers_for(conversation_id: str) -> str:
    return json.dumps({HEADER: conversation_id})

