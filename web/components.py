"""Every fragment the browser sees, rendered from one place: the full page, the POST
responses and the SSE swaps all call these, so they can never disagree."""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace


from fasthtml.common import (A, Article, Button, Details, Div, Form, H1, H2, Header, Input, Label, Li, Main, NotStr,
                             P, Section, Span, Summary, Textarea, Ul, to_xml)

from bus.contract import MAX_NAME, ReplyStats, TaskRow, shown_model
from commands.ids import command_id as command_id_of, commands_of
from commands.splitter import Block
from web import render, reply_meta, trust_ui
from web.status_ui import Status, status_line
from web.store import ChipResult

@dataclass(frozen=True)
class ShownText:
    """Prose of a streaming reply, as appended to its bubble."""

    text: str


@dataclass(frozen=True)
class ShownChip:
    """A command's chip in a streaming reply."""

    command_id: str


@dataclass
class ReplyView:
    """An assistant reply as the page shows it, while streaming or once ended."""

    id: str
    kind: str = "chat"
    status: str = "queued"  # queued | streaming | done | cancelled | failed
    text: str = ""  # the model's full raw text once ended
    pieces: list[ShownText | ShownChip] = field(default_factory=list)  # while streaming
    thinking: str = ""
    error: str = ""
    model: str = ""
    stop_reason: str = ""  # llm.done's: "length" or "too_long" get a note under the reply
    stats: ReplyStats | None = None  # reply.stats: the quiet line of figures under an ended reply


def chip_id(command_id: str) -> str:
    return "chip-" + command_id.replace(":", "-")


def to_html(elt) -> str:
    """An element as sent. Builders take `swap`, the element's `hx-swap-oob` when it travels over SSE
    (None, the default, leaves it out: an element of the page itself)."""
    return to_xml(elt, indent=False)


def append(target_id: str, text: str) -> str:
    """Escaped text appended to an element over SSE (the hot path: one per delta, so a plain f-string)."""
    return f'<span hx-swap-oob="beforeend:#{target_id}">{html.escape(text)}</span>'


def chip(command_id: str, result: ChipResult | None, times: int = 1, swap: str | None = None) -> Span:
    if result is None:
        return Span("⏳ applying…", cls="chip pending", id=chip_id(command_id), hx_swap_oob=swap)
    return Span(trust_ui.chip_text(result, times), *trust_ui.chip_controls(command_id, result),
                cls=trust_ui.chip_class(result), id=chip_id(command_id), hx_swap_oob=swap)


def user_bubble(msg_id: str, text: str, agent: str = "") -> Article:
    """A chat message: the person's, or an outside agent's (MCP send_message), which says whose."""
    by = Div(f"— by {agent}", cls="meta by") if agent else ""
    return Article(Div(text, cls="text"), by, cls="msg user" + (" agent" if agent else ""), id=f"msg-{msg_id}")


def note(msg_id: str, kind: str, text: str, results: dict[str, ChipResult] | None = None) -> Div | str:
    if kind == "event":
        return Div(Span("•", cls="dot"), text, cls="msg event", id=f"msg-{msg_id}")
    if kind == "agent":  # an outside agent's change (crud_worker/agents.py): its chip, "✓ Added 'x' — by NAME"
        command_id = command_id_of(msg_id, 0)
        return Div(Span("•", cls="dot"), chip(command_id, (results or {}).get(command_id)),
                   trust_ui.undo_all(msg_id, {}), cls="msg event agent", id=f"msg-{msg_id}")
    return ""


def model_label(msg_id: str, model: str, swap: str | None = None) -> Span:
    return Span(shown_model(model or ""), cls="meta model", id=f"model-{msg_id}", hx_swap_oob=swap)


def toast_body(text: str) -> Div:
    return Div(text, cls="toast", role="alert")


def toast(text: str) -> Div:
    return Div(toast_body(text), hx_swap_oob="beforeend:#toasts")


def stop_button(msg_id: str) -> Button:
    return Button("Stop", hx_post=f"/stop/{msg_id}", hx_swap="none", cls="stop", id=f"stop-{msg_id}",
                  title="Stop this reply")


def thinking_box(r: ReplyView, swap: str | None = None) -> Details:
    """The model's reasoning, collapsed: never part of the reply text or the command splitter."""
    return Details(Summary("thinking…"), Div(r.thinking, cls="thinking-text", id=f"think-{r.id}"),
                   cls="thinking" + ("" if r.thinking else " empty"), id=f"thinkbox-{r.id}", hx_swap_oob=swap)


