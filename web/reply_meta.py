"""The quiet line under a finished reply — "no change was made" when its words claim a change that
didn't happen, model, time to first token, tokens per second, tokens in
and out, its commands' time — and the reply's Copy button.

The figures are the crud_worker's `reply.stats` (bus.contract.ReplyStats), live when the reply ends
and from the database after a reload. A figure the model server did not report shows as "?", never
as 0. The line is always rendered (empty until the figures come) so a later swap has its place.
"""

from __future__ import annotations

from fasthtml.common import Button, Div, Span

from bus.contract import ReplyStats, shown_model

UNKNOWN = "not reported by the model server"
NO_CHANGE = "no change was made"  # the reply says it changed the list; nothing changed (ReplyStats.unbacked_claim)


def line_id(msg_id: str) -> str:
    return f"stats-{msg_id}"


def _seconds(ms: float) -> str:
    if ms < 10:
        return f"{ms:.1f} ms"  # a command takes about a millisecond: "1 ms" would hide the difference
    return f"{ms:,.0f} ms" if ms < 1000 else f"{ms / 1000:,.2f} s"


def _count(n: int | None) -> Span:
    return Span("?", cls="unknown", title=UNKNOWN) if n is None else Span(f"{n:,}")


def line(msg_id: str, stats: ReplyStats | None, swap: str | None = None) -> Div:
    parts: list = []
    if stats is not None:
        if stats.unbacked_claim:
            parts.append(Span("⚠ ", NO_CHANGE, cls="stat no-change", role="note",
                              title="This reply says it changed the list, but none of its commands did"))
        if stats.model:
            parts.append(Span(shown_model(stats.model), cls="stat model-name", title=stats.model))
        if stats.first_token_ms is not None:
            parts.append(Span("first token ", _seconds(stats.first_token_ms), cls="stat ttft"))
        rate = Span("?", cls="unknown", title=UNKNOWN) if stats.tokens_per_s is None else f"{stats.tokens_per_s:,.1f}"
        parts.append(Span(rate, " tok/s", cls="stat rate"))
        parts.append(Span(_count(stats.prompt_tokens), " in · ", _count(stats.completion_tokens), " out",
                          cls="stat tokens"))
        if stats.commands:
            noun = "command" if stats.commands == 1 else "commands"
            parts.append(Span(f"{stats.commands} {noun} in {_seconds(stats.commands_ms)}", cls="stat commands"))
    return Div(*parts, cls="reply-meta", id=line_id(msg_id), hx_swap_oob=swap)


def copy_button(msg_id: str, text: str) -> Button | str:
    """Copy puts the reply's text on the clipboard as the page shows it (rendered: no markdown marks),
    without its chips and its thinking (app.js reads it from the bubble, so the page carries no copy)."""
    if not text.strip():
        return ""
    return Button("Copy", type="button", cls="copy", data_copy=f"body-{msg_id}", id=f"copy-{msg_id}",
                  aria_label="Copy this reply's text", title="Copy the reply's text")
