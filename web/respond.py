"""What every route needs: the hub, the tab's conversation, and the one way to say no.

A request the crud_worker refused comes back with a code (bus.contract.RefusalCode, given by
crud_worker/refusal.py); `STATUS` is the one table from code to HTTP status, and `refused` the one
JSON answer made from it. A form's refusal is `refuse`: 422 with the text swapped into the form's
error slot (the one status app.js swaps, so the form keeps its text), whatever the code; `clear`
empties that slot once the request went through.

Which conversation a request means (`resolve`): the `conversation_id` field, else the tab's (the
`Ghostwire-Conversation` header htmx sends from the page), else the one this browser opened last
(a cookie, set by open and new), else the most recently active. The page itself always names it, so
two tabs can show two conversations. An id that names no conversation is a 404 with a message.
"""

from __future__ import annotations

from fasthtml.common import Div, P
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from bus import contract as c
from bus.client import new_id
from web.edge import msg_id_ok
from web.fragment import to_html
from web.live.hub import CrudUnavailable, Hub
from web.live.store import StoredConversation

STATUS: dict[str, int] = {
    "unknown": 404,  # no such conversation, message, task, change or command
    "conflict": 409,  # the state forbids it (a reply still coming, a later change an undo would overwrite)
    "invalid": 422,  # the request itself (an empty name, a title too long)
    "unsaved": 503,  # the disk refused the write: nothing was saved, try again later
    "": 409,  # a crud_worker from before codes: refused, reason in words
}
UNAVAILABLE = 503  # the crud_worker is down: nothing could be asked
HEADER = "Ghostwire-Conversation"  # the tab's conversation, on every htmx request it makes
COOKIE = "ghostwire_conversation"  # the conversation this browser opened last


def hub_of(req: Request) -> Hub:
    return req.app.state.hub


def tab_of(req: Request) -> str:
    """The conversation of the tab a request came from ("" for a script that named none)."""
    shown = req.headers.get(HEADER.lower(), "")
    return shown if len(shown) <= 64 else ""


def route_of(req: Request) -> str:
    """How the person asked ("POST /tasks"), for the change log."""
    return f"{req.method} {req.url.path}"


def wants_json(req: Request) -> bool:
    return "application/json" in req.headers.get("accept", "")


def htmx(req: Request) -> bool:
    return req.headers.get("hx-request") == "true"


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
    return Response(to_html(P(text, cls="error-text")), status_code=422,
                    headers={"HX-Retarget": target, "HX-Reswap": "innerHTML"})


def clear(target: str) -> str:
    return to_html(Div(id=target.lstrip("#"), cls="error", role="alert", hx_swap_oob="true"))


async def ask(req: Request, msg: c.ConversationRequest | c.RetryRequest) -> c.CrudReply | Response:
    """A script's request: the crud_worker's yes, or its no as JSON."""
    try:
        reply = await hub_of(req).request(msg)
    except CrudUnavailable as err:
        return unavailable(err)
    return reply if reply.ok else refused(reply)


async def ask_in(req: Request, slot: str, msg: c.CrudRequest) -> c.CrudReply | Response:
    """A form's request: the crud_worker's yes, or its no said in the form's error slot."""
    try:
        reply = await hub_of(req).request(msg)
    except CrudUnavailable as err:
        return refuse(slot, str(err))
    return reply if reply.ok else refuse(slot, f"Couldn't do that: {reply.error}.")


def missing(conversation_id: str) -> Response:
    return PlainTextResponse(f"There is no conversation {conversation_id!r}: it was deleted, or never existed. "
                             "GET /conversations lists them.", status_code=404)


def known(hub: Hub, conversation_id: str) -> StoredConversation | None:
    return hub.store.conversation(conversation_id) if msg_id_ok(conversation_id) else None


def resolve(req: Request, given: str = "") -> tuple[str, Response | None]:
    """The conversation a request means (see the module's doc), or a 404 when it names an unknown one."""
    hub = hub_of(req)
    named = given or req.headers.get(HEADER.lower(), "")
    if named:
        return (named, None) if known(hub, named) else (named, missing(named))
    remembered = req.cookies.get(COOKIE, "")
    if remembered and known(hub, remembered):
        return remembered, None
    return hub.store.newest_conversation(), None


def show(req: Request, conversation_id: str, status: int = 200, **body) -> Response:
    """Answer an open or a new: JSON for a script, else to the page showing it (htmx follows HX-Redirect)."""
    if wants_json(req):
        response: Response = JSONResponse({"ok": True, "id": conversation_id, **body}, status_code=status)
    elif htmx(req):
        response = Response(status_code=204, headers={"HX-Redirect": f"/?c={conversation_id}"})
    else:
        response = RedirectResponse(f"/?c={conversation_id}", status_code=303)
    response.set_cookie(COOKIE, conversation_id, path="/", httponly=True, samesite="lax",
                        secure=req.url.scheme == "https")
    return response


async def new_conversation(req: Request) -> Response:
    """`POST /conversations` and the chat's `!new`: a new conversation, then shown."""
    conversation_id = new_id("cv")
    reply = await ask(req, c.ConversationRequest(req_id=new_id("q"), op="new", conversation_id=conversation_id))
    return reply if isinstance(reply, Response) else show(req, conversation_id, status=201)
