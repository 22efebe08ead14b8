"""The chat's fragments: a person's message, a reply's bubble (streaming, then final with its chips and
its quiet line of figures), a note, the !help card, the chat form and the log. The page, the POST answers
and the event stream's swaps all build them here, so they can never disagree."""

from __future__ import annotations

from dataclasses import replace

from fasthtml.common import H2, Article, Button, Details, Div, Form, Li, NotStr, P, Span, Summary, Textarea, Ul

from bus.contract import shown_model
from commands.ids import command_id as command_id_of, commands_of
from commands.splitter import Block
from web.chips import chip, undo_all
from web.fragment import to_html
from web.live.inflight import ReplyView, ShownText
from web.live.store import ChipResult
from web.render import markdown, speed_line


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
                   undo_all(msg_id, {}), cls="msg event agent", id=f"msg-{msg_id}")
    return ""


def model_label(msg_id: str, model: str, swap: str | None = None) -> Span:
    return Span(shown_model(model or ""), cls="meta model", id=f"model-{msg_id}", hx_swap_oob=swap)


def stop_button(msg_id: str) -> Button:
    return Button("Stop", hx_post=f"/stop/{msg_id}", hx_swap="none", cls="stop", id=f"stop-{msg_id}",
                  title="Stop this reply")


def thinking_box(msg_id: str, thinking: str, swap: str | None = None) -> Details:
    """The model's reasoning, collapsed: never part of the reply text or the command splitter."""
    return Details(Summary("thinking…"), Div(thinking, cls="thinking-text", id=f"think-{msg_id}"),
                   cls="thinking" + ("" if thinking else " empty"), id=f"thinkbox-{msg_id}", hx_swap_oob=swap)


def reply_bubble(r: ReplyView, results: dict[str, ChipResult], swap: str | None = None,
                 rendered: markdown.Rendered | None = None) -> Article:
    """A reply's bubble: while streaming, its pieces; once ended, `rendered` (web/render/pool.py makes it off
    the event loop; without it the reply shows as plain text) with its chips."""
    live = r.status in ("queued", "streaming")
    if not live and not r.thinking:  # a stored reply: its <think> sections, if the model wrote any
        r = replace(r, thinking=markdown.thinking_of(r.text))
    thinking = thinking_box(r.id, r.thinking)
    if live:
        body = Div(*[Span(p.text) if isinstance(p, ShownText) else chip(p.command_id, results.get(p.command_id))
                     for p in r.pieces], cls="text stream", id=f"body-{r.id}")
        empty = False
    else:
        runs = refusal_runs(r.id, results)
        html = markdown.with_chips(rendered or markdown.plain_reply(r.text), lambda b: _final_chip(r.id, b, results, runs))
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
        tail += [undo_all(r.id, results), speed_line.copy_button(r.id, r.text)]
    tail.append(speed_line.line(r.id, r.stats))
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


def chat_form(*hidden) -> Form:
    return Form(*hidden,
        Textarea(name="msg", placeholder="Talk to the ghost…", rows="2", autofocus=True, id="msg",
                 aria_label="Message to the model", aria_describedby="msg-hint",
                 hx_post="/typing", hx_trigger="input throttle:1s", hx_swap="none", hx_params="none"),
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


