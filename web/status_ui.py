"""The status line (backend, model, each process's light, the demo banner with its offer of a local model)
and the cards of long jobs and models: what tells a person which model answers and whether it is up."""

from __future__ import annotations

import json

import msgspec
from fasthtml.common import H2, Article, Button, Div, Form, Input, Li, Option, P, Progress, Select, Span, Ul

from bus.contract import JobProgress
from models.catalogue import DEFAULT, MODELS, PULL_NAME


OLLAMA_HINT = "Install Ollama from ollama.com and run `ollama pull llama3.2`; Ghostwire switches over by itself."


class Status(msgspec.Struct, frozen=True):
    """What the status line and /health show: the lead LLM worker's backend and model, each process's state."""

    procs: dict[str, bool]  # broker, crud_worker, llm_worker → up
    backend: str
    model: str
    models: tuple[str, ...]
    reachable: bool
    note: str
    workers: int


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def job_card(j: JobProgress, swap: str | None = None) -> Article:
    """A long job's progress, in every tab: bar, bytes, speed, Cancel; it ends in ✓ or a readable error."""
    parts = [H2(j.title)]
    if j.state == "running":
        parts.append(Progress(value=str(j.completed), max=str(j.total)) if j.total else Progress())
        detail = j.status
        if j.total:
            detail += f" · {_size(j.completed)} of {_size(j.total)}"
        if j.rate:
            detail += f" · {_size(j.rate)}/s"
        parts += [P(detail, cls="meta"),
                  Button("Cancel", hx_post=f"/stop/{j.job_id}", hx_swap="none", cls="stop")]
    elif j.state == "done":
        parts.append(P("✓ done", cls="chip ok"))
    elif j.state == "cancelled":
        parts.append(P("cancelled", cls="meta"))
    else:
        parts.append(P("✗ " + j.error, cls="chip failed"))
    return Article(*parts, cls=f"msg card job {j.state}", id=f"job-{j.job_id}", hx_swap_oob=swap)


def models_card(models: tuple[str, ...], current: str) -> Article:
    rows = [Li(Button(m, hx_post="/model", hx_vals=json.dumps({"name": m}), hx_swap="none",
                      cls="linkish" + (" current" if m == current else "")), " ← in use" if m == current else "")
            for m in models]
    return Article(H2("Models"),
                   Ul(*rows) if rows else P("No models found. Is the model server running?"),
                   Form(Input(name="name", placeholder="pull another model, e.g. qwen3:4b", required=True),
                        Button("Pull", type="submit"), hx_post="/pull", hx_swap="none",
                        hx_on__after_request="if(event.detail.successful) this.reset()"),
                   cls="msg card models")


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