def reply_bubble(r: ReplyView, results: dict[str, ChipResult], swap: str | None = None,
                 rendered: render.Rendered | None = None) -> Article:
    """A reply's bubble: while streaming, its pieces; once ended, `rendered` (web/renderer.py makes it off
    the event loop; without it the reply shows as plain text) with its chips."""
    live = r.status in ("queued", "streaming")
    if not live and not r.thinking:  # a stored reply: its <think> sections, if the model wrote any
        r = replace(r, thinking=render.thinking_of(r.text))
    thinking = thinking_box(r)
    if live:
        body = Div(*[Span(p.text) if isinstance(p, ShownText) else chip(p.command_id, results.get(p.command_id))
                     for p in r.pieces], cls="text stream", id=f"body-{r.id}")
        empty = False
    else:
        runs = refusal_runs(r.id, results)
        html = render.with_chips(rendered or render.plain_reply(r.text), lambda b: _final_chip(r.id, b, results, runs))
        body = Div(NotStr(html), cls="text md", id=f"body-{r.id}")
        empty = r.status == "done" and not html.strip() and not r.thinking
    tail = []
    if r.status == "failed":
        tail.append(P("⚠ " + (r.error or "The reply failed."), cls="error"))
    elif r.status == "cancelled":
        tail.append(P("stopped", cls="meta"))
    elif r.stop_reason == "length":
        tail.append(P("cut off at the token limit", cls="meta"))
    elif r.stop_reason == "too_long":
        tail.append(P(f"reply too long — stopped at {len(r.text):,} characters", cls="meta"))
    elif empty:  # a real server can end a reply having written nothing: say so, never an empty bubble
        tail.append(P("The model returned nothing. Try again, or rephrase.", cls="meta"))
    if not live:
        tail += [trust_ui.undo_all(r.id, results), reply_meta.copy_button(r.id, r.text)]
    tail.append(reply_meta.line(r.id, r.stats))
    head = (help_card(), model_label(r.id, r.model)) if r.kind == "help" else (model_label(r.id, r.model),)
    return Article(*head, thinking, body, *tail, stop_button(r.id) if live else "",
                   cls=f"msg assistant {r.kind} {r.status}", id=f"msg-{r.id}", hx_swap_oob=swap,
                   aria_busy="true" if live else None)


def refusal_runs(msg_id: str, results: dict[str, ChipResult]) -> dict[int, int]:
    """Commands refused one after another for the same reason show as one chip (say, 1,975 over the
    per-reply cap): the run's first command → its length, the others → 0."""
    runs: dict[int, int] = {}
    first, previous, n = 0, None, 0
    while (result := results.get(command_id_of(msg_id, n))) is not None:
        if not result[0] and result == previous:
            runs[first] += 1
            runs[n] = 0
        else:
            first, runs[n] = n, 1
        previous, n = result, n + 1
    return runs


def _final_chip(msg_id: str, block: Block, results: dict[str, ChipResult], runs: dict[int, int]) -> str:
    times = runs.get(block.index, 1)
    if not times:
        return ""
    return "".join(to_html(chip(f.command_id, results.get(f.command_id), times if k == 0 else 1))
                   for k, f in enumerate(commands_of(msg_id, block)))


def help_card() -> Div:
    """!help's answer: this card heads the model's reply to it (one answer, stored with the reply, so it stays
    after a reload), the model's own words below."""
    rows = [("!help", "show this card and re-teach the model its commands"),
            ("!models", "list the models; click one to use it"),
            ("!model NAME", "switch model (the choice is remembered)"),
            ("!pull NAME", "download a model into Ollama, with a progress card (`!pull local`: one for "
                          "the built-in engine)"),
            ("!test", "send an alert through the whole pipeline (web → bus → crud_worker → this tab)"),
            ("Undo", "on a chip takes back that change; Undo all a whole reply; Ctrl+Z your own last change"),
            ("undo that", "ask the model: it can take back its own last reply"),
            ("add milk", "ask in plain words; the model answers with a command and a chip confirms it")]
    return Div(H2("Ghostwire help"),
               Ul(*[Li(Span(k, cls="kbd"), " — ", v) for k, v in rows]),
               P("The model acts on your list with JSON commands it writes into its reply; you see a chip "
                 "instead of the JSON. Everything you do on the list is told to the model."),
               cls="card help")


# A list control's answer goes to the list's error slot, named when the request starts: the change it makes
# re-renders the control itself before its answer arrives, and htmx finds no target for an out-of-band swap
# from a detached control (the htmx:oobErrorNoTarget a toggle logged). Success answers empty, clearing the slot.
TO_ERRORS = {"hx_target": "#task-error", "hx_swap": "innerHTML"}


def task_item(t: TaskRow, swap: str | None = None) -> Li:
    return Li(
        Span("⋮⋮", cls="handle", title="Drag to reorder", aria_hidden="true"),
        Input(type="checkbox", checked=t.done, hx_post=f"/tasks/{t.id}/toggle", **TO_ERRORS,
              aria_label=f"Done: {t.name}", cls="toggle"),
        Input(name="name", value=t.name, hx_put=f"/tasks/{t.id}", hx_trigger="change", **TO_ERRORS,
              cls="name", aria_label="Task name", maxlength=str(MAX_NAME), id=f"name-{t.id}"),
        Label(t.name, fr=f"name-{t.id}", cls="name-text"),  # at phone widths: the whole name, wrapped; a tap edits
        Button("×", hx_delete=f"/tasks/{t.id}", **TO_ERRORS, cls="delete", aria_label=f"Delete {t.name}",
               type="button"),
        id=f"task-{t.id}", cls="task done" if t.done else "task", data_id=str(t.id), hx_swap_oob=swap,
    )


