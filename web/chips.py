"""A command's chip ("✓ Added 'milk'") with its Undo / Redo / Allow / Deny, and a reply's Undo all: shown
in the chat's bubbles and answered by the trust routes, so they live here, by neither."""

from __future__ import annotations

import json

from fasthtml.common import Button, Span

from bus.contract import MUTATING
from web.live.store import ChipResult

# Text symbols every font here has (DejaVu): emoji such as ❓ or ⌛ showed as empty boxes without an emoji font.
MARKS = {"kept": "✓ ", "undone": "↶ ", "asking": "◌ ", "denied": "✗ ", "expired": "◷ "}


def chip_id(command_id: str) -> str:
    return "chip-" + command_id.replace(":", "-")


def chip(command_id: str, result: ChipResult | None, times: int = 1, swap: str | None = None) -> Span:
    if result is None:
        return Span("◌ applying…", cls="chip pending", id=chip_id(command_id), hx_swap_oob=swap)
    return Span(chip_text(result, times), *chip_controls(command_id, result),
                cls=chip_class(result), id=chip_id(command_id), hx_swap_oob=swap)


def undoable(r: ChipResult) -> bool:
    return r.ok and r.action in MUTATING and r.state in ("done", "undone")


def chip_text(r: ChipResult, times: int) -> str:
    mark = MARKS.get(r.state) or ("✓ " if r.ok else "✗ ")
    return mark + r.summary + (" (undone)" if r.state == "undone" else "") + (f" (×{times:,})" if times > 1 else "")


def chip_class(r: ChipResult) -> str:
    if r.state != "done":
        return f"chip {r.state}"
    return "chip ok" if r.ok else "chip failed"


def action(label: str, path: str, cls: str, **vals: str) -> Button:
    """A small button that posts and swaps nothing: what it changes comes back over the event stream."""
    extra = {"hx_vals": json.dumps(vals)} if vals else {}
    return Button(label, hx_post=path, hx_swap="none", type="button", cls=f"chip-action {cls}", **extra)


def chip_controls(command_id: str, r: ChipResult) -> list:
    if r.state == "asking":
        return [action("Allow", f"/approve/{command_id}", "allow", decision="allow"),
                action("Deny", f"/approve/{command_id}", "deny", decision="deny")]
    if not undoable(r):
        return []
    if r.state == "undone":
        return [action("Redo", f"/redo/command/{command_id}", "redo")]
    return [action("Undo", f"/undo/command/{command_id}", "undo")]


def _of_reply(msg_id: str, results: dict[str, ChipResult]) -> list[ChipResult]:
    """A reply's results by their ids (`msg:0`, `msg:1`…, `msg:tool0`…), without scanning every result."""
    out = []
    for prefix in (f"{msg_id}:", f"{msg_id}:tool"):
        n = 0
        while (r := results.get(f"{prefix}{n}")) is not None:
            out.append(r)
            n += 1
    return out


def undo_all(msg_id: str, results: dict[str, ChipResult]) -> Span:
    """A reply that changed several tasks: Undo all (or, once all is undone, Redo all). Always rendered,
    empty when it doesn't apply, so a later swap has its place."""
    mine = [r for r in _of_reply(msg_id, results) if undoable(r)]
    controls = []
    if len(mine) >= 2:
        if any(r.state == "done" for r in mine):
            controls.append(action("Undo all", f"/undo/reply/{msg_id}", "undo-all-button"))
        else:
            controls.append(action("Redo all", f"/redo/reply/{msg_id}", "redo-all-button"))
    return Span(*controls, cls="undo-all", id=f"undoall-{msg_id}")


def undo_all_swap(msg_id: str, results: dict[str, ChipResult]) -> Span:
    return undo_all(msg_id, results)(hx_swap_oob="true")
