"""HTTP routes: plain functions. Every state change goes to the crud_worker over the bus; the
change comes back to every tab (this one included) as an SSE swap, so nothing is shown twice."""

from __future__ import annotations

import time

import anyio.from_thread
import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from bus import contract as c
from bus.client import new_id
from bus.contract import MAX_NAME
from commands import bang
from web import components as ui, conversation_routes, status_ui, trust_routes
from web.edge import ascii_id, msg_id_ok
from web.hub import REQUEST_TIMEOUT_S, CrudUnavailable
from web.respond import clear, hub_of, refuse, refused, route_of, tab_of


def index(req: Request):
    """Built in a worker thread (a sync route); the replies on the page are rendered first, on the event
    loop's render process. The list holds its first page of rows, the rest loading as it is scrolled to
    (web/task_rows.py): 5,000 tasks as elements held the event loop for seconds while serialised."""
    hub = hub_of(req)
    shown, unknown = conversation_routes.resolve(req, req.query_params.get("c", ""))
    if unknown:
        return unknown
    anyio.from_thread.run(hub.warm, shown)
    page = ui.page(cursor=hub.fanout.cursor, status=hub.live.status(), tasks=[],
                   chat=hub.chat_items(shown), sign_out=req.app.state.signed_in,
                   **conversation_routes.page_parts(hub, shown))
    hub.live.rows.into_page(page, hub.store.tasks())  # its first page as HTML, the rest on demand
    return page


async def chat(req: Request, msg: str = "", conversation_id: str = "", edit_of: str = ""):
    hub = hub_of(req)
    where, unknown = conversation_routes.resolve(req, conversation_id)
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
            status = hub.live.status()
            return status_ui.models_card(status.models, status.model), clear("#chat-error")
        case bang.UseModel(name):
            return await choose_model(req, name, "#chat-error")
        case bang.Pull(name):
            return await start_pull(req, name, "#chat-error")
        case bang.NewChat():
            return await conversation_routes.create(req)
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
            return refused(reply) if conversation_routes.known(hub, where) else conversation_routes.missing(where)
        return refuse("#chat-error", reply.error)
    # The bubbles reach every tab, this one too, over its event stream: on one ordered connection a
    # bubble always arrives before its reply's first delta, which a POST response can't promise.
    return Response(clear("#chat-error"), media_type="text/html",
                    headers={"Ghostwire-Message-Id": user_id, "Ghostwire-Reply-Id": reply_id})


async def choose_model(req: Request, name: str, error_slot: str = "#chat-error"):
    hub = hub_of(req)
    status = hub.live.status()
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
    if not hub.live.up("llm_worker"):
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


async def _task_request(req: Request, slot: str = "#task-error", **fields) -> Response | str:
    """`slot`: where a refusal is said (the list's error slot; Poke's, the chat's: where the person acted)."""
    task_id = fields.get("task_id")
    if task_id is not None and not 1 <= task_id <= c.MAX_ID:
        return refuse("#task-error", f"Couldn't do that: there is no task #{task_id}.")
    if any(not 1 <= i <= c.MAX_ID for i in fields.get("ids") or []):
        return refuse("#task-error", "Couldn't do that: the new order names a task that doesn't exist.")
    if len((fields.get("name") or "").strip()) > MAX_NAME:
        return refuse("#task-error", f"Couldn't do that: the name is over {MAX_NAME} characters.")
    try:
        reply = await hub_of(req).request(c.CrudRequest(req_id=new_id("q"), route=route_of(req),
                                                        conversation_id=tab_of(req), **fields))
    except CrudUnavailable as err:
        return refuse(slot, str(err))
    if not reply.ok:
        return refuse(slot, f"Couldn't do that: {reply.error}.")
    if req.headers.get("hx-target") == "task-error":  # a list control (components.TO_ERRORS): the empty
        return Response("", media_type="text/html")  # answer clears the slot it targets
    return clear("#task-error")


async def add_task(req: Request, name: str = ""):
    return await _task_request(req, op="add", name=name)


async def toggle_task(req: Request, task_id: int):
    return await _task_request(req, op="toggle", task_id=task_id)