def task_list(tasks: list[TaskRow], swap: str | None = None) -> Ul:
    return Ul(*[task_item(t) for t in tasks], id="task-list", cls="tasks", hx_swap_oob=swap)


def transfer_controls() -> Div:
    """Export the list as a file, import one (web/transfer.py); an import's outcome shows beside them.
    The file input posts itself, its file in a multipart body (no form of its own is needed)."""
    return Div(A("Export", href="/tasks/export.json", download="ghostwire-tasks.json", cls="export-link",
                 aria_label="Export the task list as JSON"),
               Label("Import", Input(type="file", name="file", accept="application/json,.json",
                                     hx_post="/tasks/import", hx_encoding="multipart/form-data",
                                     hx_trigger="change", hx_swap="none", id="import-file",
                                     hx_on__after_request="this.value = ''",
                                     aria_label="Import tasks from a JSON export"),
                     cls="import-label"),
               import_result(),
               cls="transfer")


def import_result(*parts, swap: str | None = None) -> Div:
    """Where an import's outcome shows ("Imported 3 tasks. Undo import"); emptied when a later one fails."""
    return Div(*parts, id="import-result", aria_live="polite", hx_swap_oob=swap)


def chat_form(*hidden) -> Form:
    return Form(*hidden,
        Textarea(name="msg", placeholder="Talk to the ghost…", rows="2", autofocus=True, id="msg",
                 aria_label="Message to the model", aria_describedby="msg-hint"),
        Div("Enter sends · Shift+Enter for a new line", id="msg-hint", cls="hint"),
        Div(Button("Send", type="submit", cls="primary"),
            Button("Poke", type="button", hx_post="/poke", hx_swap="none", title="Ask the model for a nudge",
                   aria_label="Poke: ask the model for a nudge"),
            cls="actions"),
        hx_post="/chat", hx_target="#chat-log", hx_swap="beforeend", id="chat-form",
    )


def chat_log(items: list, swap: str | None = None) -> Div:
    """The conversation: a polite live region of additions only. A reply streams inside an article marked
    aria-busy (reply_bubble), so a screen reader waits and reads it once, when its final bubble replaces it."""
    return Div(*items, id="chat-log", role="log", aria_live="polite", aria_relevant="additions", hx_swap_oob=swap)


def view_tabs() -> Div:
    """At phone widths the chat and the list each get the whole screen, one tap apart (app.css, app.js); a dot on
    a tab says the other view changed meanwhile. Hidden on wider screens, where both are side by side."""
    def tab(view: str, label: str, selected: bool) -> Button:
        return Button(label, Span(cls="badge", aria_label="changed"), type="button", role="tab", id=f"view-{view}",
                      data_view=view, aria_selected="true" if selected else "false", aria_controls=f"panel-{view}")
    return Div(tab("chat", "Chat", True), tab("list", "List", False), id="views", role="tablist",
               aria_label="Show the chat or the list")


def page(*, cursor: str, status: Status, tasks: list[TaskRow], chat: list, sign_out: bool = False,
         conversation: tuple = (), chat_top=(), stream: str = "", main_attrs: dict | None = None) -> tuple:
    """`chat_top`, `conversation` (the chat form's hidden fields), `stream` (the event stream's query)
    and `main_attrs` come from web/conversation_ui.py."""
    return (
        # the ghost drawn by app.css (the favicon's SVG), not an emoji: a system without an emoji font showed a box
        Header(H1("Ghostwire", Span(cls="ghost", aria_hidden="true")),
               status_line(status),
               Button("⋯", id="status-toggle", type="button", aria_expanded="false", aria_controls="status",
                      aria_label="Show the whole status"),  # only at phone widths, where the status is one line
               Button("glow", id="glow-toggle", type="button", title="The original's green terminal glow",
                      aria_pressed="false", aria_label="Green glow for the model's text"),
               Form(Button("Sign out", type="submit"), method="post", action="/logout", id="sign-out")
               if sign_out else ""),
        view_tabs(),
        Main(
            Section(H2("Tasks"),
                    Form(Input(name="name", placeholder="Add a task…", maxlength=str(MAX_NAME), required=True,
                               id="new-task", aria_label="New task"),
                         Button("Add", type="submit"), hx_post="/tasks", **TO_ERRORS, id="add-task",
                         hx_on__after_request="if(event.detail.successful) this.reset()"),
                    Div(id="task-error", cls="error", role="alert"),
                    trust_ui.list_controls(), transfer_controls(),
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
