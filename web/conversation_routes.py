"""Routes for conversations: new, list, open, rename, delete, export, retry, and choosing an attempt.

Which conversation a request means: the `conversation_id` field, else the tab's (the
`Ghostwire-Conversation` header htmx sends from the page), else the one this browser opened last
(a cookie, set by open and new), else the most recently active. The page itself always names it, so
two tabs can show two conversations. An id that names no conversation is a 404 with a message.

Every change is a request to the crud_worker (`conversation.request`, `conversation.retry`); what it
changed reaches every tab over its event stream (`conversation.changed`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from bus import contract as c
from bus.client import new_id
from web import components as ui, conversation_ui as cui
from web.edge import attachment, msg_id_ok
from web.hub import CrudUnavailable, Hub
from web.respond import hub_of, refusal, refused, unavailable
from web.store import StoredConversation

COOKIE = "ghostwire_conversation"


def _wants_json(req: Request) -> bool:
    return "application/json" in req.headers.get("accept", "")


def _htmx(req: Request) -> bool:
    return req.headers.get("hx-request") == "true"


def missing(conversation_id: str) -> Response:
    return PlainTextResponse(f"There is no conversation {conversation_id!r}: it was deleted, or never existed. "
                             "GET /conversations lists them.", status_code=404)


def known(hub: Hub, conversation_id: str) -> StoredConversation | None:
    return hub.store.conversation(conversation_id) if msg_id_ok(conversation_id) else None


def resolve(req: Request, given: str = "") -> tuple[str, Response | None]:
    """The conversation a request means (see the module's doc), or a 404 when it names an unknown one."""
    hub = hub_of(req)
    named = given or req.headers.get(cui.HEADER.lower(), "")
    if named:
        return (named, None) if known(hub, named) else (named, missing(named))
    remembered = req.cookies.get(COOKIE, "")
    if remembered and known(hub, remembered):
        return remembered, None
    return hub.store.newest_conversation(), None


def page_parts(hub: Hub, conversation_id: str) -> dict:
    """What the page adds for its conversation: the drawer, the form's fields, the stream's filter."""
    current = hub.store.conversation(conversation_id)
    return {"chat_top": cui.drawer(hub.store.conversations(), current),
            "conversation": cui.form_fields(conversation_id),
            "stream": f"&conversation={conversation_id}",
            "main_attrs": {"hx_headers": cui.headers_for(conversation_id), "data_conversation": conversation_id}}


def _go(req: Request, conversation_id: str, status: int = 200, **body) -> Response:
    """Answer an open or a new: JSON for a script, else to the page showing it (htmx follows HX-Redirect)."""
    if _wants_json(req):
        response: Response = JSONResponse({"ok": True, "id": conversation_id, **body}, status_code=status)
    elif _htmx(req):
        response = Response(status_code=204, headers={"HX-Redirect": f"/?c={conversation_id}"})
    else:
        response = RedirectResponse(f"/?c={conversation_id}", status_code=303)
    response.set_cookie(COOKIE, conversation_id, path="/", httponly=True, samesite="lax",
                        secure=req.url.scheme == "https")
    return response


async def _ask(req: Request, msg: c.ConversationRequest | c.RetryRequest) -> c.CrudReply | Response:
    try:
        reply = await hub_of(req).request(msg)
    except CrudUnavailable as err:
        return unavailable(err)
    return reply if reply.ok else refused(reply)


async def create(req: Request) -> Response:
    conversation_id = new_id("cv")
    reply = await _ask(req, c.ConversationRequest(req_id=new_id("q"), op="new", conversation_id=conversation_id))
    return reply if isinstance(reply, Response) else _go(req, conversation_id, status=201)


def listing(req: Request) -> Response | tuple:
    items = hub_of(req).store.conversations()
    if _wants_json(req):
        return JSONResponse({"conversations": cui.as_json(items)})
    return cui.list_page(items)


def open_(req: Request, conversation_id: str) -> Response:
    found = known(hub_of(req), conversation_id)
    if found is None:
        return missing(conversation_id)
    return _go(req, conversation_id, title=cui.title(found))


async def rename(req: Request, conversation_id: str) -> Response:
    if known(hub_of(req), conversation_id) is None:
        return missing(conversation_id)
    form = await req.form()
    text = str(form.get("title", "")) or req.headers.get("hx-prompt", "")
    title = cui.valid_title(text)
    if title is None:
        return refusal("invalid", f"a title is 1 to {c.MAX_TITLE:,} characters")
    reply = await _ask(req, c.ConversationRequest(req_id=new_id("q"), op="rename", conversation_id=conversation_id,
                                                  title=title))
    return reply if isinstance(reply, Response) else JSONResponse({"ok": True, "id": conversation_id, "title": title})


async def delete(req: Request, conversation_id: str) -> Response:
    if known(hub_of(req), conversation_id) is None:
        return missing(conversation_id)
    reply = await _ask(req, c.ConversationRequest(req_id=new_id("q"), op="delete", conversation_id=conversation_id))
    if isinstance(reply, Response):
        return reply
    if _htmx(req) and req.headers.get(cui.HEADER.lower()) == conversation_id:
        return Response(status_code=204, headers={"HX-Redirect": "/"})  # this tab showed it: on to the newest
    return JSONResponse({"ok": True, "id": conversation_id})


def export(req: Request, conversation_id: str) -> Response:
    hub = hub_of(req)
    found = known(hub, conversation_id)
    if found is None:
        return missing(conversation_id)
    name = "".join(ch if ch.isalnum() else "-" for ch in cui.title(found))[:40].strip("-") or "conversation"
    return Response(cui.markdown(found, hub.store.all_messages(conversation_id)),
                    media_type="text/markdown; charset=utf-8", headers=attachment(f"{name}.md"))


async def retry(req: Request, conversation_id: str) -> Response:
    hub = hub_of(req)
    if known(hub, conversation_id) is None:
        return missing(conversation_id)
    form = await req.form()
    target = str(form.get("target", "")) or hub.store.last_turn(conversation_id)[1]
    model = str(form.get("model", "")).strip()
    if not msg_id_ok(target):
        return PlainTextResponse("There is no reply to retry in this conversation.", status_code=404)
    if model and model not in hub.live.status().models:
        return refusal("invalid", f"there is no model named {model!r}")
    reply_id = new_id("a")
    reply = await _ask(req, c.RetryRequest(req_id=new_id("q"), conversation_id=conversation_id, target=target,
                                           reply_id=reply_id, model=model, route=f"{req.method} {req.url.path}"))
    if isinstance(reply, Response):
        return reply
    told = f"Took back the earlier attempt's changes: {'; '.join(reply.done)}." if reply.done else ""
    if _htmx(req) and not _wants_json(req):
        # into #toasts, the button's target (cui.reply_bar): the retry re-renders the button's own bar, and
        # htmx finds no target for an out-of-band swap from a detached element
        return Response(ui.to_html(ui.toast_body(told)) if told else "", media_type="text/html",
                        headers={"Ghostwire-Reply-Id": reply_id})
    return JSONResponse({"ok": True, "reply_id": reply_id, "undone": reply.done}, headers={"Ghostwire-Reply-Id": reply_id})


async def choose(req: Request, conversation_id: str, msg_id: str) -> Response:
    if known(hub_of(req), conversation_id) is None:
        return missing(conversation_id)
    if not msg_id_ok(msg_id):
        return PlainTextResponse("There is no such attempt.", status_code=404)
    reply = await _ask(req, c.ConversationRequest(req_id=new_id("q"), op="choose", conversation_id=conversation_id,
                                                  target=msg_id))
    return reply if isinstance(reply, Response) else JSONResponse({"ok": True, "shown": msg_id})


def register(app) -> None:
    app.route("/conversations", methods=["POST"])(create)
    app.route("/conversations", methods=["GET"])(listing)
    app.route("/conversations/{conversation_id}/open", methods=["POST"])(open_)
    app.route("/conversations/{conversation_id}/rename", methods=["POST"])(rename)
    app.route("/conversations/{conversation_id}", methods=["DELETE"])(delete)
    app.route("/conversations/{conversation_id}/export.md", methods=["GET"])(export)
    app.route("/conversations/{conversation_id}/retry", methods=["POST"])(retry)
    app.route("/conversations/{conversation_id}/attempts/{msg_id}", methods=["POST"])(choose)
