"""Fragments for conversations: the drawer listing them (New chat, open, rename, delete), the bar under
a person's message and a reply (Edit, Retry, and the "‹ 1/2 ›" switcher between attempts), the list page
and the Markdown export.

A tab shows one conversation; the page carries its id (`Ghostwire-Conversation` on every htmx request,
a field of the chat form, the event stream's `conversation`), so two tabs can show two."""

from __future__ import annotations

import json
import re

from fasthtml.common import (A, Button, Details, Div, H1, Input, Li, Main, Option, P, Select, Span, Summary, Time,
                             Title, Ul)

from bus.contract import MAX_TITLE
from web.store import Attempt, StoredConversation, StoredMessage

HEADER = "Ghostwire-Conversation"  # the tab's conversation, on every htmx request it makes
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


def switcher(conversation_id: str, a: Attempt | None) -> Span | str:
    """‹ n/m ›: flip between the attempts of a retried reply or an edited message."""
    if a is None or a.of < 2:
        return ""
    def go(label: str, k: int, name: str):
        if not 0 <= k < a.of:
            return Button(label, type="button", disabled=True, cls="flip", aria_label=name)
        return Button(label, type="button", hx_post=f"/conversations/{conversation_id}/attempts/{a.ids[k]}",
                      hx_swap="none", cls="flip", aria_label=name)
    return Span(go("‹", a.n - 2, "Previous attempt"), Span(f"{a.n}/{a.of}", cls="count"),
                go("›", a.n, "Next attempt"), cls="switcher", id=f"switch-{a.id}")


def user_bar(conversation_id: str, msg_id: str, a: Attempt | None) -> Div:
    """Under a person's chat message: the attempts switcher and Edit (shown on the newest only, by CSS;
    conversation.js takes the text from the bubble, so it never sits in an attribute)."""
    return Div(switcher(conversation_id, a),
               Button("✎ Edit", type="button", cls="edit", data_edit=msg_id,
                      aria_label="Edit this message and send it again"),
               cls="attempt-bar user", id=f"bar-{msg_id}")


def reply_bar(conversation_id: str, reply_id: str, a: Attempt | None, models: tuple[str, ...]) -> Div:
    """Under a reply: the attempts switcher and Retry (the newest reply only, once it ended: by CSS),
    with the same model or another one."""
    pick = Select(Option("same model", value=""), *[Option(m, value=m) for m in models], name="model",
                  aria_label="Retry with model", id=f"model-for-{reply_id}") if len(models) > 1 else ""
    retry = Button("↻ Retry", type="button", aria_label="Retry this reply", cls="retry-button",
                   hx_post=f"/conversations/{conversation_id}/retry", hx_vals=json.dumps({"target": reply_id}),
                   hx_include=f"#model-for-{reply_id}" if pick else None, hx_target="#toasts", hx_swap="beforeend")
    return Div(switcher(conversation_id, a), Span(pick, retry, cls="retry"), cls="attempt-bar reply",
               id=f"bar-{reply_id}")


def form_fields(conversation_id: str) -> tuple:
    """The chat form's hidden fields: its conversation, and the message being edited (set by conversation.js)."""
    return (Input(type="hidden", name="conversation_id", value=conversation_id, id="conversation-id"),
            Input(type="hidden", name="edit_of", value="", id="edit-of"),
            Div(Span("Editing your message: sending replaces it (the earlier one is kept). "),
                Button("Cancel", type="button", id="cancel-edit"), id="editing", hidden=True))


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

