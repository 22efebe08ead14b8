"""The task list's routes: add, toggle, rename, delete and reorder a task, and the rows of a long list as
the person scrolls to them (web/tasks/rows.py). Export and import are web/tasks/transfer.py. Every change
goes to the crud_worker over the bus; it comes back to every tab as an SSE swap."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bus import contract as c
from bus.client import new_id
from bus.contract import MAX_NAME
from web.edge import ascii_id
from web.respond import ask_in, clear, hub_of, refuse, route_of, tab_of


async def _task_request(req: Request, **fields) -> Response | str:
    """A change to the list: refused in the list's error slot, before it crosses the bus when it can be."""
    task_id = fields.get("task_id")
    if task_id is not None and not 1 <= task_id <= c.MAX_ID:
        return refuse("#task-error", f"Couldn't do that: there is no task #{task_id}.")
    if any(not 1 <= i <= c.MAX_ID for i in fields.get("ids") or []):
        return refuse("#task-error", "Couldn't do that: the new order names a task that doesn't exist.")
    if len((fields.get("name") or "").strip()) > MAX_NAME:
        return refuse("#task-error", f"Couldn't do that: the name is over {MAX_NAME} characters.")
    reply = await ask_in(req, "#task-error", c.CrudRequest(req_id=new_id("q"), route=route_of(req),
                                                            conversation_id=tab_of(req), **fields))
    if isinstance(reply, Response):
        return reply
    if req.headers.get("hx-target") == "task-error":  # a list control (web/tasks/views.py TO_ERRORS): the empty
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

async def rows(req: Request) -> Response:
    start = ascii_id(req.query_params.get("after", ""))
    if start is None or start > c.MAX_ID:
        return HTMLResponse("'after' must be a row number", status_code=422)
    return HTMLResponse(await asyncio.to_thread(hub_of(req).screen.rows.more, start))


def register(app) -> None:
    app.route("/tasks", methods=["POST"])(add_task)
    app.route("/tasks/order", methods=["POST"])(order_tasks)
    # `:int` matches ASCII digits only: "/tasks/１/toggle" is no route (404), never task 1
    app.route("/tasks/{task_id:int}/toggle", methods=["POST"])(toggle_task)
    app.route("/tasks/{task_id:int}", methods=["PUT"])(rename_task)
    app.route("/tasks/{task_id:int}", methods=["DELETE"])(delete_task)
    app.route("/tasks/rows", methods=["GET", "HEAD"])(rows)
