"""The bars under a chat message: under a person's, Edit; under a reply, Retry (with the same model or
another); under both, the "‹ 1/2 ›" switcher between the attempts of a retried reply or an edited message.
And the chat form's fields for the conversation and the message being edited."""

from __future__ import annotations

import json

from fasthtml.common import Button, Div, Input, Option, Select, Span

from web.live.store import Attempt


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
