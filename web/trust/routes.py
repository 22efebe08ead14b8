"""Routes for undo / redo, Allow / Deny, the ask-first policies and the changes page.

Each state change is a request to the crud_worker; the answer is JSON: 200 `{"ok": true, "done": [...]}`
(what was reverted, or the decision's outcome), 404 for an unknown id, 409 with a readable
`error` when the state forbids it, 503 when the crud_worker is down. The change itself reaches
every tab over its event stream, like any other.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bus import contract as c
from bus.client import new_id
from web.live.hub import CrudUnavailable
from web.respond import hub_of, refusal, refused, route_of, tab_of, unavailable
from web.trust import views

POLICY_ACTIONS = c.MUTATING


async def _ask(req: Request, msg: c.UndoRequest | c.ApproveRequest | c.PolicyRequest) -> Response:
    try:
        reply = await hub_of(req).request(msg)
    except CrudUnavailable as err:
        return unavailable(err)
    if reply.ok:
        return JSONResponse({"ok": True, "done": reply.done}, headers={"HX-Trigger": views.CHANGED_EVENT})
    return refused(reply)


async def _undo(req: Request, scope: str, target: str = "", redo: bool = False) -> Response:
    by = "anyone"
    if scope == "last":
        by = str((await req.form()).get("by", "anyone"))
        if by not in ("anyone", "person"):
            return refusal("invalid", "'by' must be anyone or person")
    if len(target) > 200:
        return refusal("unknown", "there is no such id")
    return await _ask(req, c.UndoRequest(req_id=new_id("q"), scope=scope, target=target, redo=redo, by=by,
                                         route=route_of(req), conversation_id=tab_of(req)))


async def undo_reply(req: Request, reply_id: str):
    return await _undo(req, "reply", reply_id)


async def undo_command(req: Request, command_id: str):
    return await _undo(req, "command", command_id)


async def undo_change(req: Request, seq: int):
    return await _undo(req, "change", str(seq))


async def undo_last(req: Request):
    return await _undo(req, "last")


async def redo_reply(req: Request, reply_id: str):
    return await _undo(req, "reply", reply_id, redo=True)


async def redo_command(req: Request, command_id: str):
    return await _undo(req, "command", command_id, redo=True)


async def redo_change(req: Request, seq: int):
    return await _undo(req, "change", str(seq), redo=True)


async def redo_last(req: Request):
    return await _undo(req, "last", redo=True)


async def approve(req: Request, command_id: str):
    decision = str((await req.form()).get("decision", ""))
    if decision not in ("allow", "deny"):
        return refusal("invalid", "'decision' must be allow or deny")
    if len(command_id) > 200:
        return refusal("unknown", "no such command is waiting")
    return await _ask(req, c.ApproveRequest(req_id=new_id("q"), command_id=command_id, decision=decision,
                                            route=route_of(req)))


async def set_policy(req: Request):
    form = await req.form()
    action, policy = str(form.get("action", "")), str(form.get("policy", ""))
    if action not in POLICY_ACTIONS or policy not in c.POLICIES:
        return refusal("invalid", f"'action' must be one of {', '.join(POLICY_ACTIONS)} and 'policy' one of "
                                  f"{', '.join(c.POLICIES)}")
    return await _ask(req, c.PolicyRequest(req_id=new_id("q"), action=action, policy=policy))


def changes(req: Request):
    store = hub_of(req).store
    return views.changes_page(store.changes(), store.policies())


def changes_table(req: Request):
    return views.changes_table(hub_of(req).store.changes())


def register(app) -> None:
    for verb, handlers in (("undo", (undo_reply, undo_command, undo_change, undo_last)),
                           ("redo", (redo_reply, redo_command, redo_change, redo_last))):
        reply, command, change, last = handlers
        app.route(f"/{verb}/reply/{{reply_id}}", methods=["POST"])(reply)
        app.route(f"/{verb}/command/{{command_id}}", methods=["POST"])(command)
        app.route(f"/{verb}/change/{{seq:int}}", methods=["POST"])(change)  # ASCII digits only
        app.route(f"/{verb}/last", methods=["POST"])(last)
    app.route("/approve/{command_id}", methods=["POST"])(approve)
    app.route("/settings/ask", methods=["POST"])(set_policy)
    app.route("/changes", methods=["GET"])(changes)
    app.route("/changes/table", methods=["GET"])(changes_table)
