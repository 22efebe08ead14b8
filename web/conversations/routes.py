"""Routes for conversations: new, list, open, rename, delete and export. (Retrying a reply and choosing
between attempts act on the chat's messages: web/chat/routes.py. Which conversation a request means is
web/respond.py's `resolve`.)

Every change is a request to the crud_worker (`conversation.request`); what it changed reaches every tab
over its event stream (`conversation.changed`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bus import contract as c
from bus.client import new_id
from web.conversations import views
from web.edge import attachment
from web.respond import HEADER, ask, htmx, hub_of, known, missing, new_conversation, refusal, show, wants_json


def listing(req: Request) -> Response | tuple:
    items = hub_of(req).store.conversations()
    if wants_json(req):
        return JSONResponse({"conversations": views.as_json(items)})
    return views.list_page(items)


def open_(req: Request, conversation_id: str) -> Response:
    found = known(hub_of(req), conversation_id)
    if found is None:
        return missing(conversation_id)
    return show(req, conversation_id, title=views.title(found))


async def rename(req: Request, conversation_id: str) -> Response:
    if known(hub_of(req), conversation_id) is None:
        return missing(conversation_id)
    form = await req.form()
    text = str(form.get("title", "")) or req.headers.get("hx-prompt", "")
    title = views.valid_title(text)
    if title is None:
        return refusal("invalid", f"a title is 1 to {c.MAX_TITLE:,} characters")
    reply = await ask(req, c.ConversationRequest(req_id=new_id("q"), op="rename", conversation_id=conversation_id,
                                                 title=title))
    return reply if isinstance(reply, Response) else JSONResponse({"ok": True, "id": conversation_id, "title": title})


async def delete(req: Request, conversation_id: str) -> Response:
    if known(hub_of(req), conversation_id) is None:
        return missing(conversation_id)
    reply = await ask(req, c.ConversationRequest(req_id=new_id("q"), op="delete", conversation_id=conversation_id))
    if isinstance(reply, Response):
        return reply
    if htmx(req) and req.headers.get(HEADER.lower()) == conversation_id:
        return Response(status_code=204, headers={"HX-Redirect": "/"})  # this tab showed it: on to the newest
    return JSONResponse({"ok": True, "id": conversation_id})


def export(req: Request, conversation_id: str) -> Response:
    hub = hub_of(req)
    found = known(hub, conversation_id)
    if found is None:
        return missing(conversation_id)
    name = "".join(ch if ch.isalnum() else "-" for ch in views.title(found))[:40].strip("-") or "conversation"
    return Response(views.markdown(found, hub.store.all_messages(conversation_id)),
                    media_type="text/markdown; charset=utf-8", headers=attachment(f"{name}.md"))


def register(app) -> None:
    app.route("/conversations", methods=["POST"])(new_conversation)
    app.route("/conversations", methods=["GET"])(listing)
    app.route("/conversations/{conversation_id}/open", methods=["POST"])(open_)
    app.route("/conversations/{conversation_id}/rename", methods=["POST"])(rename)
    app.route("/conversations/{conversation_id}", methods=["DELETE"])(delete)
    app.route("/conversations/{conversation_id}/export.md", methods=["GET"])(export)
