"""The quiet line under a finished reply — "no change was made" when its words claim a change that
didn't happen, model, time to first token, tokens per second, tokens in (and, where the server says it,
how many of them it read and how many it had cached) and out, its commands' time — and the reply's Copy
button.

The figures are the crud_worker's `reply.stats` (bus.contract.ReplyStats), live when the reply ends
and from the database after a reload. A figure the model server did not report (or a stopped or failed
reply never got) is left out, never shown as 0 or as "?". The line is always rendered (empty until the
figures come) so a later swap has its place.
"""

from __future__ import annotations

from fasthtml.common import Button, Div, Span

from bus.contract import ReplyStats, Timing, Usage, shown_model

NO_CHANGE = "no change was made"  # the reply says it changed the list; nothing changed (ReplyStats.unbacked_claim)


def line_id(msg_id: str) -> str:
    return f"stats-{msg_id}"


def _seconds(ms: float) -> str:
    if ms < 10:
        return f"{ms:.1f} ms"  # a command takes about a millisecond: "1 ms" would hide the difference
    return f"{ms:,.0f} ms" if ms < 1000 else f"{ms / 1000:,.2f} s"


def _prompt_split(usage: Usage) -> str:
    """Of the prompt, the tokens the model read for this reply and those its server kept from the last
    one: a slow first token is a long read."""
    if usage.cached_tokens is None or usage.prompt_tokens is None:
        return ""
    return f" ({max(usage.prompt_tokens - usage.cached_tokens, 0):,} read, {usage.cached_tokens:,} cached)"


def line(msg_id: str, stats: ReplyStats | None, swap: str | None = None) -> Div:
    parts: list = []
    if stats is not None:
        if stats.unbacked_claim:
            parts.append(Span("⚠ ", NO_CHANGE, cls="stat no-change", role="note",
                              title="This reply says it changed the list, but none of its commands did"))
        if stats.model:
            parts.append(Span(shown_model(stats.model), cls="stat model-name", title=stats.model))
        timing, usage = stats.timing or Timing(), stats.usage or Usage()
        if timing.first_token_ms is not None:
            parts.append(Span("first token ", _seconds(timing.first_token_ms), cls="stat ttft"))
        if timing.tokens_per_s is not None:
            parts.append(Span(f"{timing.tokens_per_s:,.1f} tok/s", cls="stat rate"))
        tokens = [f"{n:,} {side}" for n, side in ((usage.prompt_tokens, "in"), (usage.completion_tokens, "out"))
                  if n is not None]
        if tokens:
            tokens[0] += _prompt_split(usage) if usage.prompt_tokens is not None else ""
            parts.append(Span(" · ".join(tokens), cls="stat tokens",
                              title="prompt tokens (read for this reply, and kept in the server's cache from before)"
                              " · tokens written"))
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
