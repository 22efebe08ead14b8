"""The page's routes: GET / (the whole page, for the conversation the request means: web/respond.py's
`resolve`), the event stream every tab listens on, /health (for a probe: each process up or not), and
/favicon.ico."""

from __future__ import annotations

import anyio.from_thread
import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, StreamingResponse

from web.chat.bars import form_fields
from web.conversations.views import drawer, headers_for
from web.edge import msg_id_ok
from web.live.hub import Hub
from web.page.shell import page
from web.respond import hub_of, missing, resolve


def page_parts(hub: Hub, conversation_id: str) -> dict:
    """What the page adds for its conversation: the drawer, the form's fields, the stream's filter."""
    current = hub.store.conversation(conversation_id)
    return {"chat_top": drawer(hub.store.conversations(), current),
            "conversation": form_fields(conversation_id),
            "stream": f"&conversation={conversation_id}",
            "main_attrs": {"hx_headers": headers_for(conversation_id), "data_conversation": conversation_id}}


def index(req: Request):
    """Built in a worker thread (a sync route); the replies on the page are rendered first, on the event
    loop's render process. The list holds its first page of rows, the rest loading as it is scrolled to
    (web/tasks/rows.py): 5,000 tasks as elements held the event loop for seconds while serialised."""
    hub = hub_of(req)
    shown, unknown = resolve(req, req.query_params.get("c", ""))
    if unknown:
        return unknown
    anyio.from_thread.run(hub.warm, shown)
    built = page(cursor=hub.fanout.cursor, status=hub.procs.status(), tasks=[],
                 chat=hub.screen.chat.items(shown), sign_out=req.app.state.signed_in, **page_parts(hub, shown))
    hub.screen.rows.into_page(built, hub.store.tasks())  # its first page as HTML, the rest on demand
    return built


async def events(req: Request, after: str = "", conversation: str = ""):
    """`conversation`: only its events (and the list's, the status'); without, every conversation's."""
    hub = hub_of(req)
    if conversation and not msg_id_ok(conversation):
        return missing(conversation)
    shown = conversation or hub.store.newest_conversation()  # what a snapshot shows
    last_id = req.headers.get("last-event-id") or after
    if last_id and hub.fanout.missed(last_id, conversation or None) is None:
        await hub.warm(shown)  # a snapshot may be needed: its replies rendered first
    q, initial = hub.fanout.subscribe(last_id, lambda: hub.screen.snapshot(shown), conversation or None)
    return StreamingResponse(hub.fanout.stream(q, initial), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def health(req: Request):
    hub = hub_of(req)
    known = hub.procs
    status = known.status()
    procs = {name: {"up": up} for name, up in status.procs.items()}
    procs["web"] = {"up": hub.startup.bus_ready.is_set(), "tabs": len(hub.fanout.tabs)}
    for h in known.health.values():
        if h.proc == "broker" and known.up("broker"):
            procs["broker"]["stats"] = h.stats
    procs["llm_worker"]["workers"] = [
        {"instance": h.instance, "backend": h.backend, "model": h.model, "reachable": h.reachable,
         "active": h.active, "note": h.note} for h in known.llm_workers()]
    down = [name for name, p in procs.items() if not p["up"]]
    body = {"ok": not down, "missing": down, "backend": status.backend, "model": status.model,
            "reachable": status.reachable, "note": status.note, "processes": procs}
    # 503 until all four are up, so a probe (compose, a load balancer) waits for a usable app.
    return JSONResponse(msgspec.to_builtins(body), status_code=200 if not down else 503)


def favicon(req: Request) -> RedirectResponse:
    """Pages link the SVG; a client that asks the old way (a bookmark, a feed reader) is sent to it."""
    return RedirectResponse("/static/favicon.svg", status_code=308)


def register(app) -> None:
    app.route("/", methods=["GET"])(index)
    app.route("/favicon.ico", methods=["GET"])(favicon)
    app.route("/events", methods=["GET"])(events)
    app.route("/health", methods=["GET"])(health)
