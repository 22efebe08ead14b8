"""The task list as a file: export it as JSON, import one back.

An import is checked whole here (the format, every name by the contract's rule) before anything
crosses the bus, then runs in the crud_worker as one transaction logged as one group, so it is all
or nothing and `POST /undo/reply/{id}` takes it all back. A body over the edge's limit never gets
here (web/edge.py answers 413).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

import msgspec
from fasthtml.common import Button, P, Span
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bus import contract as c
from bus.client import new_id
from web.edge import BadJson, attachment, checked_json
from web.fragment import to_html
from web.live.hub import CrudUnavailable
from web.respond import STATUS, UNAVAILABLE, clear, hub_of, refuse
from web.tasks.views import import_result

ROUTE = "POST /tasks/import"
FILE_NAME = "ghostwire-tasks.json"
EXPORT_FORMAT = "ghostwire.tasks"


class TaskExport(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The task list as a file: `GET /tasks/export.json` writes it, `POST /tasks/import` reads it back
    (anything else is refused whole). Tasks in list order."""

    format: Literal["ghostwire.tasks"]
    version: Literal[1]
    tasks: list[c.ExportedTask]
    exported_at: str = ""


_encoder = msgspec.json.Encoder()


class Result(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What `POST /tasks/import` answers a script with (the page gets the same as a fragment)."""

    ok: bool
    imported: int = 0
    undo: str = ""  # the route that takes the whole import back
    error: str = ""


def export_tasks(req: Request) -> Response:
    hub = hub_of(req)
    body = TaskExport(format=EXPORT_FORMAT, version=1,
                      exported_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      tasks=[c.ExportedTask(name=t.name, done=t.done) for t in hub.store.tasks()])
    return Response(_encoder.encode(body), media_type="application/json",
                    headers=attachment(FILE_NAME))


def parse(body: bytes) -> list[c.ExportedTask]:
    """The tasks of an export file, names cleaned; ValueError says what is wrong, for a person to read."""
    try:
        export = msgspec.convert(checked_json(body), TaskExport)
    except BadJson as err:
        raise ValueError(f"that file can't be read: {err}; nothing was imported") from None
    except msgspec.ValidationError as err:  # msgspec's words name the field: "Expected `str`, got `int` - at …"
        raise ValueError(f"that file is not a Ghostwire task export ({err})") from None
    out = []
    for n, task in enumerate(export.tasks, start=1):
        try:
            out.append(c.ExportedTask(name=c.clean_name(task.name), done=task.done))
        except c.InvalidName as err:
            raise ValueError(f"task {n} of the file can't be imported: {err}") from None
    if not out:
        raise ValueError("the file holds no tasks")
    return out


async def _body(req: Request) -> bytes:
    """The file: a form's `file` (the page's upload, or `curl -F file=@tasks.json`) or the request
    body itself (`--data-binary @tasks.json`)."""
    if req.headers.get("content-type", "").startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        try:
            values = (await req.form()).getlist("file")
        except (MultiPartException, HTTPException):  # a broken form: starlette's own answer would be a 400
            raise ValueError("the upload can't be read as a form; send the file itself, or as the 'file' field")
        upload = next((v for v in values if isinstance(v, UploadFile)), None)
        if upload is not None:
            return await upload.read()
        return str(values[0] if values else "").encode()
    return await req.body()


def _answer(req: Request, result: Result, status: int = 200) -> Response:
    """A script gets the JSON with its status (web/respond.py's table); the page, a fragment."""
    if "hx-request" not in req.headers:
        return JSONResponse(msgspec.to_builtins(result), status_code=status)
    if not result.ok:  # the error where the list's errors go; an earlier import's note goes
        refused = refuse("#task-error", f"Nothing was imported: {result.error}.")
        refused.body += to_html(import_result(swap="true")).encode()
        refused.headers["content-length"] = str(len(refused.body))
        return refused
    noun = "task" if result.imported == 1 else "tasks"
    note = P(Span(f"Imported {result.imported:,} {noun}. "),
             Button("Undo import", hx_post=result.undo, hx_swap="none", type="button", cls="chip-action undo",
                    hx_on__after_request=f"if (event.detail.successful) this.parentElement.textContent = "
                                         f"'Import undone: the {result.imported:,} {noun} are gone again.'"),
             cls="import-result")
    return Response(to_html(note) + clear("#task-error"), media_type="text/html",
                    headers={"HX-Retarget": "#import-result", "HX-Reswap": "innerHTML"})


async def import_tasks(req: Request) -> Response:
    try:
        items = parse(await _body(req))
    except ValueError as err:  # BadJson and a broken form are ValueErrors: said in words, as a 422
        return _answer(req, Result(ok=False, error=str(err)), STATUS["invalid"])
    import_id = new_id("i")
    hub = hub_of(req)
    try:
        reply = await hub.request(c.CrudRequest(req_id=import_id, op="import", tasks=items, route=ROUTE))
    except CrudUnavailable as err:
        return _answer(req, Result(ok=False, error=str(err)), UNAVAILABLE)
    if not reply.ok:  # a full list (conflict), a disk that refused the write (unsaved)
        return _answer(req, Result(ok=False, error=reply.error), STATUS[reply.code])
    return _answer(req, Result(ok=True, imported=len(items), undo=f"/undo/reply/{import_id}"))


def register(app) -> None:
    app.route("/tasks/export.json", methods=["GET"])(export_tasks)
    app.route("/tasks/import", methods=["POST"])(import_tasks)
