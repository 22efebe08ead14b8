"""The chat's routes: send a message (or a `!command`), say the person is typing, stop a reply, poke
the model, choose or pull a model, retry a reply and choose between attempts. Every change goes to the
crud_worker or a worker over the bus; what it changed comes back to every tab (this one included) as an
SSE swap, so nothing is shown twice."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bus import contract as c
from bus.client import new_id
from commands import bang
from web.chat import cards
from web.edge import msg_id_ok
from web.fragment import to_html, toast_body
from web.live.hub import REQUEST_TIMEOUT_S, CrudUnavailable
from web.respond import (ask, ask_in, clear, htmx, hub_of, known, missing, new_conversation, refusal, refuse,
                         refused, resolve, route_of, tab_of, wants_json)


async def chat(req: Request, msg: str = "", conversation_id: str = "", edit_of: str = ""):
    hub = hub_of(req)
    where, unknown = resolve(req, conversation_id)
    if unknown:
        return unknown
    text = msg.strip()
    if not text:
        return refuse("#chat-error", "Type a message first.")
    if len(text) > c.MAX_MESSAGE:
        return refuse("#chat-error", f"That message is {len(text):,} characters; the limit is {c.MAX_MESSAGE:,}. "
                                     "Nothing was sent.")
    command = bang.parse(text)
    match command:
        case bang.Models():
            status = hub.procs.status()
            return cards.models_card(status.models, status.model), clear("#chat-error")
        case bang.UseModel(name):
            return await choose_model(req, name, "#chat-error")
        case bang.Pull(name):
            return await start_pull(req, name, "#chat-error")
        case bang.NewChat():
            return await new_conversation(req)
    try:
        if isinstance(command, bang.SelfTest):
            await hub.request(c.CrudRequest(req_id=new_id("q"), op="selftest"))
            return clear("#chat-error")
        user_id, reply_id = new_id("u"), new_id("a")
        if edit_of and not msg_id_ok(edit_of):
            return refuse("#chat-error", "There is no such message to edit.")
        reply = await hub.request(c.ChatUser(req_id=new_id("q"), msg_id=user_id, reply_id=reply_id, text=text,
                                             conversation_id=where, edit_of=edit_of,
                                             deadline=time.time() + REQUEST_TIMEOUT_S - 1))  # a second to spare
    except CrudUnavailable as err:
        if not isinstance(command, bang.SelfTest) and not edit_of:  # an edit shows once taken: nothing to withdraw
            hub.withdraw(user_id, reply_id)
        return refuse("#chat-error", f"{err} Your message was not sent; it is still in the box.")
    if not reply.ok:
        if not edit_of:
            hub.withdraw(user_id, reply_id)
        if reply.code == "unknown":  # the conversation (deleted meanwhile), or the message an edit names
            return refused(reply) if known(hub, where) else missing(where)
        return refuse("#chat-error", reply.error)
    # The bubbles reach every tab, this one too, over its event stream: on one ordered connection a
    # bubble always arrives before its reply's first delta, which a POST response can't promise.
    return Response(clear("#chat-error"), media_type="text/html",
                    headers={"Ghostwire-Message-Id": user_id, "Ghostwire-Reply-Id": reply_id})


async def choose_model(req: Request, name: str, error_slot: str = "#chat-error"):
    hub = hub_of(req)
    status = hub.procs.status()
    if not name:
        return refuse(error_slot, "Say which model, e.g. !model llama3.2:3b (see !models).")
    if name not in status.models:
        hint = f" Try !pull {name} to download it." if status.backend == "ollama" else ""
        return refuse(error_slot, f"There is no model named {name!r}.{hint} !models lists them.")
    try:
        reply = await hub.request(c.CrudRequest(req_id=new_id("q"), op="set_model", name=name))
    except CrudUnavailable as err:
        return refuse(error_slot, str(err))
    return clear(error_slot) if reply.ok else refuse(error_slot, reply.error)


async def model(req: Request, name: str = ""):
    return await choose_model(req, name.strip())


async def start_pull(req: Request, name: str, error_slot: str = "#chat-error"):
    hub = hub_of(req)
    if not name or len(name) > 200 or any(ch.isspace() for ch in name):
        return refuse(error_slot, "Say which model to pull, e.g. !pull llama3.2:3b")
    await hub.startup.wait_for("llm_worker")
    if not hub.procs.up("llm_worker"):
        return refuse(error_slot, "No LLM worker is running to pull the model.")
    await hub.jobs.send(c.LlmJob(msg_id=new_id("p"), messages=[], kind="pull", model=name))
    return clear(error_slot)


async def pull(req: Request, name: str = ""):
    return await start_pull(req, name.strip())


async def stop(req: Request, msg_id: str):
    if not msg_id_ok(msg_id):
        return Response(status_code=404)
    await hub_of(req).bus.publish(c.LlmCancel(msg_id=msg_id))
    return Response(status_code=204)


async def typing(req: Request):
    """The person is writing a message (the chat box says so at most once a second): a comment streaming
    would hold up their answer on a one-slot engine, so the crud_worker stops it (bus contract: Typing)."""
    await hub_of(req).bus.publish(c.Typing(conversation_id=tab_of(req)))
    return Response(status_code=204)


async def poke(req: Request):
    reply = await ask_in(req, "#chat-error", c.CrudRequest(req_id=new_id("q"), route=route_of(req),
                                                           conversation_id=tab_of(req), op="poke"))
    return reply if isinstance(reply, Response) else clear("#task-error")


async def retry(req: Request, conversation_id: str) -> Response:
    hub = hub_of(req)
    if known(hub, conversation_id) is None:
        return missing(conversation_id)
    form = await req.form()
    target = str(form.get("target", "")) or hub.store.last_turn(conversation_id)[1]
    model = str(form.get("model", "")).strip()
    if not msg_id_ok(target):
        return PlainTextResponse("There is no reply to retry in this conversation.", status_code=404)
    if model and model not in hub.procs.status().models:
        return refusal("invalid", f"there is no model named {model!r}")
    reply_id = new_id("a")
    reply = await ask(req, c.RetryRequest(req_id=new_id("q"), conversation_id=conversation_id, target=target,
                                          reply_id=reply_id, model=model, route=route_of(req)))
    if isinstance(reply, Response):
        return reply
    told = f"Took back the earlier attempt's changes: {'; '.join(reply.done)}." if reply.done else ""
    if htmx(req) and not wants_json(req):
        # into #toasts, the button's target (web/chat/bars.py): the retry re-renders the button's own bar, and
        # htmx finds no target for an out-of-band swap from a detached element
        return Response(to_html(toast_body(told)) if told else "", media_type="text/html",
                        headers={"Ghostwire-Reply-Id": reply_id})
    return JSONResponse({"ok": True, "reply_id": reply_id, "undone": reply.done}, headers={"Ghostwire-Reply-Id": reply_id})


async def choose(req: Request, conversation_id: str, msg_id: str) -> Response:
    if known(hub_of(req), conversation_id) is None:
        return missing(conversation_id)
    if not msg_id_ok(msg_id):
        return PlainTextResponse("There is no such attempt.", status_code=404)
    reply = await ask(req, c.ConversationRequest(req_id=new_id("q"), op="choose", conversation_id=conversation_id,
                                                 target=msg_id))
    return reply if isinstance(reply, Response) else JSONResponse({"ok": True, "shown": msg_id})


def register(app) -> None:
    app.route("/chat", methods=["POST"])(chat)
    app.route("/stop/{msg_id}", methods=["POST"])(stop)
    app.route("/poke", methods=["POST"])(poke)
    app.route("/typing", methods=["POST"])(typing)
    app.route("/model", methods=["POST"])(model)
    app.route("/pull", methods=["POST"])(pull)
    app.route("/conversations/{conversation_id}/retry", methods=["POST"])(retry)
    app.route("/conversations/{conversation_id}/attempts/{msg_id}", methods=["POST"])(choose)
