"""What every route needs: the hub, the tab's conversation, and the one way to say no.

A request the crud_worker refused comes back with a code (bus.contract.RefusalCode, given by
crud_worker/refusal.py); `STATUS` is the one table from code to HTTP status, and `refused` the one
JSON answer made from it. A form's refusal is `refuse`: 422 with the text swapped into the form's
error slot (the one status app.js swaps, so the form keeps its text), whatever the code; `clear`
empties that slot once the request went through.
"""

from __future__ import annotations

from fasthtml.common import Div, P
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bus import contract as c
from web import components as ui
from web.conversation_ui import HEADER
from web.hub import CrudUnavailable, Hub

STATUS: dict[str, int] = {
    "unknown": 404,  # no such conversation, message, task, change or command
    "conflict": 409,  # the state forbids it (a reply still coming, a later change an undo would overwrite)
    "invalid": 422,  # the request itself (an empty name, a title too long)
    "unsaved": 503,  # the disk refused the write: nothing was saved, try again later
    "": 409,  # a crud_worker from before codes: refused, reason in words
}
UNAVAILABLE = 503  # the crud_worker is down: nothing could be asked


def hub_of(req: Request) -> Hub:
    return req.app.state.hub


def tab_of(req: Request) -> str:
    """The conversation of the tab a request came from ("" for a script that named none)."""
    shown = req.headers.get(HEADER.lower(), "")
    return shown if len(shown) <= 64 else ""


def route_of(req: Request) -> str:
    """How the person asked ("POST /tasks"), for the change log."""
    return f"{req.method} {req.url.path}"


def refusal(code: c.RefusalCode, error: str) -> JSONResponse:
    """No, as JSON: `{"ok": false, "error", "code"}` with the code's status; the web's own checks (before
    anything crosses the bus) answer with it too."""
    return JSONResponse({"ok": False, "error": error, "code": code}, status_code=STATUS[code])


def refused(reply: c.CrudReply) -> JSONResponse:
    return refusal(reply.code, reply.error)


def unavailable(err: CrudUnavailable) -> JSONResponse:
    return JSONResponse({"ok": False, "error": str(err)}, status_code=UNAVAILABLE)


def refuse(target: str, text: str) -> Response:
    """422: htmx swaps it into the error slot (app.js allows that code) and the form keeps its text."""
    return Response(ui.to_html(P(text, cls="error-text")), status_code=422,
                    headers={"HX-Retarget": target, "HX-Reswap": "innerHTML"})


def clear(target: str) -> str:
    return ui.to_html(Div(id=target.lstrip("#"), cls="error", role="alert", hx_swap_oob="true"))
