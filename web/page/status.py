"""The status line (backend, model, each process's light, the demo banner with its offer of a local model):
what tells a person which model answers and whether it is up. (The state it shows is
web/live/inflight.py's `Status`; the cards of long jobs and models are the chat's, web/chat/cards.py.)"""

from __future__ import annotations

import json

from fasthtml.common import Button, Div, Option, Select, Span

from models.catalogue import DEFAULT, MODELS, PULL_NAME
from web.live.health import Status


OLLAMA_HINT = "Install Ollama from ollama.com and run `ollama pull llama3.2`; Ghostwire switches over by itself."


def status_line(s: Status, swap: str | None = None) -> Div:
    procs = [Span(Span(cls="led up" if up else "led down"), name, cls="proc", title="up" if up else "down")
             for name, up in s.procs.items()]
    if not s.procs.get("llm_worker"):
        model = Span("no LLM worker", cls="backend down")
    elif s.backend == "demo":
        model = Span("demo model", cls="backend demo")
    elif len(s.models) > 1:
        model = Span(s.backend, " · ",
                     Select(*[Option(m, value=m, selected=m == s.model) for m in s.models],
                            name="name", hx_post="/model", hx_trigger="change", hx_swap="none",
                            aria_label="Model", id="model-picker"),
                     cls="backend" + ("" if s.reachable else " down"))
    else:
        model = Span(f"{s.backend} · {s.model or '(no model)'}", cls="backend" + ("" if s.reachable else " down"),
                     title=s.note or None)  # why this backend (auto's choice), on hover
    banner = ""
    if s.backend == "demo" and s.procs.get("llm_worker"):  # on a phone, the short form (app.css: .long hides)
        banner = Div(Span("Demo model: ", cls="strong"), "try “add buy apples”. ",
                     Span(s.note or f"You are chatting with Ghostwire's built-in demo model, which knows a few "
                          f"phrases. {OLLAMA_HINT}", cls="long"), " ", local_model_offer(),  # the note says why
                     cls="banner demo")
    elif s.note and not s.reachable:
        banner = Div(s.note, cls="banner warn")
    down = [name for name, up in s.procs.items() if not up]
    summary = Span(("down: " + ", ".join(down)) if down else "all running",
                   cls="procs-summary" + (" down" if down else ""))
    return Div(Div(model, *procs, summary, cls="status-row"), banner, id="status", role="status", hx_swap_oob=swap)


def local_model_offer() -> Button:
    """Fetch the default local model for the engine (`!pull local`): the pull's card shows its progress, and
    the page switches to it by itself when it is in."""
    m = MODELS[DEFAULT]
    return Button(f"Use a real local model — {m.title}, {m.size / 1e9:.1f} GB", hx_post="/pull",
                  hx_vals=json.dumps({"name": PULL_NAME}), hx_swap="none", type="button", cls="fetch-local")
