"""The page around the features: the header (the status line, the phone's toggles, Sign out), the two
panels (the list, the chat), the tabs between them at phone widths, the event stream and the toasts."""

from __future__ import annotations

from fasthtml.common import H1, H2, Button, Div, Form, Header, Main, Section, Span

from bus.contract import TaskRow
from web.chat.views import chat_form, chat_log
from web.live.health import Status
from web.page.status import status_line
from web.tasks.views import add_form, task_list, transfer_controls
from web.trust.views import list_controls


def view_tabs() -> Div:
    """At phone widths the chat and the list each get the whole screen, one tap apart (app.css, app.js); a dot on
    a tab says the other view changed meanwhile. Hidden on wider screens, where both are side by side."""
    def tab(view: str, label: str, selected: bool) -> Button:
        return Button(label, Span(cls="badge", aria_label="changed"), type="button", role="tab", id=f"view-{view}",
                      data_view=view, aria_selected="true" if selected else "false", aria_controls=f"panel-{view}")
    return Div(tab("chat", "Chat", True), tab("list", "List", False), id="views", role="tablist",
               aria_label="Show the chat or the list")


def header(status: Status, sign_out: bool) -> Header:
    # the ghost drawn by app.css (the favicon's SVG), not an emoji: a system without an emoji font showed a box
    return Header(H1("Ghostwire", Span(cls="ghost", aria_hidden="true")),
                  status_line(status),
                  Button("⋯", id="status-toggle", type="button", aria_expanded="false", aria_controls="status",
                         aria_label="Show the whole status"),  # only at phone widths, where the status is one line
                  Button("glow", id="glow-toggle", type="button", title="The original's green terminal glow",
                         aria_pressed="false", aria_label="Green glow for the model's text"),
                  Form(Button("Sign out", type="submit"), method="post", action="/logout", id="sign-out")
                  if sign_out else "")


def page(*, cursor: str, status: Status, tasks: list[TaskRow], chat: list, sign_out: bool = False,
         conversation: tuple = (), chat_top=(), stream: str = "", main_attrs: dict | None = None) -> tuple:
    """`chat_top`, `conversation` (the chat form's hidden fields), `stream` (the event stream's query)
    and `main_attrs` come from web/page/routes.py's `page_parts`."""
    return (
        header(status, sign_out),
        view_tabs(),
        Main(
            Section(H2("Tasks"), add_form(),
                    Div(id="task-error", cls="error", role="alert"),
                    list_controls(), transfer_controls(),
                    Div(task_list(tasks), id="task-order"),  # no form: each control posts its own fields
                    cls="panel todo", id="panel-list"),
            Section(chat_top, chat_log(chat),
                    Div(id="chat-error", cls="error", role="alert"),
                    chat_form(*conversation), cls="panel chat", id="panel-chat"),
            **(main_attrs or {}),
        ),
        Div(id="bus", hx_ext="sse", sse_connect=f"/events?after={cursor}{stream}", sse_swap="message",
            hx_swap="none"),
        Div(id="toasts", cls="toasts", aria_live="assertive"),
    )