async def rename_task(req: Request, task_id: int, name: str = ""):
    return await _task_request(req, op="rename", task_id=task_id, name=name)


async def delete_task(req: Request, task_id: int):
    return await _task_request(req, op="delete", task_id=task_id)


async def order_tasks(req: Request):
    """A drag posts the moved task and the one it now sits above (`id`, `before`; no `before`: last), two
    fields whatever the list's length; an API client may post the whole order (`ids`) instead."""
    form = await req.form()
    if "id" in form:
        task_id, before = ascii_id(str(form["id"])), form.get("before") or None
        before_id = ascii_id(str(before)) if before is not None else None
        if task_id is None or (before is not None and before_id is None):
            return refuse("#task-error", "The move names a task by something that isn't a number.")
        if before_id is not None and not 1 <= before_id <= c.MAX_ID:
            return refuse("#task-error", "Couldn't do that: the new place names a task that doesn't exist.")
        return await _task_request(req, op="reorder", task_id=task_id, before=before_id)
    ids = [ascii_id(str(i)) for i in form.getlist("ids")]
    if None in ids:
        return refuse("#task-error", "The new order has an id that isn't a number.")
    return await _task_request(req, op="reorder", ids=ids)


async def poke(req: Request):
    return await _task_request(req, "#chat-error", op="poke")


async def events(req: Request, after: str = "", conversation: str = ""):
    """`conversation`: only its events (and the list's, the status'); without, every conversation's."""
    hub = hub_of(req)
    if conversation and not msg_id_ok(conversation):
        return conversation_routes.missing(conversation)
    shown = conversation or hub.store.newest_conversation()  # what a snapshot shows
    last_id = req.headers.get("last-event-id") or after
    if last_id and hub.fanout.missed(last_id, conversation or None) is None:
        await hub.warm(shown)  # a snapshot may be needed: its replies rendered first
    q, initial = hub.fanout.subscribe(last_id, lambda: hub.snapshot(shown), conversation or None)
    return StreamingResponse(hub.fanout.stream(q, initial), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def health(req: Request):
    hub = hub_of(req)
    live = hub.live
    status = live.status()
    procs = {name: {"up": up} for name, up in status.procs.items()}
    procs["web"] = {"up": hub.startup.bus_ready.is_set(), "tabs": len(hub.fanout.tabs)}
    for h in live.health.values():
        if h.proc == "broker" and live.up("broker"):
            procs["broker"]["stats"] = h.stats
    procs["llm_worker"]["workers"] = [
        {"instance": h.instance, "backend": h.backend, "model": h.model, "reachable": h.reachable,
         "active": h.active, "note": h.note} for h in live.llm_workers()]
    missing = [name for name, p in procs.items() if not p["up"]]
    body = {"ok": not missing, "missing": missing, "backend": status.backend, "model": status.model,
            "reachable": status.reachable, "note": status.note, "processes": procs}
    # 503 until all four are up, so a probe (compose, a load balancer) waits for a usable app.
    return JSONResponse(msgspec.to_builtins(body), status_code=200 if not missing else 503)


def register(app) -> None:
    app.route("/", methods=["GET"])(index)
    app.route("/chat", methods=["POST"])(chat)
    app.route("/stop/{msg_id}", methods=["POST"])(stop)
    app.route("/poke", methods=["POST"])(poke)
    app.route("/model", methods=["POST"])(model)
    app.route("/pull", methods=["POST"])(pull)
    app.route("/events", methods=["GET"])(events)
    app.route("/health", methods=["GET"])(health)
    app.route("/tasks", methods=["POST"])(add_task)
    app.route("/tasks/order", methods=["POST"])(order_tasks)
    # `:int` matches ASCII digits only: "/tasks/１/toggle" is no route (404), never task 1
    app.route("/tasks/{task_id:int}/toggle", methods=["POST"])(toggle_task)
    app.route("/tasks/{task_id:int}", methods=["PUT"])(rename_task)
    app.route("/tasks/{task_id:int}", methods=["DELETE"])(delete_task)
    trust_routes.register(app)
    conversation_routes.register(app)
