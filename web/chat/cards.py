"""Cards in the chat: a long job's progress (a model's download) and the list of models (`!models`)."""

from __future__ import annotations

import json

from fasthtml.common import H2, Article, Button, Form, Input, Li, P, Progress, Ul

from bus.contract import JobProgress


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
