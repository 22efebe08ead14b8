"""The HTML every part of the page sends: an element as sent, text appended over SSE, a toast."""

from __future__ import annotations

import html

from fasthtml.common import Div, to_xml


def to_html(elt) -> str:
    """An element as sent. Builders take `swap`, the element's `hx-swap-oob` when it travels over SSE
    (None, the default, leaves it out: an element of the page itself)."""
    return to_xml(elt, indent=False)


def append(target_id: str, text: str) -> str:
    """Escaped text appended to an element over SSE (the hot path: one per delta, so a plain f-string)."""
    return f'<span hx-swap-oob="beforeend:#{target_id}">{html.escape(text)}</span>'


def toast_body(text: str) -> Div:
    return Div(text, cls="toast", role="alert")


def toast(text: str) -> Div:
    return Div(toast_body(text), hx_swap_oob="beforeend:#toasts")
